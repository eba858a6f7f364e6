#!/usr/bin/env bash
# Runs the README's walkthrough exactly as written: starts the KMS with the README's run command
# (in a temporary data directory, on a free port, through the variables the CLI reads), then runs
# every ```sh block between the walkthrough markers in one shell, then checks what it produced.
set -euo pipefail
cd "$(dirname "$0")/.."

readme=README.md
run_cmd=$(sed -n '/<!-- run-command -->/,/<!-- \/run-command -->/p' "$readme" | grep -E '^cargo ')
[ -n "$run_cmd" ] || { echo "walkthrough: no run command in $readme" >&2; exit 1; }
script=$(sed -n '/<!-- walkthrough -->/,/<!-- \/walkthrough -->/p' "$readme" \
  | awk '/^```sh$/{on=1; next} /^```$/{on=0} on')
[ -n "$script" ] || { echo "walkthrough: no walkthrough in $readme" >&2; exit 1; }
cli=$(sed -n '/<!-- cli-walkthrough -->/,/<!-- \/cli-walkthrough -->/p' "$readme" \
  | awk '/^```sh$/{on=1; next} /^```$/{on=0} on')
[ -n "$cli" ] || { echo "walkthrough: no CLI data walkthrough in $readme" >&2; exit 1; }
access=$(sed -n '/<!-- access-walkthrough -->/,/<!-- \/access-walkthrough -->/p' "$readme" \
  | awk '/^```sh$/{on=1; next} /^```$/{on=0} on')
[ -n "$access" ] || { echo "walkthrough: no access-control walkthrough in $readme" >&2; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export KMS_DATA_DIR="$work/data" KMS_LISTEN="127.0.0.1:$port"
log="$work/server.log"
echo "walkthrough: $run_cmd  (data $KMS_DATA_DIR, listening $KMS_LISTEN)"
# Build first, so that the wait below is for the server, not for a cold release build.
cargo build --release --locked --bin kms
# Its own session, so that stopping it stops cargo and the kms process under it as well.
setsid bash -c "$run_cmd" >"$log" 2>&1 &
server=$!
stop() {
  kill -TERM -- "-$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT

for _ in $(seq 1 1200); do
  curl -sf "http://$KMS_LISTEN/healthz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$log"; echo "walkthrough: server exited" >&2; exit 1; }
  sleep 0.5
done
curl -sf "http://$KMS_LISTEN/healthz" >/dev/null || { cat "$log"; echo "walkthrough: server not up" >&2; exit 1; }

# The README uses the default address; point it at this run's port.
script=${script//127.0.0.1:8200/$KMS_LISTEN}
access=${access//127.0.0.1:8200/$KMS_LISTEN}
cli=${cli//127.0.0.1:8200/$KMS_LISTEN}
checks='
fail() { echo "walkthrough check failed: $*" >&2; exit 1; }
[[ "$CT" == kms:00001:* ]] || fail "first ciphertext is not version 1: $CT"
[[ "$CT2" == kms:00002:* ]] || fail "ciphertext after rotation is not version 2: $CT2"
[ "$(decrypt "$CT" order-1001)" = 4111111111111111 ] || fail "old ciphertext does not decrypt after rotation"
[ "$(decrypt "$CT2" order-1002)" = 5500000000000004 ] || fail "new ciphertext does not decrypt"
'
cli_checks='
fail() { echo "CLI walkthrough check failed: $*" >&2; exit 1; }
[[ "$(cat contract.ct)" == kms:00001:* ]] || fail "the ciphertext file is not kms:00001:...: $(cat contract.ct)"
[ "$(kms decrypt --key docs --context contract-42 < contract.ct)" = "contract 42: pay 100.00 EUR" ] \
  || fail "the ciphertext file does not decrypt"
kms verify --key releases --in forged.txt --signature-file contract.sig 2>/dev/null \
  && fail "a forged file verified"
[ "$(wc -c < dk.bin)" = 32 ] || fail "the data key is not 32 bytes"
[ "$(kms decrypt --key docs < dk.ct | cmp - dk.bin && echo same)" = same ] || fail "dk.ct does not open to dk.bin"
true
'
access_checks='
fail() { echo "access walkthrough check failed: $*" >&2; exit 1; }
[ "$(jq -r .status grant.json)" = executed ] || fail "the grant did not run after two approvals"
[ "$(jq -r .status export.json)" = executed ] || fail "the export did not run after two approvals"
for person in sam kate ken kim ada; do
  grep -Eq "totp_secret|password" "$person.json" && fail "creating $person handed out their credentials"
done
[ "$(wc -c < transport.key)" = 32 ] || fail "the exported key does not open with the requester private key"
KMS_TOKEN=$ADA kms audit verify | grep -q "audit log OK: .* 1 seals" || fail "the audit log does not verify"
grep -q "\"action\":\"export_key\"" audit.jsonl || fail "the export is not in the exported audit log"
grep -q "\"code\":\"forbidden\"" audit.jsonl || fail "the refusal is not in the exported audit log"
KMS_TOKEN=root "$KMS_CLI" key list >/dev/null 2>&1 && fail "the revoked root token still works"
true
'
if ! bash -euo pipefail -c "$script"$'\n'"$checks" >"$work/out.txt" 2>&1 \
  || ! bash -euo pipefail -c "$cli"$'\n'"$cli_checks" >>"$work/out.txt" 2>&1 \
  || ! bash -euo pipefail -c "$access"$'\n'"$access_checks" >>"$work/out.txt" 2>&1; then
  cat "$work/out.txt"; echo "--- server log"; cat "$log"
  echo "walkthrough: FAILED" >&2
  exit 1
fi
cat "$work/out.txt"
echo "walkthrough: OK"
