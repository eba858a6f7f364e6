#!/bin/sh
# zone-a's transport key, once, before its service nodes start (docs/deployment.md, "Start
# order"): made in node-a1's data directory, copied into node-a2's, the private copy removed,
# the public half registered with the store through the manage node. compose.yaml runs it as the
# one-shot `zone-a-keys` service; scripts/compose-check.sh runs it on the host. Idempotent: a
# node that already holds the zone key is left alone, and an already registered zone is fine.
#
# Environment: KMS (the kms binary, default kms), KMS_ADDR (the manage node), KMS_TOKEN (a token
# that may register zones; the example's dev root token), NODE_A1_DATA, NODE_A2_DATA (the two
# nodes' data directories), OWNER (uid:gid to give the data directories, when run as root).
set -eu
kms=${KMS:-kms}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: "${KMS_ADDR:?}" "${KMS_TOKEN:?}" "${NODE_A1_DATA:?}" "${NODE_A2_DATA:?}"

if [ -e "$NODE_A1_DATA/zone-key.sealed" ]; then
  echo "zone-a-keys: node-a1 already holds a zone key"
else
  # The zone's private key exists outside node-a1's sealed store only in this temporary
  # directory, until node-a2 has imported it.
  "$kms" zone keygen --zone zone-a --data-dir "$NODE_A1_DATA" \
    --public-out "$NODE_A1_DATA/zone-a.pub.pem" --private-out "$work/zone-a.key.pem"
  "$kms" zone import --zone zone-a --data-dir "$NODE_A2_DATA" --key "$work/zone-a.key.pem"
  rm -f "$work/zone-a.key.pem"
fi

# Wait for the control plane, then register (a root token's request runs at once).
i=0
until "$kms" ready --addr "$KMS_ADDR" >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -lt 120 ] || { echo "zone-a-keys: $KMS_ADDR not ready after 60 s" >&2; exit 1; }
  sleep 0.5
done
if "$kms" zone list --addr "$KMS_ADDR" | grep -q 'zone-a'; then
  echo "zone-a-keys: zone-a is registered"
else
  "$kms" zone register zone-a --public-key "$NODE_A1_DATA/zone-a.pub.pem" --addr "$KMS_ADDR"
fi
if [ "$(id -u)" = 0 ] && [ -n "${OWNER:-}" ]; then
  chown -R "$OWNER" "$NODE_A1_DATA" "$NODE_A2_DATA"
fi
