#!/usr/bin/env bash
# `make demo`: a real control plane on 127.0.0.1, rolecall's CRDs and samples,
# and the operator running against them. `make demo-down` stops it all.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.run/demo"
kubectl="$root/testenv/bin/kubectl"

down() {
  for proc in operator scim app; do
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
"$root/testenv/up.sh" "$dir"
export KUBECONFIG="$dir/kubeconfig"

echo "== installing the CRDs"
"$kubectl" apply --server-side -f "$root/crds" >/dev/null
"$kubectl" wait --for=condition=Established --timeout=60s crd --all >/dev/null

echo "== starting a SCIM app for the design-tool hub: scim2-server on http://127.0.0.1:18090/v2 (log: $dir/app.log)"
"$root/.venv/bin/scim2-server" --hostname 127.0.0.1 --port 18090 > "$dir/app.log" 2>&1 &
echo $! > "$dir/app.pid"
for _ in $(seq 1 60); do curl -sf -o /dev/null http://127.0.0.1:18090/v2/ServiceProviderConfig && break; sleep 0.5; done
echo "   an account made in the app by hand, before rolecall: contractor@agency.example"
curl -sf -X POST http://127.0.0.1:18090/v2/Users -H "Content-Type: application/scim+json" -o /dev/null \
  -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"contractor@agency.example","roles":[{"value":"editor"}],"emails":[{"value":"contractor@agency.example","primary":true}]}'

echo "== applying config/samples (workspace acme: IdP binding, a GitHub hub in DryRun, a SCIM app in Enforce, team, user, grants)"
"$kubectl" apply -f "$root/config/samples/"

echo "== starting the operator (log: $dir/operator.log, metrics: http://127.0.0.1:18080/metrics)"
"$root/target/debug/rolecall" operator --metrics-addr 127.0.0.1:18080 > "$dir/operator.log" 2>&1 &
echo $! > "$dir/operator.pid"

echo "== starting the SCIM sidecar on https://127.0.0.1:18444/scim/v2 (self-signed certificate; log: $dir/scim.log)"
"$root/target/debug/rolecall" scim --listen 127.0.0.1:18444 --external-url https://127.0.0.1:18444/scim/v2 \
  --tls-cert "$dir/pki/apiserver.crt" --tls-key "$dir/pki/apiserver.key" > "$dir/scim.log" 2>&1 &
echo $! > "$dir/scim.pid"
scim() { curl -sf --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer demo-token-change-me" -H "Content-Type: application/scim+json" "$@"; }
for _ in $(seq 1 60); do scim -o /dev/null https://127.0.0.1:18444/scim/v2/ServiceProviderConfig && break; sleep 0.5; done
echo "== the IdP pushes a user and a group over SCIM"
bob=$(scim -X POST https://127.0.0.1:18444/scim/v2/Users -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob@acme.example","active":"True","emails":[{"value":"bob@acme.example","type":"work","primary":true}],"name":{"givenName":"Bob","familyName":"Example"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
scim -X POST https://127.0.0.1:18444/scim/v2/Groups -d "{\"displayName\":\"Design\",\"members\":[{\"value\":\"$bob\"}]}" -o /dev/null
design=$(scim "https://127.0.0.1:18444/scim/v2/Groups?filter=displayName%20eq%20%22Design%22" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Resources"][0]["id"])')
echo "   User $bob and Team $design (Design) written by the sidecar"
echo "== granting the Design team editor seats on design-tool"
cat <<YAML | "$kubectl" apply -f -
apiVersion: rolecall.dev/v1alpha1
kind: AccessGrant
metadata: {name: design-design-tool, namespace: acme}
spec: {subject: {team: $design}, hub: design-tool, appRoles: [editor]}
YAML

# Wait, at most 60 s, until the operator has reported on every sample and
# alice and bob hold their seats in the design tool.
for _ in $(seq 1 120); do
  ready=$("$kubectl" get businesshub,accessgrant,idpbinding -n acme -o jsonpath='{range .items[*]}{.status.observedGeneration}{"\n"}{end}' | grep -c . || true)
  onboarded=$("$kubectl" get appaccounts -n acme -l rolecall.dev/hub=design-tool -o jsonpath='{range .items[*]}{.status.state}{"\n"}{end}' | grep -c Onboarded || true)
  [ "$ready" -ge 6 ] && [ "$onboarded" -ge 2 ] && break
  sleep 0.5
done

echo
echo "== kubectl get rolecall -A"
"$kubectl" get rolecall -A
echo
echo "== conditions"
"$kubectl" get businesshub,accessgrant,idpbinding -n acme \
  -o custom-columns='KIND:.kind,NAME:.metadata.name,CONDITION:.status.conditions[*].type,STATUS:.status.conditions[*].status,REASON:.status.conditions[*].reason,MESSAGE:.status.conditions[*].message'
echo
echo "== rolecall status design-tool -n acme"
"$root/target/debug/rolecall" status design-tool -n acme
echo
echo "== the accounts in the app itself"
curl -sf http://127.0.0.1:18090/v2/Users | python3 -c 'import json,sys; [print("  ", u["userName"], [r["value"] for r in u.get("roles", [])], "active" if u.get("active", True) else "inactive") for u in json.load(sys.stdin)["Resources"]]'
cat <<MSG

The control plane and the operator keep running. Try:
  export KUBECONFIG=$dir/kubeconfig
  $root/target/debug/rolecall status design-tool -n acme
  $kubectl get appaccounts -n acme
  $kubectl delete accessgrant engineering-design-tool -n acme   # alice's seat goes after the 2m removal grace period
  $kubectl delete team engineering -n acme     # the grant turns Accepted=False (TeamNotFound) with a Warning Event
  $kubectl describe accessgrant engineering-github -n acme
  curl -s 127.0.0.1:18080/metrics | grep rolecall_
  curl -s --cacert $dir/pki/ca.crt -H 'Authorization: Bearer demo-token-change-me' 'https://127.0.0.1:18444/scim/v2/Users?filter=userName%20eq%20%22bob@acme.example%22'
Stop everything with: make demo-down
MSG
