#!/usr/bin/env bash
# The certificates of the NATS cluster's routes (mutual TLS, helm/nats-values.yaml): a private CA
# and one certificate for every node, good for both ends of a route (serverAuth + clientAuth).
# A node accepts a route only from a peer whose certificate this CA signed (`verify: true`), and
# checks the peer it dials against its name, so no pod without the key can join the cluster — a
# route carries every order message.
#
#   deploy/k8s/overlays/example/nats-route-tls.sh OUT_DIR [SAN ...]
#
# SANs default to the chart's route host names for release `nats` in namespace `surge`
# (nats-0.nats-headless, …, and their cluster FQDNs). Writes OUT_DIR/ca.crt, tls.crt, tls.key
# and ca.key, which signs new certificates: keep it out of the cluster. Then the two Secrets the
# chart mounts (the CA alone in its own, since nats-box mounts that one too):
#   kubectl -n surge create secret generic nats-route-tls \
#     --from-file=OUT_DIR/tls.crt --from-file=OUT_DIR/tls.key
#   kubectl -n surge create secret generic nats-route-ca --from-file=OUT_DIR/ca.crt
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR [SAN ...]   (SAN: DNS:name or IP:address)" >&2
  exit 2
fi
out="$1"
shift
sans=("$@")
if [ ${#sans[@]} -eq 0 ]; then
  sans=(DNS:*.nats-headless DNS:*.nats-headless.surge.svc DNS:*.nats-headless.surge.svc.cluster.local)
fi
san_list="$(IFS=,; echo "${sans[*]}")"
days="${NATS_ROUTE_TLS_DAYS:-825}"

mkdir -p "$out"
umask 077
openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key"
openssl req -x509 -new -key "$out/ca.key" -sha256 -days "$days" -subj "/CN=surge-nats-route-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$out/ca.crt"
openssl ecparam -name prime256v1 -genkey -noout -out "$out/tls.key"
openssl req -new -key "$out/tls.key" -subj "/CN=surge-nats-route" -out "$out/tls.csr"
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -sha256 -days "$days" -out "$out/tls.crt" -extfile <(printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" \
    "subjectAltName=$san_list") 2>/dev/null
rm -f "$out/tls.csr" "$out/ca.srl"
chmod 644 "$out/ca.crt" "$out/tls.crt"
echo "nats-route-tls: $out/{ca.crt,tls.crt,tls.key} for $san_list (ca.key signs more: keep it safe)"
