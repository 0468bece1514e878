#!/usr/bin/env bash
# Starts a real control plane on 127.0.0.1: etcd, kube-apiserver (RBAC on,
# token auth) and kube-controller-manager (garbage collector, namespace,
# deployment and replicaset controllers; there is no scheduler or kubelet). Everything lives in DIR:
#   DIR/kubeconfig   admin kubeconfig (system:masters)
#   DIR/env          KUBECONFIG=... lines to source
#   DIR/*.log        each process's log; DIR/*.pid their pids
# Usage: testenv/up.sh DIR      (stop with testenv/down.sh DIR)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: up.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bin="$here/bin"

"$here/build.sh"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
etcd_client=$(free_port); etcd_peer=$(free_port); api_port=$(free_port)

# Certificates: a CA, and a serving certificate for 127.0.0.1 / localhost signed by it.
pki="$dir/pki"; mkdir -p "$pki"
if [ ! -f "$pki/ca.crt" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=rolecall-test-ca" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$pki/ext.cnf"
  openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 3650 \
    -extfile "$pki/ext.cnf" -out "$pki/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
fi
admin_token=$(openssl rand -hex 24)
printf '%s,admin,admin-uid,"system:masters"\n' "$admin_token" > "$pki/tokens.csv"

# Each server's command is kept in DIR, so testenv/restart.sh DIR can kill it and
# start it again with the same flags and data (a chaos test's restart).
# etcd's quota at its recommended largest (8 GiB, not the default 2): the
# 50,000-user benchmark makes several hundred thousand writes in minutes.
cat > "$dir/etcd.sh" <<CMD
#!/usr/bin/env bash
exec "$bin/etcd" --data-dir "$dir/etcd" --name test \\
  --listen-client-urls "http://127.0.0.1:$etcd_client" --advertise-client-urls "http://127.0.0.1:$etcd_client" \\
  --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \\
  --initial-cluster "test=http://127.0.0.1:$etcd_peer" --log-level warn \\
  --quota-backend-bytes 8589934592
CMD
chmod +x "$dir/etcd.sh"
"$dir/etcd.sh" >> "$dir/etcd.log" 2>&1 &
echo $! > "$dir/etcd.pid"

cat > "$dir/kube-apiserver.sh" <<CMD
#!/usr/bin/env bash
exec "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_client" \\
  --bind-address 127.0.0.1 --secure-port "$api_port" --endpoint-reconciler-type none \\
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \\
  --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.key" \\
  --service-account-signing-key-file "$pki/sa.key" --token-auth-file "$pki/tokens.csv" \\
  --authorization-mode RBAC --service-cluster-ip-range 10.0.0.0/24 \\
  --enable-priority-and-fairness=false --v 0
CMD
chmod +x "$dir/kube-apiserver.sh"
"$dir/kube-apiserver.sh" >> "$dir/kube-apiserver.log" 2>&1 &
echo $! > "$dir/kube-apiserver.pid"

cat > "$dir/kubeconfig" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $pki/ca.crt
users:
- name: admin
  user:
    token: $admin_token
contexts:
- name: test
  context: {cluster: test, user: admin, namespace: default}
current-context: test
KCFG
printf 'KUBECONFIG=%s\nROLECALL_TESTENV=%s\n' "$dir/kubeconfig" "$dir" > "$dir/env"
printf '%s\n' "https://127.0.0.1:$api_port" > "$dir/server"

# Wait for /readyz, at most 60 s.
for _ in $(seq 1 120); do
  if curl -sf --cacert "$pki/ca.crt" -H "Authorization: Bearer $admin_token" "https://127.0.0.1:$api_port/readyz" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$(cat "$dir/kube-apiserver.pid")" 2>/dev/null; then
    echo "kube-apiserver exited; last log lines:" >&2; tail -20 "$dir/kube-apiserver.log" >&2; exit 1
  fi
  sleep 0.5
done
curl -sf --cacert "$pki/ca.crt" -H "Authorization: Bearer $admin_token" "https://127.0.0.1:$api_port/readyz" >/dev/null \
  || { echo "kube-apiserver not ready after 60 s" >&2; tail -20 "$dir/kube-apiserver.log" >&2; exit 1; }

# Garbage collection and namespace deletion need the controller manager; the
# deployment and replicaset controllers turn the chart's Deployment into a Pod
# object (admitted by Pod Security, then Pending: there is no kubelet).
"$bin/kube-controller-manager" --kubeconfig "$dir/kubeconfig" --controllers=garbagecollector,namespace,deployment,replicaset \
  --leader-elect=false --secure-port 0 --v 0 > "$dir/kube-controller-manager.log" 2>&1 &
echo $! > "$dir/kube-controller-manager.pid"

echo "control plane up: https://127.0.0.1:$api_port (KUBECONFIG=$dir/kubeconfig)" >&2
