#!/usr/bin/env bash
# Builds the real control plane used by rolecall's tests and demo into
# testenv/bin: kube-apiserver, kube-controller-manager, kubectl (Kubernetes
# v1.37.2), etcd (v3.7.3) and helm (v4.3.1), all from the Go module proxy.
# A binary that is already there for the pinned version is not rebuilt, so the
# second run takes well under a second.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/bin"
mkdir -p "$bin"

KUBE_VERSION=v1.37.2
KUBE_MINOR=37
ETCD_VERSION=v3.7.3
HELM_VERSION=v4.3.1

# Without these the server reports v0.0.0-master, which breaks clients that
# check the server version (Helm's kubeVersion, for one).
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$KUBE_MINOR"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=2026-01-01T00:00:00Z"
done

# built NAME VERSION: true when bin/NAME exists and was built for VERSION.
built() { [ -x "$bin/$1" ] && [ "$(cat "$bin/$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" > "$bin/$1.version"; }

export GOFLAGS="${GOFLAGS:--trimpath}"

for cmd in kube-apiserver kube-controller-manager kubectl; do
  if ! built "$cmd" "$KUBE_VERSION"; then
    echo "building $cmd $KUBE_VERSION" >&2
    (cd "$here/kube" && go build -ldflags "$kube_ldflags" -o "$bin/$cmd" "k8s.io/kubernetes/cmd/$cmd")
    stamp "$cmd" "$KUBE_VERSION"
  fi
done

if ! built etcd "$ETCD_VERSION"; then
  echo "building etcd $ETCD_VERSION" >&2
  (cd "$here/etcd" && go build -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
  stamp etcd "$ETCD_VERSION"
fi

if ! built helm "$HELM_VERSION"; then
  echo "building helm $HELM_VERSION" >&2
  GOBIN="$bin" go install -ldflags "-s -w" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  stamp helm "$HELM_VERSION"
fi
