# Versions of everything testenv builds; sourced by testenv/build and testenv/cluster.
K8S_VERSION=1.37.2
KWOK_VERSION=0.8.0
OAUTH2_PROXY_VERSION=7.15.6
MOCKOIDC_VERSION=v0.0.0-20261103160011-e06ed0b7cb7f
HELM_VERSION=3.22.0
HELM_K8S_MINOR=37  # minor of the k8s.io modules helm $HELM_VERSION is built with
KL_CACHE=${KUBELANTERN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelantern}
KL_TESTENV=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# One cache directory per component, keyed by its version and, for the modules we
# own, the hash of our go.mod: a change to either builds afresh instead of reusing.
kl_comp_dir() {
  local c=$1 key
  case "$c" in
    k8s) key="k8s-$K8S_VERSION-$(sha256sum "$KL_TESTENV/gobuild/k8s/go.mod" | cut -c1-10)" ;;
    kwok) key="kwok-$KWOK_VERSION" ;;
    oauth2-proxy) key="oauth2-proxy-$OAUTH2_PROXY_VERSION" ;;
    oidc) key="mock-oidc-$(cat "$KL_TESTENV/gobuild/oidc/go.mod" "$KL_TESTENV/gobuild/oidc/main.go" | sha256sum | cut -c1-10)" ;;
    helm) key="helm-$HELM_VERSION-k8s1.$HELM_K8S_MINOR" ;;
    *) echo "unknown component: $c" >&2; return 2 ;;
  esac
  echo "$KL_CACHE/bin/$key"
}
