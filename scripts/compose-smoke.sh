#!/usr/bin/env bash
# The compose example (deploy/compose/compose.yaml, docs/packaging.md) in containers: writes its
# files with deploy/compose/setup.sh (into a fresh deploy/compose/generated), builds the image,
# starts the stack, waits for every service's health check, then checks through the published
# ports that the manage node serves the admin API and the zone's nginx the data plane (each node
# decrypts what went through nginx), and removes the stack and its volumes.
# Needs docker with the compose plugin, access to the base images, openssl, curl and jq; run as
# root (or give the generated keys to uid 10001 as setup.sh says). Prints `compose-smoke: PASS`.
# The same files are run without containers by scripts/compose-check.sh, in the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
gen=deploy/compose/generated
[ -e "$gen" ] && { echo "compose-smoke: $gen exists; remove it (and its stack) first" >&2; exit 1; }
deploy/compose/setup.sh "$gen"
compose=(docker compose -f deploy/compose/compose.yaml)
trap '"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; rm -rf "$gen"' EXIT
"${compose[@]}" build
"${compose[@]}" up -d --wait --wait-timeout 180
token=$(sed -n 's/^KMS_TOKEN=//p' "$gen/admin.env")
manage=http://127.0.0.1:${KMS_MANAGE_PORT:-18201} zone=http://127.0.0.1:${KMS_ZONE_A_PORT:-18200}
auth=(-H "Authorization: Bearer $token")
curl -sf "${auth[@]}" -X POST "$manage/v1/admin/keys" -d '{"name":"smoke"}' >/dev/null
app_token=$(curl -sf "${auth[@]}" -X POST "$manage/v1/admin/apps" -d '{"name":"smoke-app"}' | jq -r .token)
curl -sf "${auth[@]}" -X POST "$manage/v1/admin/keys/smoke/grants" \
  -d '{"app":"smoke-app","operations":["encrypt","decrypt"]}' >/dev/null
app=(-H "Authorization: Bearer $app_token")
ct=
for _ in $(seq 50); do
  ct=$(curl -sf "${app[@]}" -X POST "$zone/v1/keys/smoke/encrypt" -d '{"plaintext_utf8":"smoke"}' \
    | jq -r '.ciphertext // empty') && [ -n "$ct" ] && break
  sleep 0.2
done
[ -n "$ct" ] || { "${compose[@]}" logs; echo "compose-smoke: FAIL: no encrypt through nginx"; exit 1; }
for node in node-a1 node-a2; do
  pt=$("${compose[@]}" exec -T -e KMS_TOKEN="$app_token" "$node" \
    kms decrypt --key smoke --addr http://127.0.0.1:8200 <<<"$ct" 2>&1) || true
  [ "$pt" = smoke ] || { echo "compose-smoke: FAIL: $node decrypts to '$pt'"; exit 1; }
done
echo "compose-smoke: PASS"
