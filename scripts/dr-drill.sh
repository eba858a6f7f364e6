#!/usr/bin/env bash
# Disaster-recovery drill (docs/deployment.md#disaster-recovery-drill): starts a cluster
# (a store on 127.0.0.2 and two service nodes of zone dc-east, speaking the internal API over
# mutual TLS), encrypts N records through the service nodes, takes a backup, destroys the primary
# site (SIGKILL, data directories removed), restores the archive on a recovery site with the
# escrowed master-key material, starts a new service node with the escrowed zone key, decrypts
# every record there and prints one verdict line on stdout:
#
#   dr-drill: PASS: <N>/<N> records decrypt after losing the primary site (backup <bytes> bytes, restore <s> s)
#   dr-drill: FAIL: <why>                                   (exit code 1)
#
# Progress goes to stderr, everything else to a log in the work directory (printed on failure).
# Environment: DR_RECORDS (default 200), KMS_BIN (default target/release/kms, built here),
# DR_KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."

records=${DR_RECORDS:-200}
[[ "$records" =~ ^[1-9][0-9]*$ ]] || { echo "dr-drill: FAIL: DR_RECORDS must be a positive integer"; exit 1; }
if [ -z "${KMS_BIN:-}" ]; then
  cargo build --release --bin kms --locked >&2 \
    || { echo "dr-drill: FAIL: cargo build --release --bin kms --locked failed"; exit 1; }
  KMS_BIN=target/release/kms
fi
[ -x "$KMS_BIN" ] || { echo "dr-drill: FAIL: no kms binary at $KMS_BIN"; exit 1; }
KMS_BIN=$(cd "$(dirname "$KMS_BIN")" && pwd)/$(basename "$KMS_BIN")
for tool in openssl curl jq base64; do
  command -v "$tool" >/dev/null || { echo "dr-drill: FAIL: $tool is not installed"; exit 1; }
done

ROOT_TOKEN=dr-drill-root
KEY=ledger
ZONE=dc-east
STORE_IP=127.0.0.2
export KMS_LOG=warn

work=$(mktemp -d "${TMPDIR:-/tmp}/kms-dr-drill.XXXXXX")
log=$work/drill.log
# fd 3: the verdict (stdout); fd 4: progress (stderr); everything else into the log.
exec 3>&1 4>&2 >>"$log" 2>&1
pids=()
verdict=
step=setup

say() { echo "dr-drill: $*" >&4; echo "== $*"; }

finish() {
  local rc=$?
  set +e
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  if [ -z "$verdict" ]; then
    verdict="dr-drill: FAIL: stopped during '$step' (exit code $rc)"
  fi
  if [[ "$verdict" != *": PASS: "* ]]; then
    {
      echo "---- $log"
      cat "$log"
      for f in "$work"/*.out "$work"/*.err; do [ -s "$f" ] && { echo "---- $f"; cat "$f"; }; done
    } >&4 2>/dev/null
    rc=1
  fi
  echo "$verdict" >&3
  if [ "${DR_KEEP:-0}" = 1 ]; then echo "dr-drill: kept $work" >&4; else rm -rf "$work"; fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 1' INT TERM

fail() {
  verdict="dr-drill: FAIL: $*"
  exit 1
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# ---- helpers ---------------------------------------------------------------------------------

# api METHOD URL TOKEN [JSON]: prints the response body; fails unless the status is 2xx.
api() {
  local code data=()
  [ $# -lt 4 ] || data=(--data "$4")
  code=$(curl -sS -o "$work/response" -w '%{http_code}' -X "$1" \
    -H "Authorization: Bearer $3" -H 'Content-Type: application/json' \
    "${data[@]}" "$2") || code=000
  if [[ "$code" != 2* ]]; then
    echo "$1 $2 -> $code: $(cat "$work/response" 2>/dev/null)"
    return 1
  fi
  cat "$work/response"
}

# start NAME ARGS...: `kms serve ARGS` in the background, waiting for its listening line; sets
# started_pid, started_addr (public listener) and started_internal (the store's internal API).
start() {
  local name=$1 i
  shift
  "$KMS_BIN" serve "$@" >"$work/$name.out" 2>"$work/$name.err" &
  started_pid=$!
  pids+=("$started_pid")
  for i in $(seq 1 600); do
    if grep -q '^kms: listening on ' "$work/$name.out"; then break; fi
    kill -0 "$started_pid" 2>/dev/null || fail "$name exited at start: $(tail -n 5 "$work/$name.err")"
    sleep 0.1
  done
  [ "$i" -lt 600 ] || fail "$name did not start within 60 s"
  started_addr=$(sed -n 's|^kms: listening on http://||p' "$work/$name.out" | head -n 1)
  started_internal=$(sed -n 's|^kms: internal API on ||p' "$work/$name.out" | head -n 1)
  echo "$name: pid $started_pid, $started_addr ${started_internal:+internal $started_internal}"
}

internal_section() { # CERT_NAME EXTRA_LINE
  printf '[internal]\ncert = "%s"\nkey = "%s"\nca = "%s"\n%s\n' \
    "$pki/$1.pem" "$pki/$1.key" "$pki/internal-ca.pem" "$2"
}

fingerprint() { # CERT_NAME: its SHA-256, as the store's [internal] pins it
  scripts/pki.sh fingerprint "$pki" "$1" | cut -d' ' -f2
}

store_config() { # FILE DATA_DIR: the zone's node certificates pinned (docs/deployment.md)
  {
    printf 'data_dir = "%s"\nlisten = "%s:0"\nhttp_workers = 2\ncrypto_workers = 2\n' "$2" "$STORE_IP"
    printf 'roles = ["store", "manage"]\n\n'
    internal_section store "listen = \"$STORE_IP:0\""
    printf '[internal.zone_nodes]\n%s = ["%s", "%s", "%s"]\n' \
      "$ZONE" "$(fingerprint n1)" "$(fingerprint n2)" "$(fingerprint n3)"
  } >"$1"
}

node_config() { # FILE DATA_DIR IP CERT_NAME STORE_URL
  {
    printf 'data_dir = "%s"\nlisten = "%s:0"\nhttp_workers = 2\ncrypto_workers = 2\n' "$2" "$3"
    printf 'roles = ["service"]\n\n'
    internal_section "$4" "store = \"$5\""
    printf '\n[zone]\nname = "%s"\n' "$ZONE"
  } >"$1"
}

# wait_serving ADDR TOKEN CIPHERTEXT: until the node decrypts CIPHERTEXT (it has synced the key
# and the app's credentials from the store).
wait_serving() {
  local i
  for i in $(seq 1 300); do
    if api POST "http://$1/v1/keys/$KEY/decrypt" "$2" "{\"ciphertext\":\"$3\"}" >/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

encrypt() { # ADDR TOKEN PLAINTEXT_B64 -> ciphertext
  api POST "http://$1/v1/keys/$KEY/encrypt" "$2" "{\"plaintext\":\"$3\"}" | jq -er .ciphertext
}

decrypt() { # ADDR TOKEN CIPHERTEXT -> plaintext (base64)
  api POST "http://$1/v1/keys/$KEY/decrypt" "$2" "{\"ciphertext\":\"$3\"}" | jq -er .plaintext
}

# ---- the internal CA (kept off-site: it survives the primary site) -----------------------------
step="internal CA"
say "work directory $work, $records records, binary $KMS_BIN"
pki=$work/offsite/pki
escrow=$work/offsite/escrow
site_a=$work/site-a
site_b=$work/site-b
mkdir -p "$pki" "$escrow" "$site_a" "$site_b"
chmod 700 "$work/offsite" "$escrow"
# The internal CA and the certificates, as docs/deployment.md makes them (scripts/pki.sh).
scripts/pki.sh init "$pki" --days 2 --cn "dr-drill internal CA" >/dev/null
scripts/pki.sh issue "$pki" store --ip "$STORE_IP" --days 2 >/dev/null
for name in n1 n2 n3; do scripts/pki.sh issue "$pki" "$name" --days 2 >/dev/null; done

# ---- primary site: a store and two service nodes of zone dc-east -------------------------------
step="primary site start"
store_config "$site_a/store.toml" "$site_a/store"
start store-a --config "$site_a/store.toml" --dev --dev-root-token "$ROOT_TOKEN"
store_pid=$started_pid
store=$started_addr
store_internal=$started_internal
[ -n "$store_internal" ] || fail "the store did not print its internal API address"

# The zone key pair is made on the zone's first node; its private half goes to the zone's other
# nodes and to escrow (the recovery site's nodes import it from there).
"$KMS_BIN" zone keygen --zone "$ZONE" --data-dir "$site_a/n1" \
  --public-out "$site_a/$ZONE.pub.pem" --private-out "$escrow/$ZONE.key.pem"
"$KMS_BIN" zone import --zone "$ZONE" --data-dir "$site_a/n2" --key "$escrow/$ZONE.key.pem"
api POST "http://$store/v1/admin/zones" "$ROOT_TOKEN" \
  "$(jq -n --arg name "$ZONE" --rawfile pem "$site_a/$ZONE.pub.pem" '{name: $name, public_key: $pem}')"
echo
api POST "http://$store/v1/admin/keys" "$ROOT_TOKEN" "{\"name\":\"$KEY\"}"
echo
app_token=$(api POST "http://$store/v1/admin/apps" "$ROOT_TOKEN" '{"name":"ledger-app"}' | jq -er .token)
api POST "http://$store/v1/admin/keys/$KEY/grants" "$ROOT_TOKEN" \
  '{"app":"ledger-app","operations":["encrypt","decrypt"]}'
echo

node_config "$site_a/n1.toml" "$site_a/n1" 127.0.0.3 n1 "$store_internal"
node_config "$site_a/n2.toml" "$site_a/n2" 127.0.0.4 n2 "$store_internal"
start n1 --config "$site_a/n1.toml"
n1_pid=$started_pid
n1=$started_addr
start n2 --config "$site_a/n2.toml"
n2_pid=$started_pid
n2=$started_addr
say "primary site up: store $store (internal $store_internal), service nodes $n1 $n2"

# ---- N records through the service nodes, with a rotation half-way -----------------------------
step="encrypt"
probe=$(printf 'probe' | base64 -w0)
for node in "$n1" "$n2"; do
  for _ in $(seq 1 300); do
    encrypt "$node" "$app_token" "$probe" >/dev/null && break
    sleep 0.2
  done
  encrypt "$node" "$app_token" "$probe" >/dev/null || fail "service node $node does not encrypt"
done
pairs=$work/offsite/records.tsv
: >"$pairs"
half=$(( (records + 1) / 2 ))
for i in $(seq 1 "$records"); do
  if [ "$i" -eq $((half + 1)) ]; then
    api POST "http://$store/v1/admin/keys/$KEY/rotate" "$ROOT_TOKEN" '{"reason":"dr drill"}' >/dev/null
    for node in "$n1" "$n2"; do
      for _ in $(seq 1 300); do
        [[ "$(encrypt "$node" "$app_token" "$probe")" == kms:00002:* ]] && break
        sleep 0.1
      done
    done
  fi
  node=$n1
  [ $((i % 2)) -eq 0 ] && node=$n2
  plaintext=$(printf 'record %06d %s' "$i" "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" | base64 -w0)
  ciphertext=$(encrypt "$node" "$app_token" "$plaintext") || fail "record $i did not encrypt on $node"
  printf '%s\t%s\n' "$plaintext" "$ciphertext" >>"$pairs"
done
v1=$(grep -c $'\tkms:00001:' "$pairs" || true)
v2=$(grep -c $'\tkms:00002:' "$pairs" || true)
say "encrypted $records records ($v1 under version 1, $v2 under version 2)"

# ---- the backup, and the master key's escrow -----------------------------------------------------
step="backup"
archive=$work/offsite/kms.bak
KMS_TOKEN=$ROOT_TOKEN "$KMS_BIN" backup --addr "http://$store" --out "$archive"
backup_bytes=$(wc -c <"$archive")
# What unseals the master key. Dev mode's software HSM: the sealed keyring and its one unseal
# share in the data directory. In production: the PKCS#11 HSM (or its backup token), or the
# sealed keyring plus a quorum of custodians' unseal shares.
mkdir -p "$escrow/hsm"
cp -p "$site_a/store/hsm/sealed.json" "$escrow/hsm/sealed.json"
cp -p "$site_a/store/dev-unseal-share" "$escrow/dev-unseal-share"
say "backup $backup_bytes bytes; master-key material and the zone key escrowed"

# ---- the primary site is lost ----------------------------------------------------------------------
step="destroy the primary site"
kill -KILL "$store_pid" "$n1_pid" "$n2_pid"
wait "$store_pid" "$n1_pid" "$n2_pid" 2>/dev/null || true
rm -rf "$site_a"
if curl -s -o /dev/null --max-time 2 "http://$n1/healthz"; then fail "a primary node still answers"; fi
say "primary site destroyed: store and nodes killed (SIGKILL), their data directories removed"

# ---- the archive alone restores nothing ------------------------------------------------------------
step="restore without the master key"
mkdir -m 700 "$site_b/no-hsm"
if "$KMS_BIN" restore --in "$archive" --data-dir "$site_b/no-hsm" 2>"$work/no-hsm.err"; then
  fail "the archive restored without the HSM that holds the master key"
fi
cat "$work/no-hsm.err"
[ ! -e "$site_b/no-hsm/kms.db" ] || fail "a refused restore wrote kms.db"
refusal=$(grep -o 'restore_no_keyring' "$work/no-hsm.err" | head -n 1) \
  || fail "restore without the HSM failed for another reason: $(cat "$work/no-hsm.err")"
# The sealed keyring without its unseal share does not open either (shares are read from stdin).
mkdir -p "$site_b/no-share/hsm"
chmod 700 "$site_b/no-share" "$site_b/no-share/hsm"
cp -p "$escrow/hsm/sealed.json" "$site_b/no-share/hsm/sealed.json"
if "$KMS_BIN" restore --in "$archive" --data-dir "$site_b/no-share" </dev/null 2>"$work/no-share.err"; then
  fail "the archive restored with the sealed keyring but no unseal share"
fi
cat "$work/no-share.err"
[ ! -e "$site_b/no-share/kms.db" ] || fail "a refused restore wrote kms.db"
say "the archive without the master key restores nothing ($refusal; the sealed keyring without its share: refused too)"

# ---- recovery site: restore, a store, a new service node ---------------------------------------
step="restore"
mkdir -p "$site_b/store/hsm"
chmod 700 "$site_b/store" "$site_b/store/hsm"
cp -p "$escrow/hsm/sealed.json" "$site_b/store/hsm/sealed.json"
cp -p "$escrow/dev-unseal-share" "$site_b/store/dev-unseal-share"
restore_started=$(now)
"$KMS_BIN" restore --in "$archive" --data-dir "$site_b/store"
restore_seconds=$(elapsed "$restore_started" "$(now)")

step="recovery site start"
store_config "$site_b/store.toml" "$site_b/store"
start store-b --config "$site_b/store.toml" --dev --dev-root-token "$ROOT_TOKEN"
store=$started_addr
store_internal=$started_internal
"$KMS_BIN" zone import --zone "$ZONE" --data-dir "$site_b/n3" --key "$escrow/$ZONE.key.pem"
node_config "$site_b/n3.toml" "$site_b/n3" 127.0.0.5 n3 "$store_internal"
start n3 --config "$site_b/n3.toml"
n3=$started_addr
first=$(head -n 1 "$pairs" | cut -f 2)
last=$(tail -n 1 "$pairs" | cut -f 2)
wait_serving "$n3" "$app_token" "$first" || fail "the recovery node does not decrypt the first record"
wait_serving "$n3" "$app_token" "$last" || fail "the recovery node does not decrypt the last record"
recovered_seconds=$(elapsed "$restore_started" "$(now)")
say "recovery site up in $recovered_seconds s from the restore: store $store, new node $n3"

# ---- every record decrypts -----------------------------------------------------------------------
step="decrypt"
ok=0
bad=0
while IFS=$'\t' read -r plaintext ciphertext; do
  if got=$(decrypt "$n3" "$app_token" "$ciphertext") && [ "$got" = "$plaintext" ]; then
    ok=$((ok + 1))
  else
    bad=$((bad + 1))
    echo "mismatch: $ciphertext"
  fi
done <"$pairs"
[ "$bad" -eq 0 ] || fail "$ok/$records records decrypt after the restore ($bad do not)"
[ "$ok" -eq "$records" ] || fail "$ok/$records records checked"
# The recovered cluster also serves new work, under the version the store rotated to.
[[ "$(encrypt "$n3" "$app_token" "$probe")" == kms:00002:* ]] \
  || fail "the recovery node does not encrypt under version 2"

verdict="dr-drill: PASS: $ok/$records records decrypt after losing the primary site (backup $backup_bytes bytes, restore $restore_seconds s)"
