// mock-oidc: a real OIDC provider for Kubelantern's auth tests, around
// github.com/oauth2-proxy/mockoidc.
//
// It serves HTTPS on 127.0.0.1 with a CA it generates (written to --ca-file, so
// kube-apiserver, OAuth2 Proxy and Kubelantern can trust it), with a fixed
// client id and secret, and the users alice, bob and carol (carol is in group
// devs). mockoidc itself signs in whoever is next in its queue without a page;
// this wrapper lets a test choose:
//
//   - /oidc/authorize?...&login_hint=alice signs alice in at once;
//   - POST /admin/next?user=alice[&id_ttl=8s] queues alice for the next
//     /authorize (optionally with a short ID-token lifetime, to test refresh
//     and expiry);
//   - otherwise /oidc/authorize shows a page with one button per user, the
//     way a person signs in at a real provider (the browser tests click it);
//   - GET /admin/token?user=alice&ttl=-1m mints a correctly signed ID token
//     (here already expired), to test that expired tokens are refused.
//
// When it is ready it prints one JSON line: {"issuer": ..., "ca_file": ...}.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"html/template"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// user is a mockoidc.MockUser whose ID tokens may live shorter than AccessTTL.
type user struct {
	mockoidc.MockUser
	idTTL time.Duration
}

func (u *user) Claims(scope []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.idTTL != 0 && base.RegisteredClaims != nil {
		rc := *base.RegisteredClaims
		rc.ExpiresAt = jwt.NewNumericDate(rc.IssuedAt.Add(u.idTTL))
		if u.idTTL < 0 { // already expired: issued a day before it expired
			rc.IssuedAt = jwt.NewNumericDate(rc.ExpiresAt.Add(-24 * time.Hour))
			rc.NotBefore = rc.IssuedAt
		}
		base = &mockoidc.IDTokenClaims{Nonce: base.Nonce, RegisteredClaims: &rc}
	}
	return u.MockUser.Claims(scope, base)
}

var users = map[string][]string{"alice": {}, "bob": {}, "carol": {"devs"}}

func lookup(name string, ttl time.Duration) (*user, bool) {
	groups, ok := users[name]
	if !ok {
		return nil, false
	}
	return &user{MockUser: mockoidc.MockUser{
		Subject: "uid-" + name, Email: name + "@example.com", EmailVerified: true,
		PreferredUsername: name, Groups: groups,
	}, idTTL: ttl}, true
}

var page = template.Must(template.New("login").Parse(`<!doctype html>
<title>Mock OIDC sign-in</title><h1>Sign in to the mock provider</h1>
<form method="get" action="/oidc/authorize">
{{range $k, $v := .Params}}{{range $v}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
{{range .Users}}<button type="submit" name="login_hint" value="{{.}}">{{.}}</button> {{end}}
</form>`))

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	caFile := flag.String("ca-file", "mock-oidc-ca.pem", "where to write the CA certificate (PEM)")
	clientID := flag.String("client-id", "kubelantern", "OAuth2 client id")
	clientSecret := flag.String("client-secret", "kubelantern-test-secret", "OAuth2 client secret")
	accessTTL := flag.Duration("access-ttl", 10*time.Minute, "token lifetime")
	flag.Parse()

	tlsCfg, err := serverTLS(*caFile)
	if err != nil {
		log.Fatal(err)
	}
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		log.Fatal(err)
	}
	m.ClientID, m.ClientSecret, m.AccessTTL = *clientID, *clientSecret, *accessTTL
	var mu sync.Mutex // a chosen user is queued and popped by one /authorize at a time
	queued := 0
	must(m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != mockoidc.AuthorizationEndpoint {
				next.ServeHTTP(w, r)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if u, ok := lookup(r.FormValue("login_hint"), 0); ok {
				m.UserQueue.Lock() // the hinted user goes before any queued one
				m.UserQueue.Queue = append([]mockoidc.User{u}, m.UserQueue.Queue...)
				m.UserQueue.Unlock()
			} else if queued > 0 {
				queued--
			} else {
				params := r.Form
				params.Del("login_hint")
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				must(page.Execute(w, map[string]any{"Params": params, "Users": []string{"alice", "bob", "carol"}}))
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// Start keeps tlsCfg only to say "https" in the issuer; TLS itself comes from the listener.
	must(m.Start(tls.NewListener(ln, tlsCfg), tlsCfg))
	m.Server.Handler.(*http.ServeMux).HandleFunc("/admin/next", func(w http.ResponseWriter, r *http.Request) {
		ttl, _ := time.ParseDuration(r.FormValue("id_ttl"))
		u, ok := lookup(r.FormValue("user"), ttl)
		if r.Method != http.MethodPost || !ok {
			http.Error(w, "POST /admin/next?user=alice|bob|carol[&id_ttl=8s]", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		m.QueueUser(u)
		queued++
	})
	m.Server.Handler.(*http.ServeMux).HandleFunc("/admin/token", func(w http.ResponseWriter, r *http.Request) {
		ttl, err := time.ParseDuration(r.FormValue("ttl"))
		u, ok := lookup(r.FormValue("user"), ttl)
		if err != nil || !ok {
			http.Error(w, "GET /admin/token?user=alice&ttl=-1m", http.StatusBadRequest)
			return
		}
		now := time.Now()
		base := &mockoidc.IDTokenClaims{RegisteredClaims: &jwt.RegisteredClaims{
			Audience: jwt.ClaimStrings{m.ClientID}, Issuer: m.Issuer(), Subject: u.Subject,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), ID: fmt.Sprint(now.UnixNano()),
		}}
		claims, _ := u.Claims([]string{"openid", "email", "profile", "groups"}, base)
		token, err := m.Keypair.SignJWT(claims)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		must(json.NewEncoder(w).Encode(map[string]string{"id_token": token}))
	})
	must(json.NewEncoder(os.Stdout).Encode(map[string]string{"issuer": m.Issuer(), "ca_file": *caFile}))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	_ = m.Shutdown()
}

// serverTLS makes a CA (written to caFile) and a serving certificate for 127.0.0.1 and localhost.
func serverTLS(caFile string) (*tls.Config, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mock-oidc test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{
		Certificate: [][]byte{der}, PrivateKey: key,
	}}}, nil
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
