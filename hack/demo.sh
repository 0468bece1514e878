#!/usr/bin/env bash
# `make demo`: a real control plane on 127.0.0.1, rolecall installed with
# `helm install` into rolecall-system (a namespace enforcing the restricted Pod
# Security profile) to serve the workspace acme, two SCIM apps as hubs, and a
# scripted Entra ID that pushes a small company; it ends with each hub's user
# tables. Pods cannot run here (no kubelet), so `rolecall operator` and
# `rolecall scim` run on this machine as the chart's two service accounts
# (tokens from TokenRequest) with the settings the chart's Pod gives them
# (identity.env: the Lease's name and namespace, the namespace served).
# `make demo-down` stops it all. Ports: DEMO_SCIM_PORT (18444), DEMO_METRICS_PORT
# (18080), DEMO_SCIM_METRICS_PORT (18081), DEMO_APP_PORTS ("18090 18091").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.run/demo"
kubectl="$root/testenv/bin/kubectl"
rolecall="$root/target/debug/rolecall"
python="$root/.venv/bin/python"
ns=acme
release_ns=rolecall-system
scim_port=${DEMO_SCIM_PORT:-18444}
metrics_port=${DEMO_METRICS_PORT:-18080}
scim_metrics_port=${DEMO_SCIM_METRICS_PORT:-18081}
read -r design_port wiki_port <<< "${DEMO_APP_PORTS:-18090 18091}"

down() {
  for proc in operator scim design-tool wiki; do
    if [ -f "$dir/$proc.pid" ]; then
      kill "$(cat "$dir/$proc.pid")" 2>/dev/null || true
      rm -f "$dir/$proc.pid"
    fi
  done
  "$root/testenv/down.sh" "$dir" >/dev/null 2>&1 || true
}

case "${1:-up}" in
  down) down; rm -rf "$dir"; echo "demo stopped"; exit 0 ;;
  up) ;;
  *) echo "usage: demo.sh up|down" >&2; exit 2 ;;
esac

down
rm -rf "$dir"
for port in "$scim_port" "$metrics_port" "$scim_metrics_port" "$design_port" "$wiki_port"; do
  if python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$port))!=0)"; then
    echo "demo: port $port on 127.0.0.1 is taken; set DEMO_SCIM_PORT, DEMO_METRICS_PORT, DEMO_SCIM_METRICS_PORT or DEMO_APP_PORTS" >&2
    exit 1
  fi
done
start=$(date +%s)
echo "== starting a control plane on 127.0.0.1 (etcd, kube-apiserver, kube-controller-manager; logs in $dir)"
"$root/testenv/up.sh" "$dir"
export KUBECONFIG="$dir/kubeconfig"
"$kubectl" create namespace "$ns" >/dev/null
# The release's namespace enforces the restricted profile, as a platform team's would.
"$kubectl" create namespace "$release_ns" >/dev/null
"$kubectl" label namespace "$release_ns" pod-security.kubernetes.io/enforce=restricted >/dev/null

# The chart installed with helm; then tokens minted (TokenRequest) for its two
# service accounts, written as kubeconfigs, and the Pod's settings as identity.env.
echo "== helm install rolecall charts/rolecall -n $release_ns --set watchNamespaces={$ns}; minting tokens for its service accounts"
"$root/hack/chart-identity.sh" "$dir" "$release_ns" --set "watchNamespaces={$ns}"
operator_kubeconfig="$dir/operator.kubeconfig"
scim_kubeconfig="$dir/scim.kubeconfig"
"$root/testenv/bin/helm" list -n "$release_ns" | sed 's/^/   /'
echo "   the chart's Pod, admitted under the restricted profile (Pending: no scheduler or kubelet here):"
for _ in $(seq 1 60); do
  [ -n "$("$kubectl" get pods -n "$release_ns" -o name 2>/dev/null)" ] && break
  sleep 0.5
done
"$kubectl" get pods -n "$release_ns" | sed 's/^/   /'
echo "   identity.env (what the chart's Pod sets for both processes):"
sed 's/^/     /' "$dir/identity.env"
"$kubectl" wait --for=condition=Established --timeout=60s crd --all >/dev/null

echo "== starting two SCIM apps (scim2-server): design-tool on :$design_port, wiki on :$wiki_port"
for app in design-tool:$design_port wiki:$wiki_port; do
  "$root/.venv/bin/scim2-server" --hostname 127.0.0.1 --port "${app#*:}" > "$dir/${app%%:*}.log" 2>&1 &
  echo $! > "$dir/${app%%:*}.pid"
done
for port in "$design_port" "$wiki_port"; do
  for _ in $(seq 1 60); do curl -sf -o /dev/null "http://127.0.0.1:$port/v2/ServiceProviderConfig" && break; sleep 0.5; done
done
app_user() {
  curl -sf -X POST "http://127.0.0.1:$1/v2/Users" -H "Content-Type: application/scim+json" -o /dev/null \
    -d "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"$2\",\"emails\":[{\"value\":\"$2\",\"primary\":true}]$3}"
}
echo "   accounts made in the apps by hand, before rolecall: contractor@agency.example (design-tool), julie.zhuo@acme.example (wiki)"
app_user "$design_port" contractor@agency.example ',"roles":[{"value":"editor"}]'
app_user "$wiki_port" julie.zhuo@acme.example ''

echo "== applying the workspace (hack/demo/workspace.yaml): IdP binding entra, hubs design-tool and wiki in Enforce"
sed -e "s/127.0.0.1:18090/127.0.0.1:$design_port/; s/127.0.0.1:18091/127.0.0.1:$wiki_port/" "$root/hack/demo/workspace.yaml" |
  "$kubectl" apply -f - >/dev/null

# whoami KUBECONFIG: the user the API server sees for a kubeconfig (SelfSubjectReview).
whoami() { "$kubectl" --kubeconfig "$1" auth whoami -o jsonpath='{.status.userInfo.username}'; }
operator_user=$(whoami "$operator_kubeconfig")
scim_user=$(whoami "$scim_kubeconfig")
case "$operator_user/$scim_user" in
  system:serviceaccount:*/system:serviceaccount:*) ;;
  *) echo "demo: the minted kubeconfigs are not service accounts ($operator_user, $scim_user)" >&2; exit 1 ;;
esac

# Both processes get identity.env in their environment, as the chart's Pod gives
# them ROLECALL_LEASE_NAME, ROLECALL_LEASE_NAMESPACE and ROLECALL_WATCH_NAMESPACE:
# the operator may only touch its own Lease, in the release's namespace.
echo "== starting the operator as $operator_user (log: $dir/operator.log, metrics: http://127.0.0.1:$metrics_port/metrics)"
( set -a; . "$dir/identity.env"; set +a
  KUBECONFIG="$operator_kubeconfig" exec "$rolecall" operator --metrics-addr "127.0.0.1:$metrics_port" ) > "$dir/operator.log" 2>&1 &
echo $! > "$dir/operator.pid"

echo "== starting the SCIM sidecar as $scim_user on https://127.0.0.1:$scim_port/scim/v2 (log: $dir/scim.log, metrics: http://127.0.0.1:$scim_metrics_port/metrics)"
( set -a; . "$dir/identity.env"; set +a
  KUBECONFIG="$scim_kubeconfig" exec "$rolecall" scim --listen "127.0.0.1:$scim_port" \
    --external-url "https://127.0.0.1:$scim_port/scim/v2" --metrics-addr "127.0.0.1:$scim_metrics_port" \
    --tls-cert "$dir/pki/apiserver.crt" --tls-key "$dir/pki/apiserver.key" ) > "$dir/scim.log" 2>&1 &
echo $! > "$dir/scim.pid"
for _ in $(seq 1 60); do
  curl -sf -o /dev/null --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer demo-token-change-me" \
    "https://127.0.0.1:$scim_port/scim/v2/ServiceProviderConfig" && break
  sleep 0.5
done

idp=("$python" "$root/hack/demo_idp.py" --url "https://127.0.0.1:$scim_port/scim/v2" --cacert "$dir/pki/ca.crt"
     --state "$dir/idp.json" --namespace "$ns" --kubectl "$kubectl")
echo "== the scripted IdP (hack/demo_idp.py) pushes the company as Entra ID does"
"${idp[@]}" push

echo "== the admin grants teams roles on the hubs (AccessGrants naming the Teams the sidecar made)"
"${idp[@]}" grants > "$dir/grants.yaml"
"$kubectl" apply -f "$dir/grants.yaml" | sed 's/^/   /'

echo "== waiting for the hubs to invite everyone granted (at most 4 minutes)"
"${idp[@]}" wait --phase initial

echo "== a later provisioning cycle: one leaver, one move between teams"
"${idp[@]}" change
echo "== waiting for the hubs to settle again (the leaver's seats go after the 20s grace period)"
"${idp[@]}" wait --phase changed

echo
echo "== kubectl get businesshubs,accessgrants -n $ns"
"$kubectl" get businesshubs,accessgrants -n "$ns"
for hub in design-tool wiki; do
  echo
  echo "== rolecall status $hub -n $ns"
  "$rolecall" status "$hub" -n "$ns" --actions 5
done
echo
echo "== who ran them: the operator as $operator_user, the sidecar as $scim_user"
"$kubectl" get lease -n "$release_ns" | sed 's/^/   /'
forbidden_operator=$(grep -ci forbidden "$dir/operator.log" || true)
forbidden_scim=$(grep -ci forbidden "$dir/scim.log" || true)
echo "   'forbidden' in the operator's log: $forbidden_operator, in the sidecar's log: $forbidden_scim"
if [ "$forbidden_operator" != 0 ] || [ "$forbidden_scim" != 0 ]; then
  echo "demo: the chart's RBAC refused something; see $dir/operator.log and $dir/scim.log" >&2
  exit 1
fi
cat <<MSG

The demo took $(( $(date +%s) - start ))s. The control plane, the apps, the operator and the sidecar keep running:
  export KUBECONFIG=$dir/kubeconfig
  $kubectl get users,teams -n $ns                     # the directory the IdP pushed
  $kubectl get appaccounts -n $ns -l rolecall.dev/hub=wiki
  curl -s http://127.0.0.1:$metrics_port/metrics | grep rolecall_        # the operator's metrics
  curl -s http://127.0.0.1:$scim_metrics_port/metrics | grep rolecall_scim_   # the sidecar's
  $kubectl auth can-i --list -n $ns --as $operator_user                  # what the operator may do
  curl -s http://127.0.0.1:$wiki_port/v2/Groups | python3 -m json.tool   # the wiki's role groups, as rolecall filled them
Stop everything with: make demo-down
MSG
