#!/usr/bin/env bash
# The image smoke tests' API check (scripts/docker-smoke.sh, scripts/podman-smoke.sh):
#
#   scripts/smoke-roundtrip.sh URL ROOT_TOKEN
#
# with the root token creates the key `smoke`, the app `smoke-app` and its encrypt/decrypt grant,
# then as the app encrypts a text and decrypts it; exits 1 saying what failed unless the text
# comes back.
set -euo pipefail
kms=$1
auth=(-H "Authorization: Bearer $2")
step() { echo "smoke-roundtrip: FAIL: $*" >&2; exit 1; }
curl -sf "${auth[@]}" -X POST "$kms/v1/admin/keys" -d '{"name":"smoke"}' >/dev/null || step "create the key"
token=$(curl -sf "${auth[@]}" -X POST "$kms/v1/admin/apps" -d '{"name":"smoke-app"}' | jq -er .token) \
  || step "create the app"
curl -sf "${auth[@]}" -X POST "$kms/v1/admin/keys/smoke/grants" \
  -d '{"app":"smoke-app","operations":["encrypt","decrypt"]}' >/dev/null || step "grant the app"
app=(-H "Authorization: Bearer $token")
ct=$(curl -sf "${app[@]}" -X POST "$kms/v1/keys/smoke/encrypt" -d '{"plaintext_utf8":"smoke"}' \
  | jq -er .ciphertext) || step "encrypt"
pt=$(curl -sf "${app[@]}" -X POST "$kms/v1/keys/smoke/decrypt" -d "{\"ciphertext\":\"$ct\"}" \
  | jq -er .plaintext) || step "decrypt"
[ "$pt" = "$(printf smoke | base64)" ] || step "the round trip gave '$pt'"
