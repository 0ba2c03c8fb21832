{{/* Names and labels, the usual Helm way. */}}
{{- define "kubelantern.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kubelantern.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "kubelantern.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "kubelantern.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kubelantern.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubelantern.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kubelantern.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "kubelantern.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubelantern
{{- end -}}

{{- define "kubelantern.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kubelantern.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kubelantern.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* "true" or "false": refuse writes (readOnly: null follows the auth mode). */}}
{{- define "kubelantern.readOnly" -}}
{{- if kindIs "bool" .Values.readOnly -}}
{{- .Values.readOnly -}}
{{- else -}}
{{- eq .Values.auth.mode "kubeconfig" -}}
{{- end -}}
{{- end -}}

{{/* "true" or "false": Secure cookies (secureCookies: null follows the Ingress TLS). */}}
{{- define "kubelantern.secureCookies" -}}
{{- if kindIs "bool" .Values.secureCookies -}}
{{- .Values.secureCookies -}}
{{- else -}}
{{- and .Values.ingress.enabled (gt (len .Values.ingress.tls) 0) -}}
{{- end -}}
{{- end -}}

{{- define "kubelantern.pdbEnabled" -}}
{{- if kindIs "bool" .Values.podDisruptionBudget.enabled -}}
{{- .Values.podDisruptionBudget.enabled -}}
{{- else -}}
{{- gt (int .Values.replicaCount) 1 -}}
{{- end -}}
{{- end -}}

{{- define "kubelantern.prefix" -}}
{{- $b := trimSuffix "/" .Values.baseURL -}}
{{- if and $b (not (hasPrefix "/" $b)) -}}{{- $b = printf "/%s" $b -}}{{- end -}}
{{- $b -}}
{{- end -}}

{{/*
Cross-field checks the JSON schema cannot express well. Each message names the
value to set, because a half-configured sign-in would fail open or on the first
user's request.
*/}}
{{- define "kubelantern.validate" -}}
{{- $mode := .Values.auth.mode -}}
{{- $headerMode := or (eq $mode "impersonate") (and (eq $mode "bearer") (ne .Values.auth.bearer.source "form")) -}}
{{- if and $headerMode (not .Values.oauth2Proxy.enabled) (not .Values.auth.trustedProxies) (not .Values.auth.proxySecret.existingSecret) -}}
{{- fail (printf "auth.mode=%s takes the user's identity from a sign-in proxy: set oauth2Proxy.enabled=true, or auth.trustedProxies and/or auth.proxySecret.existingSecret for a proxy of your own" $mode) -}}
{{- end -}}
{{- if and .Values.oauth2Proxy.enabled (not .Values.auth.proxySecret.existingSecret) -}}
{{- fail "oauth2Proxy.enabled=true needs auth.proxySecret.existingSecret: a Secret with the shared secret OAuth2 Proxy sends to Kubelantern" -}}
{{- end -}}
{{- if and .Values.oauth2Proxy.enabled (eq $mode "oidc") -}}
{{- fail "auth.mode=oidc is Kubelantern's own sign-in: it does not go with oauth2Proxy.enabled=true (use auth.mode=bearer or impersonate behind OAuth2 Proxy)" -}}
{{- end -}}
{{- if and .Values.oauth2Proxy.enabled (not .Values.oauth2Proxy.trustedProxyIPs) -}}
{{- fail "oauth2Proxy.enabled=true needs oauth2Proxy.trustedProxyIPs: the Ingress controller's addresses (CIDRs), the only peers whose X-Forwarded-For/-Host OAuth2 Proxy may believe (e.g. [10.0.0.0/8])" -}}
{{- end -}}
{{- if and (eq (toString (index .Values.config "add_clusters")) "on") (not (index .Values.config "cluster_admins")) -}}
{{- fail "config.add_clusters=on lets people add clusters at run time: name who may in config.cluster_admins (user names, group:NAME)" -}}
{{- end -}}
{{- if and (not .Values.inCluster.enabled) (not .Values.extraClusters) -}}
{{- fail "no clusters: set inCluster.enabled=true or list kubeconfig Secrets in extraClusters" -}}
{{- end -}}
{{- end -}}

{{/* Kubelantern's config file (`kubelantern serve --config`), from the values. */}}
{{- define "kubelantern.settings" -}}
{{- $prefix := include "kubelantern.prefix" . -}}
{{- $s := dict "listen" "0.0.0.0:4466" "auth_mode" .Values.auth.mode "log_format" .Values.logFormat "log_level" .Values.logLevel -}}
{{- $_ := set $s "read_only" (eq (include "kubelantern.readOnly" .) "true") -}}
{{- /* Adding clusters from the UI: off unless config.add_clusters=on names cluster_admins. */ -}}
{{- $_ = set $s "add_clusters" "off" -}}
{{- $_ = set $s "secure_cookies" (eq (include "kubelantern.secureCookies" .) "true") -}}
{{- $_ = set $s "require_clusters" .Values.requireClusters -}}
{{- if $prefix -}}{{- $_ = set $s "base_url" $prefix -}}{{- end -}}
{{- if .Values.inCluster.enabled -}}
{{- $_ = set $s "in_cluster" true -}}
{{- $_ = set $s "in_cluster_name" .Values.inCluster.name -}}
{{- end -}}
{{- $kubeconfigs := list -}}
{{- range $i, $c := .Values.extraClusters -}}
{{- $kubeconfigs = append $kubeconfigs (printf "/etc/kubelantern/clusters/%d/%s" $i (default "config" $c.key)) -}}
{{- end -}}
{{- if $kubeconfigs -}}{{- $_ = set $s "kubeconfig" $kubeconfigs -}}{{- end -}}
{{- if .Values.clusterAuth -}}{{- $_ = set $s "cluster_auth" .Values.clusterAuth -}}{{- end -}}
{{- $trusted := list -}}
{{- if .Values.oauth2Proxy.enabled -}}{{- $trusted = append $trusted "127.0.0.1/32" -}}{{- end -}}
{{- if .Values.auth.trustedProxies -}}{{- $trusted = append $trusted .Values.auth.trustedProxies -}}{{- end -}}
{{- if $trusted -}}{{- $_ = set $s "trusted_proxies" (join "," $trusted) -}}{{- end -}}
{{- if .Values.auth.proxySecret.existingSecret -}}
{{- $_ = set $s "proxy_secret_file" (printf "/etc/kubelantern/proxy/%s" .Values.auth.proxySecret.key) -}}
{{- end -}}
{{- if eq .Values.auth.mode "impersonate" -}}
{{- if .Values.auth.impersonate.userPrefix -}}{{- $_ = set $s "impersonate_user_prefix" .Values.auth.impersonate.userPrefix -}}{{- end -}}
{{- if .Values.auth.impersonate.groupPrefix -}}{{- $_ = set $s "impersonate_group_prefix" .Values.auth.impersonate.groupPrefix -}}{{- end -}}
{{- end -}}
{{- if eq .Values.auth.mode "bearer" -}}{{- $_ = set $s "bearer_source" .Values.auth.bearer.source -}}{{- end -}}
{{- if eq .Values.auth.mode "oidc" -}}
{{- $_ = set $s "oidc_issuer" .Values.auth.oidc.issuer -}}
{{- $_ = set $s "oidc_client_id" .Values.auth.oidc.clientID -}}
{{- $_ = set $s "oidc_client_secret_file" (printf "/etc/kubelantern/oidc/%s" .Values.auth.oidc.clientSecretKey) -}}
{{- $_ = set $s "oidc_scopes" .Values.auth.oidc.scopes -}}
{{- if .Values.auth.oidc.redirectURL -}}{{- $_ = set $s "oidc_redirect_url" .Values.auth.oidc.redirectURL -}}{{- end -}}
{{- $hosts := .Values.auth.allowedHosts | default (compact (list .Values.ingress.host)) -}}
{{- if $hosts -}}{{- $_ = set $s "allowed_hosts" (join "," $hosts) -}}{{- end -}}
{{- if and (not .Values.auth.oidc.redirectURL) (not $hosts) -}}
{{- fail "auth.mode=oidc needs auth.oidc.redirectURL, auth.allowedHosts or ingress.host: the request's Host header never decides where the provider sends the browser back" -}}
{{- end -}}
{{- end -}}
{{- if .Values.auth.session.existingSecret -}}
{{- $_ = set $s "session_secret_file" (printf "/etc/kubelantern/session/%s" .Values.auth.session.key) -}}
{{- end -}}
{{- if ne .Values.auth.mode "kubeconfig" -}}
{{- $_ = set $s "session_max_age" (int .Values.auth.session.maxAge) -}}
{{- $_ = set $s "session_idle_timeout" (int .Values.auth.session.idleTimeout) -}}
{{- $_ = set $s "session_store" "kubernetes" -}}
{{- $_ = set $s "session_store_name" (printf "%s-sessions" (include "kubelantern.fullname" .)) -}}
{{- end -}}
{{- if .Values.oauth2Proxy.enabled -}}
{{- $_ = set $s "sign_in_url" (printf "%s/oauth2/start" $prefix) -}}
{{- $_ = set $s "sign_out_url" (printf "%s/oauth2/sign_out" $prefix) -}}
{{- end -}}
{{- toYaml (mergeOverwrite $s (deepCopy .Values.config)) -}}
{{- end -}}

{{/* OAuth2 Proxy's alpha config: injectRequestHeaders only (what the legacy pass-* flags do: headers sent upstream to Kubelantern), never injectResponseHeaders (the set-* flags: headers on the answer to the browser, which would show it the tokens). */}}
{{- define "kubelantern.oauth2ProxyConfig" -}}
{{- $headers := list -}}
{{- range $pair := list (list "user" "X-Forwarded-User") (list "email" "X-Forwarded-Email") (list "groups" "X-Forwarded-Groups") (list "preferred_username" "X-Forwarded-Preferred-Username") -}}
{{- $headers = append $headers (dict "name" (index $pair 1) "values" (list (dict "claimSource" (dict "claim" (index $pair 0))))) -}}
{{- end -}}
{{- if eq .Values.auth.mode "bearer" -}}
{{- if eq .Values.auth.bearer.source "authorization" -}}
{{- $headers = append $headers (dict "name" "Authorization" "values" (list (dict "claimSource" (dict "claim" "id_token" "prefix" "Bearer ")))) -}}
{{- else if eq .Values.auth.bearer.source "access-token" -}}
{{- $headers = append $headers (dict "name" "X-Forwarded-Access-Token" "values" (list (dict "claimSource" (dict "claim" "access_token")))) -}}
{{- end -}}
{{- end -}}
{{- $headers = append $headers (dict "name" "X-Kubelantern-Proxy-Secret" "values" (list (dict "secretSource" (dict "fromFile" (printf "/etc/kubelantern/proxy/%s" .Values.auth.proxySecret.key))))) -}}
{{- $provider := mergeOverwrite (dict "id" "sso") (deepCopy .Values.oauth2Proxy.provider) (dict "clientSecretFile" (printf "/etc/oauth2-proxy/secrets/%s" .Values.oauth2Proxy.clientSecretKey)) -}}
{{- $upstream := dict "id" "kubelantern" "path" "/" "uri" "http://127.0.0.1:4466" "proxyWebSockets" true "flushInterval" "1s" -}}
{{- $cfg := dict "server" (dict "bindAddress" "0.0.0.0:4180") "upstreamConfig" (dict "upstreams" (list $upstream)) "injectRequestHeaders" $headers "injectResponseHeaders" (list) "providers" (list $provider) -}}
{{- toYaml $cfg -}}
{{- end -}}
