#!/usr/bin/env bash
# Stops what testenv/up.sh DIR started (SIGTERM, then SIGKILL after 10 s) and
# removes DIR's data. Safe to run twice.
set -uo pipefail
dir=${1:?usage: down.sh DIR}
[ -d "$dir" ] || exit 0
for name in kube-controller-manager kube-apiserver etcd; do
  pidfile="$dir/$name.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
done
rm -rf "$dir/etcd"
