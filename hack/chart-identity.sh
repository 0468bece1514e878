#!/usr/bin/env bash
# Installs the rolecall chart's resources (CRDs, ServiceAccounts, RBAC, the
# Deployment) with Helm, then mints API tokens for its two service accounts so
# `rolecall operator` and `rolecall scim` can run outside a Pod with exactly the
# identity and permissions they would have inside one.
#
# Usage: KUBECONFIG=<admin kubeconfig> hack/chart-identity.sh DIR NAMESPACE [HELM_ARG...]
#   NAMESPACE   where the release lives (its ServiceAccounts, its leader Lease);
#               created when missing. The namespace served defaults to it too:
#               pass `--set watchNamespaces={acme}` to serve another (it must exist).
#   HELM_ARG    more arguments for `helm upgrade --install` (e.g. --set ...).
#   env RELEASE        release name (default: rolecall)
#   env TOKEN_DURATION lifetime of the minted tokens (default: 24h)
#   env HELM, KUBECTL  the binaries (default: testenv/bin/helm, testenv/bin/kubectl)
# Writes:
#   DIR/operator.kubeconfig   the operator's ServiceAccount token (TokenRequest)
#   DIR/scim.kubeconfig       the SCIM sidecar's ServiceAccount token
#   DIR/identity.env          ROLECALL_LEASE_NAME, ROLECALL_LEASE_NAMESPACE and,
#                             when namespaced, ROLECALL_WATCH_NAMESPACE: the
#                             settings the chart's Pod gives both processes
#                             (the operator may only touch its own Lease).
# Re-running upgrades the release and mints fresh tokens. CRDs that exist
# without Helm's ownership (applied from crds/) are adopted into the release.
set -euo pipefail
trap 'echo "chart-identity: failed at line $LINENO" >&2' ERR
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: chart-identity.sh DIR NAMESPACE [HELM_ARG...]}
ns=${2:?usage: chart-identity.sh DIR NAMESPACE [HELM_ARG...]}
shift 2
release=${RELEASE:-rolecall}
helm=${HELM:-$root/testenv/bin/helm}
kubectl=${KUBECTL:-$root/testenv/bin/kubectl}
: "${KUBECONFIG:?KUBECONFIG must name the admin kubeconfig}"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

"$kubectl" get namespace "$ns" >/dev/null 2>&1 || "$kubectl" create namespace "$ns" >/dev/null

# Adopt CRDs applied without Helm (Helm refuses to take over unlabelled objects).
for crd in $("$kubectl" get crd -o name 2>/dev/null | grep '\.rolecall\.dev$' || true); do
  "$kubectl" label --overwrite "$crd" app.kubernetes.io/managed-by=Helm >/dev/null
  "$kubectl" annotate --overwrite "$crd" meta.helm.sh/release-name="$release" meta.helm.sh/release-namespace="$ns" >/dev/null
done

# --force-conflicts: adopted CRDs share field ownership with the kubectl that applied them.
"$helm" upgrade --install --force-conflicts "$release" "$root/charts/rolecall" --namespace "$ns" "$@" >/dev/null

# What the release rendered: its service accounts and lease (from the manifest, not guessed).
manifest=$("$helm" get manifest "$release" --namespace "$ns")
# (Here-strings, not pipes: an awk that stops early must not SIGPIPE a writer under pipefail.)
sa_names=$(awk '/^kind: ServiceAccount$/ {sa=1; next} sa && /^  name: / {print $2; sa=0}' <<< "$manifest")
operator_sa=$(awk '/-operator$/ {print; exit}' <<< "$sa_names")
scim_sa=$(awk '/-scim$/ {print; exit}' <<< "$sa_names")
scim_sa=${scim_sa:-$operator_sa}
lease=$(awk '/name: ROLECALL_LEASE_NAME$/ {getline; gsub(/"/, "", $2); print $2; exit}' <<< "$manifest")
watch=$(awk '/name: ROLECALL_WATCH_NAMESPACE$/ {getline; gsub(/"/, "", $2); print $2; exit}' <<< "$manifest")
[ -n "$operator_sa" ] && [ -n "$lease" ] || { echo "chart-identity: cannot find the operator's ServiceAccount or Lease in the release" >&2; exit 1; }

server=$("$kubectl" config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')
ca_file=$("$kubectl" config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority}')
ca_data=$("$kubectl" config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
[ -n "$ca_data" ] || ca_data=$(base64 -w0 < "$ca_file")

# write_kubeconfig SA FILE: a TokenRequest token for SA, in a kubeconfig of its own.
write_kubeconfig() {
  local sa=$1 file=$2 token
  token=$("$kubectl" create token "$sa" --namespace "$ns" --duration "${TOKEN_DURATION:-24h}")
  umask 077
  cat > "$file" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: cluster
  cluster:
    server: $server
    certificate-authority-data: $ca_data
users:
- name: $sa
  user:
    token: $token
contexts:
- name: $sa
  context: {cluster: cluster, user: $sa, namespace: ${watch:-$ns}}
current-context: $sa
KCFG
}
write_kubeconfig "$operator_sa" "$dir/operator.kubeconfig"
write_kubeconfig "$scim_sa" "$dir/scim.kubeconfig"
{
  echo "ROLECALL_LEASE_NAME=$lease"
  echo "ROLECALL_LEASE_NAMESPACE=$ns"
  [ -z "$watch" ] || echo "ROLECALL_WATCH_NAMESPACE=$watch"
} > "$dir/identity.env"
echo "chart-identity: release $release in $ns; operator as system:serviceaccount:$ns:$operator_sa, scim as system:serviceaccount:$ns:$scim_sa; kubeconfigs in $dir" >&2
