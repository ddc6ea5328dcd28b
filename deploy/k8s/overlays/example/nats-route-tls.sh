#!/usr/bin/env bash
# The certificates of the NATS cluster's routes (mutual TLS, helm/nats-values.yaml): a private CA
# and one certificate with its key that every node presents, good for both ends of a route
# (serverAuth + clientAuth). A node accepts a route only from a peer whose certificate this CA
# signed, and checks the peer it dials against its name, so no pod without that key can join the
# cluster — a route carries every order message. Whoever can read the Secret can join: keep it
# to the NATS pods (the chart mounts it there only).
#
#   deploy/k8s/overlays/example/nats-route-tls.sh OUT_DIR [SAN ...]     (SAN: DNS:name or IP:address)
#
# OUT_DIR must not hold an earlier CA (a second run would silently replace the CA the cluster
# trusts); use a directory outside the repository, e.g. "$(mktemp -d)". SANs default to the
# chart's route host names for release `nats` in namespace `surge` with 3 replicas
# (nats-0.nats-headless … and their cluster FQDNs, plus wildcards for more replicas). Writes
# OUT_DIR/ca.crt, tls.crt, tls.key and ca.key; ca.key signs new certificates: move it offline
# once the Secrets exist. Then the two Secrets the chart mounts (the CA alone in its own, since
# nats-box mounts that one too):
#   kubectl -n surge create secret generic nats-route-tls \
#     --from-file=OUT_DIR/tls.crt --from-file=OUT_DIR/tls.key
#   kubectl -n surge create secret generic nats-route-ca --from-file=OUT_DIR/ca.crt
# Rotation: before the CA expires (NATS_ROUTE_TLS_DAYS, 825), put the old and the new CA in one
# ca.crt, roll the pods, then switch tls.crt/tls.key to the new CA's and roll again.
set -euo pipefail
umask 077
if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR [SAN ...]   (SAN: DNS:name or IP:address)" >&2
  exit 2
fi
out="$1"
shift
sans=("$@")
if [ ${#sans[@]} -eq 0 ]; then
  sans=()
  for n in 0 1 2; do
    for domain in nats-headless nats-headless.surge.svc nats-headless.surge.svc.cluster.local; do
      sans+=("DNS:nats-$n.$domain")
    done
  done
  sans+=("DNS:*.nats-headless" "DNS:*.nats-headless.surge.svc" "DNS:*.nats-headless.surge.svc.cluster.local")
fi
for san in "${sans[@]}"; do
  if [[ ! "$san" =~ ^(DNS|IP):[^,[:space:]]+$ ]]; then
    echo "$0: SAN '$san' must be DNS:<name> or IP:<address>" >&2
    exit 2
  fi
done
for f in ca.key ca.crt tls.key tls.crt; do
  if [ -e "$out/$f" ]; then
    echo "$0: $out/$f exists: refusing to replace a CA or key (use a new OUT_DIR)" >&2
    exit 2
  fi
done
san_list="$(IFS=,; echo "${sans[*]}")"
days="${NATS_ROUTE_TLS_DAYS:-825}"

mkdir -p "$out"
errors="$(mktemp)"
trap 'rm -f "$out/tls.csr" "$out/ca.srl" "$errors"' EXIT
fail() {
  echo "$0: openssl failed:" >&2
  cat "$errors" >&2
  exit 1
}
openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key" 2>"$errors" || fail
openssl req -x509 -new -key "$out/ca.key" -sha256 -days "$days" -subj "/CN=surge-nats-route-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$out/ca.crt" 2>"$errors" || fail
openssl ecparam -name prime256v1 -genkey -noout -out "$out/tls.key" 2>"$errors" || fail
openssl req -new -key "$out/tls.key" -subj "/CN=surge-nats-route" -out "$out/tls.csr" 2>"$errors" || fail
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -sha256 -days "$days" -out "$out/tls.crt" -extfile <(printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" \
    "subjectAltName=$san_list") 2>"$errors" || fail
chmod 600 "$out/ca.key" "$out/tls.key"
chmod 644 "$out/ca.crt" "$out/tls.crt"
echo "nats-route-tls: $out/{ca.crt,tls.crt,tls.key} for $san_list (ca.key signs more: move it offline)"
