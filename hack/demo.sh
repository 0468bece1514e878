#!/usr/bin/env bash
# `make demo`: a real control plane on 127.0.0.1, rolecall's CRDs and samples,
# and the operator running against them. `make demo-down` stops it all.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.run/demo"
kubectl="$root/testenv/bin/kubectl"

down() {
  if [ -f "$dir/operator.pid" ]; then
    kill "$(cat "$dir/operator.pid")" 2>/dev/null || true
    rm -f "$dir/operator.pid"
  fi
  "$root/testenv/down.sh" "$dir" >/dev/null 2>&1 || true
}

case "${1:-up}" in
  down) down; rm -rf "$dir"; echo "demo stopped"; exit 0 ;;
  up) ;;
  *) echo "usage: demo.sh up|down" >&2; exit 2 ;;
esac

down
rm -rf "$dir"
"$root/testenv/up.sh" "$dir"
export KUBECONFIG="$dir/kubeconfig"

echo "== installing the CRDs"
"$kubectl" apply --server-side -f "$root/crds" >/dev/null
"$kubectl" wait --for=condition=Established --timeout=60s crd --all >/dev/null

echo "== applying config/samples (workspace acme: IdP binding, GitHub hub, team, user, grant)"
"$kubectl" apply -f "$root/config/samples/"

echo "== starting the operator (log: $dir/operator.log, metrics: http://127.0.0.1:18080/metrics)"
"$root/target/debug/rolecall" operator --metrics-addr 127.0.0.1:18080 > "$dir/operator.log" 2>&1 &
echo $! > "$dir/operator.pid"

# Wait, at most 60 s, until the operator has reported on every sample.
for _ in $(seq 1 120); do
  ready=$("$kubectl" get businesshub,accessgrant,idpbinding -n acme -o jsonpath='{range .items[*]}{.status.observedGeneration}{"\n"}{end}' | grep -c . || true)
  [ "$ready" -ge 3 ] && break
  sleep 0.5
done

echo
echo "== kubectl get rolecall -A"
"$kubectl" get rolecall -A
echo
echo "== conditions"
"$kubectl" get businesshub,accessgrant,idpbinding -n acme \
  -o custom-columns='KIND:.kind,NAME:.metadata.name,CONDITION:.status.conditions[*].type,STATUS:.status.conditions[*].status,REASON:.status.conditions[*].reason,MESSAGE:.status.conditions[*].message'
cat <<MSG

The control plane and the operator keep running. Try:
  export KUBECONFIG=$dir/kubeconfig
  $kubectl delete team engineering -n acme     # the grant turns Accepted=False (TeamNotFound) with a Warning Event
  $kubectl describe accessgrant engineering-github -n acme
  curl -s 127.0.0.1:18080/metrics | grep rolecall_
Stop everything with: make demo-down
MSG
