#!/usr/bin/env bash
# Builds the tools that check rolecall's operations files into testenv/bin:
# promtool (Prometheus 3.16.0, module version v0.316.0) for the alert rules and
# their unit tests, and argocd-lua (gopher-lua v1.1.2, the Lua Argo CD runs) for
# the Argo CD health scripts. Both come from the Go module proxy; a binary
# already built for its pinned version is not rebuilt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/bin"
mkdir -p "$bin"

PROMETHEUS_MODULE_VERSION=v0.316.0
PROMETHEUS_VERSION=3.16.0
ARGOCD_LUA_VERSION="gopher-lua-v1.1.2-$(sha256sum "$here/argocd-lua/main.go" | cut -c1-12)"

built() { [ -x "$bin/$1" ] && [ "$(cat "$bin/$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" > "$bin/$1.version"; }

export GOFLAGS="${GOFLAGS:--trimpath}"

if ! built promtool "$PROMETHEUS_MODULE_VERSION"; then
  echo "building promtool $PROMETHEUS_VERSION" >&2
  started=$(date +%s)
  # remove_all_sd leaves out the service-discovery plugins (AWS, Azure, GCP,
  # Kubernetes... SDKs): promtool's rule checks and rule tests do not use them,
  # and they are most of the build. It is the same promtool command otherwise.
  version_ldflags="-X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION"
  version_ldflags+=" -X github.com/prometheus/common/version.Branch=release-${PROMETHEUS_VERSION%.*}"
  version_ldflags+=" -X github.com/prometheus/common/version.Revision=$PROMETHEUS_MODULE_VERSION"
  GOBIN="$bin" go install -tags remove_all_sd -ldflags "-s -w $version_ldflags" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
  stamp promtool "$PROMETHEUS_MODULE_VERSION"
  echo "built promtool in $(( $(date +%s) - started )) s" >&2
fi

if ! built argocd-lua "$ARGOCD_LUA_VERSION"; then
  echo "building argocd-lua ($ARGOCD_LUA_VERSION)" >&2
  (cd "$here/argocd-lua" && go build -ldflags "-s -w" -o "$bin/argocd-lua" .)
  stamp argocd-lua "$ARGOCD_LUA_VERSION"
fi
