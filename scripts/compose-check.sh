#!/usr/bin/env bash
# The compose example (deploy/compose/, docs/packaging.md) without containers: the files
# deploy/compose/setup.sh writes, run as local processes on 127.0.10.x — the store on
# PostgreSQL, the manage node, deploy/compose/bootstrap.sh (zone-a's key made, imported and
# registered, run twice), two service nodes of zone-a and nginx with the generated server block.
# Then it checks what the example promises: the admin API through the manage node only, the
# data plane through nginx with the client's address seen by the nodes (a key limited to
# 127.0.0.1/32 serves a client on 127.0.0.1 through nginx and refuses one on 127.0.0.9), each
# node decrypts what the other encrypted, and the console answers on the manage node.
# Prints `compose-check: PASS` or `compose-check: FAIL: why` (exit 1).
# Environment: KMS_BIN (default target/release/kms, built here), KMS_TEST_POSTGRES (a PostgreSQL
# URL whose server may create a database; default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"

if [ -z "${KMS_BIN:-}" ]; then
  cargo build --release --bin kms --locked >&2
  KMS_BIN=target/release/kms
fi
KMS_BIN=$(cd "$(dirname "$KMS_BIN")" && pwd)/$(basename "$KMS_BIN")
for tool in curl jq nginx openssl psql; do
  command -v "$tool" >/dev/null || { echo "compose-check: FAIL: $tool is not installed"; exit 1; }
done
admin_url=${KMS_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
db=kms_compose_$$
work=$(mktemp -d "${TMPDIR:-/tmp}/kms-compose.XXXXXX")
pids=()
verdict=
finish() {
  local rc=$?
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  if [ -z "$verdict" ]; then verdict="compose-check: FAIL: stopped (exit code $rc)"; fi
  if [ "$verdict" != "compose-check: PASS" ]; then
    for f in "$work"/*.log "$work"/nginx/error.log; do [ -s "$f" ] && { echo "---- $f"; tail -n 30 "$f"; }; done >&2
    rc=1
  fi
  echo "$verdict"
  rm -rf "$work"
  exit "$rc"
}
trap finish EXIT
fail() { verdict="compose-check: FAIL: $*"; exit 1; }

psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null || fail "cannot create database $db at $admin_url"
KMS_COMPOSE_POSTGRES="${admin_url%/*}/$db" deploy/compose/setup.sh --native "$work/gen" >/dev/null
gen=$work/gen
# The store's secrets for the store alone (as compose.yaml's env_file): KMS_DEV_ROOT_TOKEN in any
# other node's environment is refused (it needs --dev).
set -a; . "$gen/admin.env"; set +a
export KMS_LOG=warn

start() { # NAME [ARGS]: kms serve with NAME's kms.toml (and the store with store.env)
  local name=$1 env=()
  shift
  [ "$name" != store ] || mapfile -t env <"$gen/store.env"
  env "${env[@]}" "$KMS_BIN" serve --config "$gen/$name/kms.toml" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
}
ready() { # URL
  local i
  for i in $(seq 200); do
    "$KMS_BIN" ready --addr "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "$1 did not become ready"
}
# call METHOD URL [JSON] -> body; the status code goes to $work/status (call may run in a
# command substitution's subshell), read by expect
call() {
  local data=() STATUS
  [ $# -lt 3 ] || data=(--data "$3")
  STATUS=$(curl -sS -o "$work/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer ${TOKEN:-$KMS_TOKEN}" \
    -H 'Content-Type: application/json' ${IFACE:+--interface "$IFACE"} "${data[@]}" "$2") || STATUS=000
  echo "$STATUS" >"$work/status"
  cat "$work/body"
}
status() { cat "$work/status"; }
expect() { # STATUS WHAT
  [ "$(status)" = "$1" ] || fail "$2: expected $1, got $(status) $(cat "$work/body")"
}

store=http://127.0.10.2:8200 manage=http://127.0.10.3:8200
start store --dev
ready "$store"
start manage
ready "$manage"

zone_env=(KMS="$KMS_BIN" KMS_ADDR="$manage" NODE_A1_DATA="$gen/node-a1/data" NODE_A2_DATA="$gen/node-a2/data")
env "${zone_env[@]}" sh deploy/compose/bootstrap.sh >"$work/bootstrap.log" 2>&1 || fail "bootstrap.sh: $(tail -n 3 "$work/bootstrap.log")"
env "${zone_env[@]}" sh deploy/compose/bootstrap.sh >>"$work/bootstrap.log" 2>&1 || fail "bootstrap.sh a second time: $(tail -n 3 "$work/bootstrap.log")"
grep -q 'already holds a zone key' "$work/bootstrap.log" && grep -q 'zone-a is registered' "$work/bootstrap.log" \
  || fail "bootstrap.sh's second run did not leave the zone alone: $(cat "$work/bootstrap.log")"

start node-a1
start node-a2
ready http://127.0.10.11:8200
ready http://127.0.10.12:8200

mkdir -p "$work/nginx"
n=$work/nginx
user=""; [ "$(id -u)" = 0 ] && user="user root;"
cat >"$n/nginx.conf" <<CONF
$user
worker_processes 1;
pid $n/nginx.pid;
error_log $n/error.log warn;
events { worker_connections 256; }
http {
  access_log $n/access.log;
  client_body_temp_path $n/client_body; proxy_temp_path $n/proxy;
  fastcgi_temp_path $n/fastcgi; uwsgi_temp_path $n/uwsgi; scgi_temp_path $n/scgi;
  include $gen/nginx-zone-a.conf;
}
CONF
nginx -t -q -c "$n/nginx.conf" -p "$n" -e "$n/error.log" || fail "nginx -t refused the generated server block"
nginx -c "$n/nginx.conf" -p "$n" -e "$n/error.log" -g 'daemon off;' >"$work/nginx.log" 2>&1 &
pids+=($!)
zone=http://127.0.10.10:8200
ready "$zone"

# The admin API through the manage node; the zone's nodes do not serve it.
call POST "$manage/v1/admin/keys" '{"name":"cards"}' >/dev/null; expect 201 "create a key through the manage node"
call POST "$manage/v1/admin/keys/cards/policy" '{"allowed_cidrs":["127.0.0.1/32"]}' >/dev/null
expect 200 "limit the key to 127.0.0.1/32"
app=$(call POST "$manage/v1/admin/apps" '{"name":"checkout"}'); expect 201 "create an app"
call POST "$manage/v1/admin/keys/cards/grants" '{"app":"checkout","operations":["encrypt","decrypt"]}' >/dev/null
expect 200 "grant the app"
call GET "$zone/v1/admin/keys" >/dev/null
[ "$(status)" != 200 ] || fail "the zone's address served the admin API"

TOKEN=$(jq -r .token <<<"$app")
# The nodes learn the key and the app from the store's feed: retry until they serve.
for _ in $(seq 100); do
  ct=$(call POST "$zone/v1/keys/cards/encrypt" '{"plaintext_utf8":"4111111111111111"}' | jq -r '.ciphertext // empty')
  [ -n "$ct" ] && break
  sleep 0.2
done
[ -n "$ct" ] || fail "encrypt through nginx: $(status) $(cat "$work/body")"
for node in 127.0.10.11 127.0.10.12; do
  IFACE=127.0.0.1 call POST "http://$node:8200/v1/keys/cards/decrypt" "{\"ciphertext\":\"$ct\"}" >/dev/null
  # Straight to a node, the caller is its TCP peer (127.0.0.1 here, allowed).
  expect 200 "decrypt on $node"
  [ "$(jq -r .plaintext "$work/body")" = "$(printf 4111111111111111 | base64)" ] || fail "decrypt on $node: wrong plaintext"
done
IFACE=127.0.0.9 call POST "$zone/v1/keys/cards/encrypt" '{"plaintext_utf8":"x"}' >/dev/null
expect 403 "a client outside the key's range, through nginx"
curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.9 -H "Authorization: Bearer $TOKEN" \
  -H 'X-Forwarded-For: 127.0.0.1' -d '{"plaintext_utf8":"x"}' "$zone/v1/keys/cards/encrypt" >"$work/forged"
[ "$(cat "$work/forged")" = 403 ] || fail "a forged X-Forwarded-For through nginx got $(cat "$work/forged")"

# The console on the manage node.
[ "$(curl -s -o /dev/null -w '%{http_code}' "$manage/ui/login")" = 200 ] || fail "the console's login page on the manage node"

verdict="compose-check: PASS"
