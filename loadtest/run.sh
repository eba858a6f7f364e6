#!/usr/bin/env bash
# Builds the KMS and the load tools, starts the KMS (dev mode, a fresh data directory) and a bare
# actix-web JSON echo server as the baseline, runs every scenario, and writes docs/benchmarks.md
# and docs/benchmarks.png.
#
#   loadtest/run.sh           the full run (about 15 minutes on 2 cores)
#   loadtest/run.sh --quick   short runs, to check that everything works (about 3 minutes)
#   loadtest/run.sh --wrk     only the wrk rounds (for trying a change); writes the report under
#                             target/loadtest/ instead of docs/
#   loadtest/run.sh --client  only the Rust client's benchmark (naive vs automatic
#                             batching vs envelope with cache); replaces its section of
#                             docs/benchmarks.md and leaves the rest (about 2 minutes)
#
# Throughput is reported as a ratio to the echo server measured in the same round, right before
# each scenario, with the same wrk settings: the machine is shared and noisy, so absolute figures
# from different moments are not comparable, ratios taken side by side are. Each figure is the
# median over the rounds.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}          # wrk rounds (each: echo then scenario, for every scenario)
DURATION=${DURATION:-8}      # seconds per wrk run
CONNECTIONS=${CONNECTIONS:-64}
RATE_SECONDS=${RATE_SECONDS:-20}
OVERLOAD_SECONDS=${OVERLOAD_SECONDS:-120}
GOOSE_SECONDS=${GOOSE_SECONDS:-10}
CLIENT_TASKS=${CLIENT_TASKS:-1000}    # concurrent tasks of the client benchmark
CLIENT_SECONDS=${CLIENT_SECONDS:-5}   # seconds per client and round
CLIENT_ROUNDS=${CLIENT_ROUNDS:-5}
CLIENT_NOTE=${CLIENT_NOTE:-}          # what else ran on the machine, printed with the client's figures
HTTP_WORKERS=${HTTP_WORKERS:-2}
# KMS_ARGS="--crypto-workers 1": extra `kms serve` flags, for trying a setting.
# KMS_BIN=path/to/kms: measure another build of the server (an earlier commit's release binary,
# say) against the same echo server and load tools, without building this tree's; default: the
# one this run builds.
KMS_BIN_GIVEN=${KMS_BIN:+1}
KMS_BIN=${KMS_BIN:-target/release/kms}
QUICK=0
WRK_ONLY=0
CLIENT_ONLY=0
case "${1:-}" in
  --quick) QUICK=1 ROUNDS=1 DURATION=3 RATE_SECONDS=5 OVERLOAD_SECONDS=15 GOOSE_SECONDS=4 CLIENT_SECONDS=2 CLIENT_ROUNDS=1 ;;
  --wrk) WRK_ONLY=1 ;;
  --client) CLIENT_ONLY=1 ;;
  "") ;;
  *) echo "usage: loadtest/run.sh [--quick|--wrk|--client]" >&2; exit 2 ;;
esac

step() { printf '\n==> %s\n' "$*" >&2; }

scripts/deps.sh --loadtest
step "build (release)"
[ -n "$KMS_BIN_GIVEN" ] || cargo build --release --locked --bin kms -p kms
cargo build --release --locked -p kms-loadtest

work=$(mktemp -d)
results="$work/results.jsonl"
reports=target/loadtest
rm -rf "$reports" && mkdir -p "$reports/goose"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kms_port=$(free_port)
echo_port=$(free_port)
kms_url="http://127.0.0.1:$kms_port"
echo_url="http://127.0.0.1:$echo_port"
root=loadtest-root-token
# Overload opens thousands of connections.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

kms_pid=""
echo_pid=""
stop() {
  [ -n "$kms_pid" ] && kill "$kms_pid" 2>/dev/null && wait "$kms_pid" 2>/dev/null
  [ -n "$echo_pid" ] && kill "$echo_pid" 2>/dev/null && wait "$echo_pid" 2>/dev/null
  kms_pid="" echo_pid=""
}
trap 'stop; rm -rf "$work"' EXIT

wait_up() {
  for _ in $(seq 1 200); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "run.sh: $1 did not come up" >&2
  cat "$work/kms.log" >&2 || true
  exit 1
}

start_kms() {
  KMS_DATA_DIR="$work/data" "$KMS_BIN" serve --dev --dev-root-token "$root" \
    --listen "127.0.0.1:$kms_port" --http-workers "$HTTP_WORKERS" ${KMS_ARGS:-} "$@" >"$work/kms.log" 2>&1 &
  kms_pid=$!
  wait_up "$kms_url/readyz"
}

api() { # method path [body]: the admin API with the root token; prints the body, fails on 4xx/5xx
  curl -sS --fail-with-body -X "$1" "$kms_url$2" -H "Authorization: Bearer $root" -H 'Content-Type: application/json' \
    ${3:+-d "$3"}
}

step "start the KMS and the echo server"
start_kms
target/release/kms-echo "127.0.0.1:$echo_port" "$HTTP_WORKERS" >"$work/echo.log" 2>&1 &
echo_pid=$!
wait_up "$echo_url/"

api POST /v1/admin/keys '{"name":"lt-aes"}' >/dev/null
api POST /v1/admin/keys '{"name":"lt-ecdsa","algorithm":"ecdsa-p256"}' >/dev/null
api POST /v1/admin/keys '{"name":"lt-rsa","algorithm":"rsa-3072"}' >/dev/null
token=$(api POST /v1/admin/apps '{"name":"loadtest"}' | jq -r .token)
# datakey: the client benchmark's envelope encryption.
api POST /v1/admin/keys/lt-aes/grants '{"app":"loadtest","operations":["encrypt","decrypt","datakey"]}' >/dev/null
for key in lt-ecdsa lt-rsa; do
  api POST "/v1/admin/keys/$key/grants" '{"app":"loadtest","operations":["sign"]}' >/dev/null
done
plaintext=$(head -c 64 /dev/zero | tr '\0' 'B' | base64 -w0)
ciphertext=$(curl -sf "$kms_url/v1/keys/lt-aes/encrypt" -H "Authorization: Bearer $token" \
  -d "{\"plaintext\":\"$plaintext\"}" | jq -r .ciphertext)

export WRK_DIR="$PWD/loadtest/wrk" WRK_OUT="$results" KMS_TOKEN="$token" KMS_CIPHERTEXT="$ciphertext"

machine_line() {
  printf '%s; %s cores; %s' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
    "$(nproc)" "$(uname -r)"
}

client_bench() { # the Rust client, against the running KMS; replaces its section of docs/benchmarks.md
  step "the Rust client: naive vs automatic batching vs envelope with cache ($CLIENT_TASKS tasks, $CLIENT_ROUNDS rounds of ${CLIENT_SECONDS}s)"
  target/release/kms-client-bench --url "$kms_url" --token "$token" --key lt-aes \
    --tasks "$CLIENT_TASKS" --seconds "$CLIENT_SECONDS" --rounds "$CLIENT_ROUNDS" \
    --markdown docs/benchmarks.md --machine "$(machine_line)" --note "$CLIENT_NOTE" \
    --command "CLIENT_TASKS=$CLIENT_TASKS CLIENT_SECONDS=$CLIENT_SECONDS CLIENT_ROUNDS=$CLIENT_ROUNDS loadtest/run.sh ${1:---client}"
}

if [ "$CLIENT_ONLY" = 1 ]; then
  client_bench >>"$results"
  stop
  sed -n '/^<!-- client-bench -->/,/^<!-- \/client-bench -->/p' docs/benchmarks.md
  exit 0
fi

wrk_run() { # label script key items round url [connections] [seconds]
  WRK_LABEL=$1 WRK_ITEMS=$4 WRK_ROUND=$5 KMS_KEY=$3 \
    wrk -t1 -c"${7:-$CONNECTIONS}" -d"${8:-$DURATION}s" --latency -s "loadtest/wrk/$2" "$6" >/dev/null
}

# scenario label, wrk script, key, items per request
scenarios=(
  "encrypt encrypt.lua lt-aes 1"
  "transit-encrypt transit-encrypt.lua lt-aes 1"
  "decrypt decrypt.lua lt-aes 1"
  "mixed mixed.lua lt-aes 1"
  "batch100 batch100.lua lt-aes 100"
  "sign-ecdsa sign.lua lt-ecdsa 1"
  "sign-rsa3072 sign.lua lt-rsa 1"
)
for round in $(seq 1 "$ROUNDS"); do
  for s in "${scenarios[@]}"; do
    read -r label script key items <<<"$s"
    # ONLY="encrypt decrypt": just those scenarios (with --wrk, for trying a change).
    [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $label "* ]] && continue
    step "wrk round $round: $label (and the echo server before it)"
    wrk_run "echo:$label" echo.lua - 1 "$round" "$echo_url"
    wrk_run "$label" "$script" "$key" "$items" "$round" "$kms_url"
  done
done

if [ "$WRK_ONLY" = 1 ]; then
  stop
  target/release/kms-report "$results" "$reports/benchmarks.md" "$reports/benchmarks.png" \
    --settings "wrk only: -t1 -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds"
  cp "$results" "$reports/results.jsonl"
  sed -n '/^| scenario/,/^$/p' "$reports/benchmarks.md"
  exit 0
fi

rate() { # label rate class...
  local label=$1 r=$2
  shift 2
  target/release/kms-rate "$kms_url" "$token" "$r" "$RATE_SECONDS" "$label" "$@" >>"$results"
}
aes_class="aes-encrypt,95,/v1/keys/lt-aes/encrypt,{\"plaintext\":\"$plaintext\"}"
rsa_class='rsa3072-sign,5,/v1/keys/lt-rsa/sign,{"input":"n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=","prehashed":true}'
step "constant rate: encrypt at 20,000/s"
rate "encrypt@20000" 20000 "aes-encrypt,1,/v1/keys/lt-aes/encrypt,{\"plaintext\":\"$plaintext\"}"
step "constant rate: 4,000/s, 95% AES encrypt and 5% RSA-3072 sign, two lanes"
rate "mixed@4000 two lanes" 4000 "$aes_class" "$rsa_class"

step "goose scenarios (${GOOSE_SECONDS}s each; HTML and JSON reports in $reports/goose)"
for scenario in encrypt decrypt mixed batch100 signecdsa signrsa; do
  KMS_KEY=lt-aes KMS_ECDSA_KEY=lt-ecdsa KMS_RSA_KEY=lt-rsa \
    target/release/kms-loadtest --host "$kms_url" --users 32 --increase-rate 32 \
    --run-time "${GOOSE_SECONDS}s" --scenarios "$scenario" --quiet --no-print-metrics \
    --report-file "$reports/goose/$scenario.html" --report-file "$reports/goose/$scenario.json" \
    >"$work/goose-$scenario.log" 2>&1 || { cat "$work/goose-$scenario.log" >&2; exit 1; }
  echo "{\"kind\":\"goose\",\"scenario\":\"$scenario\",\"json\":\"$reports/goose/$scenario.json\"}" >>"$results"
done

step "overload: ${OVERLOAD_SECONDS}s of 4,000 connections signing with RSA-3072 and 1,000 encrypting"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$kms_pid/status"; }
(
  while kill -0 "$kms_pid" 2>/dev/null; do
    echo "$(date +%s.%N) $(rss)"
    sleep 1
  done
) >"$work/rss.txt" &
sampler=$!
rss_before=$(rss)
wrk_run "overload:rsa-sign" sign.lua lt-rsa 1 0 "$kms_url" 4000 "$OVERLOAD_SECONDS" &
flood=$!
wrk_run "overload:encrypt" encrypt.lua lt-aes 1 0 "$kms_url" 1000 "$OVERLOAD_SECONDS"
wait "$flood"
sleep 2
rss_after=$(rss)
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
step "recovery: encrypt and echo again"
wrk_run "echo:recovered-encrypt" echo.lua - 1 0 "$echo_url"
wrk_run "recovered-encrypt" encrypt.lua lt-aes 1 0 "$kms_url"
awk -v before="$rss_before" -v after="$rss_after" '
  NR == 1 { t0 = $1 } { s = s sep "[" sprintf("%.1f", $1 - t0) "," $2 "]"; sep = "," }
  END { printf "{\"kind\":\"rss\",\"before_kb\":%d,\"after_kb\":%d,\"samples\":[%s]}\n", before, after, s }
' "$work/rss.txt" >>"$results"

step "constant rate again with one shared lane (--slow-workers 0), for contrast"
kill "$kms_pid" && wait "$kms_pid" 2>/dev/null || true
start_kms --slow-workers 0
rate "mixed@4000 one lane" 4000 "$aes_class" "$rsa_class"
stop

step "in-process: criterion, the pool bench"
cargo bench --locked -p kms-benches --bench pool -- --warm-up-time 1 --measurement-time 4 \
  >"$work/bench.log" 2>&1 || { cat "$work/bench.log" >&2; exit 1; }
for id in encrypt-64B/inline encrypt-64B/pool-round-trip \
  encrypt-64B-concurrent/pool-coalesced-1000-in-flight encrypt-64B-batch-100/pool-round-trip; do
  jq -c --arg id "$id" '{kind:"bench", id:$id, median_ns:.median.point_estimate}' \
    "target/criterion/$id/new/estimates.json" >>"$results"
done

step "report"
cp "$results" "$reports/results.jsonl"
machine=$(printf '%s; %s cores; %s; load average before the run: %s' \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(nproc)" \
  "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)")
target/release/kms-report "$results" docs/benchmarks.md docs/benchmarks.png \
  --machine "$machine" --quick "$QUICK" \
  --settings "wrk -t1 -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds; $HTTP_WORKERS HTTP workers on both servers; constant-rate runs ${RATE_SECONDS}s; overload ${OVERLOAD_SECONDS}s"
# The client's section goes in after the report (which rewrites the file); the KMS restarts on
# the same data directory (its keys and the app's token).
start_kms
client_bench "$([ "$QUICK" = 1 ] && echo --quick)" >>"$reports/results.jsonl"
stop
step "wrote docs/benchmarks.md and docs/benchmarks.png (raw results: $reports/results.jsonl)"
