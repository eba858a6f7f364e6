#!/usr/bin/env bash
# Runs the shell blocks of README.md exactly as written, so that a broken snippet fails CI.
#
# Every ```sh block of the README is run, unless the line right above it is
# `<!-- not-run: why -->` (a block that needs what a test machine cannot give it: a PKCS#11 token
# and custodians, a TLS listener with your certificates, twelve minutes). A fence without a
# language, or a shell block tagged anything but `sh`, fails the run: every shell block is either
# run or says why not. The blocks:
#
# - `<!-- run-command -->`: the README's run command. It starts the dev server the other blocks
#   talk to, in a temporary data directory, on a free port (through KMS_DATA_DIR and KMS_LISTEN,
#   which `kms serve` reads).
# - `<!-- walkthrough -->`: the five-minute walkthrough, pasted twice into the same server (it
#   must survive that), each time followed by checks of what it produced.
# - `<!-- access-walkthrough -->`: the access-control walkthrough, once (it ends the root token),
#   followed by its checks.
# - every other `sh` block, in order, against a second, fresh dev server started with the same
#   command, each in its own shell (`bash -euo pipefail`) and process group (anything it leaves
#   running in the background is stopped), with KMS_ADDR and KMS_DATA_DIR naming that server and
#   TMPDIR inside this run's work directory. `<!-- expect: REGEX -->` right below a block's closing
#   fence is an extended regex its output must match.
#
# A block of docs/*.md with `<!-- run: ... -->` right above it is run the same way, after the
# README's (docs/hsm.md's SoftHSM2 recipe).
#
# Addresses `127.0.0.1:82NN` in the blocks become free ports of this run. The blocks may not leave
# files in the repository (checked with git status).
set -euo pipefail
cd "$(dirname "$0")/.."

readme=README.md
work=$(mktemp -d)
blocks=$work/blocks
mkdir -p "$blocks" "$work/tmp"

# Splits the README into $blocks/NN.{sh,kind,line[,expect,why]}; refuses unmarked fences.
python3 - "$readme" "$blocks" <<'PY'
import os, re, sys
readme, out = sys.argv[1], sys.argv[2]
lines = open(readme).read().split("\n")
errors, n, i = [], 0, 0
shells = {"bash", "shell", "console", "zsh", "shell-session"}
while i < len(lines):
    m = re.match(r"^```(\S*)\s*$", lines[i])
    if not m:
        i += 1
        continue
    lang, start = m.group(1), i
    j = i + 1
    while j < len(lines) and lines[j] != "```":
        j += 1
    if j == len(lines):
        errors.append(f"{readme}:{start + 1}: a fenced block that never closes")
        break
    body = "\n".join(lines[start + 1:j]) + "\n"
    above = lines[start - 1].strip() if start > 0 else ""
    below = lines[j + 1].strip() if j + 1 < len(lines) else ""
    i = j + 1
    if lang == "":
        errors.append(f"{readme}:{start + 1}: a fence without a language: say sh (run, or "
                      "<!-- not-run: why --> above it), toml, text, ...")
        continue
    if lang in shells:
        errors.append(f"{readme}:{start + 1}: a ```{lang} block: shell blocks are ```sh")
        continue
    if lang != "sh":
        continue
    kind = {"<!-- run-command -->": "run-command", "<!-- walkthrough -->": "walkthrough",
            "<!-- access-walkthrough -->": "access"}.get(above, "run")
    why = None
    nr = re.match(r"^<!-- not-run:(.*)-->$", above)
    if nr:
        why = nr.group(1).strip()
        if not why:
            errors.append(f"{readme}:{start}: <!-- not-run: --> must say why")
        kind = "not-run"
    elif above.startswith("<!--") and kind == "run" and above != "<!-- cli-walkthrough -->":
        errors.append(f"{readme}:{start}: unknown marker above a sh block: {above}")
    n += 1
    base = os.path.join(out, f"{n:02d}")
    open(base + ".sh", "w").write(body)
    open(base + ".kind", "w").write(kind)
    open(base + ".line", "w").write(str(start + 1))
    if why:
        open(base + ".why", "w").write(why)
    ex = re.match(r"^<!-- expect: (.*) -->$", below)
    if ex:
        open(base + ".expect", "w").write(ex.group(1))
kinds = [open(os.path.join(out, f)).read() for f in sorted(os.listdir(out)) if f.endswith(".kind")]
for k in ("run-command", "walkthrough", "access"):
    if kinds.count(k) != 1:
        errors.append(f"{readme}: expected one <!-- {k} --> sh block, found {kinds.count(k)}")
for e in errors:
    print("walkthrough: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

block_of() { # KIND: the one block of that kind
  local f
  for f in "$blocks"/*.kind; do
    [ "$(cat "$f")" = "$1" ] && { cat "${f%.kind}.sh"; return; }
  done
}
run_cmd=$(block_of run-command | grep -E '^cargo ')
[ -n "$run_cmd" ] || { echo "walkthrough: no cargo command in the run-command block" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Every 127.0.0.1:82NN in a block becomes a free port of this run; 8200 is the current server's.
declare -A ports=()
localize() { # TEXT on stdin
  local text addr
  text=$(cat)
  for addr in $(grep -oE '127\.0\.0\.1:82[0-9][0-9]' <<<"$text" | sort -u); do
    if [ "$addr" = 127.0.0.1:8200 ]; then
      text=${text//$addr/$KMS_LISTEN}
    else
      [ -n "${ports[$addr]:-}" ] || ports[$addr]=$(free_port)
      text=${text//$addr/127.0.0.1:${ports[$addr]}}
    fi
  done
  printf '%s\n' "$text"
}

server=
stop_server() {
  [ -n "$server" ] || return 0
  kill -TERM -- "-$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

start_server() { # NAME: the README's run command on a fresh data directory and a free port
  export KMS_DATA_DIR="$work/$1-data" KMS_LISTEN="127.0.0.1:$(free_port)"
  export KMS_ADDR="http://$KMS_LISTEN"
  log="$work/$1.log"
  echo "walkthrough: $run_cmd  (data $KMS_DATA_DIR, listening $KMS_LISTEN)"
  # Its own session, so that stopping it stops cargo and the kms process under it as well.
  setsid bash -c "$run_cmd" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 1 1200); do
    curl -sf "http://$KMS_LISTEN/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || { cat "$log"; echo "walkthrough: server exited" >&2; exit 1; }
    sleep 0.5
  done
  cat "$log"; echo "walkthrough: server not ready" >&2; exit 1
}

failed() { # WHAT OUTPUT
  cat "$2"; echo "--- server log"; cat "$log"
  echo "walkthrough: FAILED: $1" >&2
  exit 1
}

# Build first, so that the waits below are for the server, not for a cold release build.
cargo build --release --locked --bin kms
tree_before=$(git status --porcelain)
export TMPDIR="$work/tmp"

# ---- the walkthroughs, on the first server --------------------------------------------------
start_server first
script=$(block_of walkthrough | localize)
access=$(block_of access | localize)
checks='
fail() { echo "walkthrough check failed: $*" >&2; exit 1; }
[[ "$CT" == kms:00001:* ]] || fail "first ciphertext is not version 1: $CT"
[[ "$CT2" == kms:00002:* ]] || fail "ciphertext after rotation is not version 2: $CT2"
[ "$(decrypt "$CT" order-1001)" = 4111111111111111 ] || fail "old ciphertext does not decrypt after rotation"
[ "$(decrypt "$CT2" order-1002)" = 5500000000000004 ] || fail "new ciphertext does not decrypt"
'
access_checks='
fail() { echo "access walkthrough check failed: $*" >&2; exit 1; }
[ "$(jq -r .status grant.json)" = executed ] || fail "the grant did not run after two approvals"
[ "$(jq -r .status export.json)" = executed ] || fail "the export did not run after two approvals"
for person in sam kate ken kim kai ada; do
  grep -Eq "totp_secret|password" "$person.json" && fail "creating $person handed out their credentials"
done
[ "$(KMS_TOKEN=$SAM kms approvals list --output json | jq -r --arg id "$PUPPET" ".approvals[] | select((.id | tostring) == \$id) | .status")" = pending ] \
  || fail "the second account of Sam did not stay a pending request"
grep -q "Rekeyed: 2 shares, 2 to unseal" rekey.txt || fail "the rekey did not complete"
grep -Eq "^[0-9a-zA-Z+/=_-]{8,}" <(kms hsm decrypt --private-key kai-private.pem < kai.share) \
  || fail "Kai cannot open his own share"
kms hsm decrypt --private-key kim-private.pem < kai.share >/dev/null 2>&1 \
  && fail "Kim opened the share of Kai"
[ "$(kms hsm decrypt --private-key kim-private.pem < kim.share)" != "$(cat "$DATA/dev-unseal-share")" ] \
  || fail "the old share is still the share"
[ "$(wc -c < transport.key)" = 32 ] || fail "the exported key does not open with the requester private key"
KMS_TOKEN=$ADA kms audit verify | grep -q "audit log OK: .* 1 seals" || fail "the audit log does not verify"
grep -q "\"action\":\"export_key\"" audit.jsonl || fail "the export is not in the exported audit log"
grep -q "\"code\":\"forbidden\"" audit.jsonl || fail "the refusal is not in the exported audit log"
# The listing the auditor reads shows every step, not only the few entries of the key.
listed=$(KMS_TOKEN=$ADA kms audit list --since "$SINCE" --limit 500 --output json | jq ".entries | length")
[ "$listed" -ge 30 ] || fail "the auditor lists $listed entries, not every step"
for action in create_user enrol login revoke_root_tokens create_key grant approve export_key \
  collect_approval_result rekey_init rekey_update; do
  KMS_TOKEN=$ADA kms audit list --since "$SINCE" --limit 500 > listing.txt
  grep -q " $action " listing.txt || fail "the auditor listing lacks $action"
done
KMS_TOKEN=root "$KMS_CLI" key list >/dev/null 2>&1 && fail "the revoked root token still works"
true
'
out=$work/out.txt
: >"$out"
for paste in 1 2; do
  echo "=== walkthrough, paste $paste" >>"$out"
  bash -euo pipefail -c "$script"$'\n'"$checks" >>"$out" 2>&1 || failed "walkthrough (paste $paste)" "$out"
done
echo "=== access-control walkthrough" >>"$out"
bash -euo pipefail -c "$access"$'\n'"$access_checks" >>"$out" 2>&1 || failed "access-control walkthrough" "$out"
stop_server

# ---- every other block, on a fresh server ----------------------------------------------------
start_server second
ran=0 skipped=0
for kind_file in "$blocks"/*.kind; do
  base=${kind_file%.kind}
  line=$(cat "$base.line")
  case $(cat "$kind_file") in
    not-run)
      echo "=== $readme:$line not run: $(cat "$base.why")" >>"$out"
      skipped=$((skipped + 1))
      continue ;;
    run) ;;
    *) continue ;;
  esac
  block=$(localize <"$base.sh")
  echo "=== $readme:$line" >>"$out"
  setsid timeout 600 bash -euo pipefail -c "$block" >"$base.out" 2>&1 </dev/null &
  pid=$!
  status=0
  wait "$pid" || status=$?
  kill -TERM -- "-$pid" 2>/dev/null || true   # whatever the block left running
  cat "$base.out" >>"$out"
  [ "$status" = 0 ] || failed "the block at $readme:$line exited with $status" "$out"
  if [ -f "$base.expect" ] && ! grep -Eq "$(cat "$base.expect")" "$base.out"; then
    failed "the block at $readme:$line did not print /$(cat "$base.expect")/" "$out"
  fi
  ran=$((ran + 1))
done
stop_server

# ---- the docs' blocks marked `<!-- run: ... -->` (docs/hsm.md's SoftHSM2 recipe) ---------------
for doc in docs/*.md; do
  n=0
  while IFS= read -r -d '' block; do
    n=$((n + 1))
    echo "=== $doc, block $n marked run" >>"$out"
    printf '%s' "$block" | localize >"$work/doc.sh"
    # No server of this run is theirs: the block configures its own.
    env -u KMS_LISTEN -u KMS_DATA_DIR -u KMS_ADDR setsid timeout 600 bash -euo pipefail "$work/doc.sh" \
      >"$work/doc.out" 2>&1 </dev/null &
    pid=$!
    status=0
    wait "$pid" || status=$?
    kill -TERM -- "-$pid" 2>/dev/null || true
    cat "$work/doc.out" >>"$out"
    [ "$status" = 0 ] || failed "block $n marked run in $doc exited with $status" "$out"
    ran=$((ran + 1))
  done < <(awk '/^<!-- run:.*-->$/{m=1; next} m && /^```sh$/{on=1; m=0; next} {m=0}
                on && /^```$/{on=0; printf "%c", 0; next} on' "$doc")
done

[ "$(git status --porcelain)" = "$tree_before" ] || {
  git status --porcelain
  failed "the README's blocks left files in the repository" "$out"
}
cat "$out"
echo "walkthrough: OK: the two walkthroughs and $ran other blocks ran (README and docs); $skipped README blocks marked not-run"
