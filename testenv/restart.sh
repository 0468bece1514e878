#!/usr/bin/env bash
# Restarts the API server and etcd that testenv/up.sh DIR started: SIGKILL both
# (a crash, not a clean stop), start them again with the same flags and data,
# and wait, at most 60 s, until the API server is ready again. For chaos tests.
# Usage: testenv/restart.sh DIR
set -euo pipefail
dir=${1:?usage: restart.sh DIR}
dir=$(cd "$dir" && pwd)
for name in kube-apiserver etcd; do
  kill -9 "$(cat "$dir/$name.pid")" 2>/dev/null || true
done
for name in kube-apiserver etcd; do
  for _ in $(seq 1 40); do kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null || break; sleep 0.25; done
done
"$dir/etcd.sh" >> "$dir/etcd.log" 2>&1 &
echo $! > "$dir/etcd.pid"
"$dir/kube-apiserver.sh" >> "$dir/kube-apiserver.log" 2>&1 &
echo $! > "$dir/kube-apiserver.pid"
server=$(cat "$dir/server")
token=$(cut -d, -f1 "$dir/pki/tokens.csv")
for _ in $(seq 1 120); do
  if curl -sf --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $token" "$server/readyz" >/dev/null 2>&1; then
    echo "control plane restarted: $server" >&2
    exit 0
  fi
  sleep 0.5
done
echo "kube-apiserver not ready 60 s after the restart" >&2
tail -20 "$dir/kube-apiserver.log" >&2
exit 1
