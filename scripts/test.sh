#!/usr/bin/env bash
# Runs every test: formatting, lints, the workspace's tests (unit, store conformance, end to end),
# every shell block of the README (against the README's own run command), and the disaster-recovery drill.
# This is the README's test command; .ci/run calls it after installing what a fresh machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo deny (deny.toml: advisories, licences, bans, sources)"
# The RustSec advisory database is fetched from github.com. Where that cannot be reached, the
# advisory check cannot run at all: it says so and the other three checks still run (and must
# pass); tests/supply_chain.rs holds the mitigation behind deny.toml's one advisory exception.
if cargo deny fetch db >/dev/null 2>&1; then
  cargo deny --log-level error --locked check
else
  echo "!! cargo deny: the advisory database (github.com/rustsec/advisory-db) cannot be fetched" \
    "from this machine: advisories NOT checked; licences, bans and sources are" >&2
  cargo deny --log-level error --locked check licenses bans sources
fi

step "cargo test"
# A PostgreSQL server for the store's PostgreSQL tests (the default one, or a private one).
source scripts/postgres.sh
cargo test --workspace --locked

step "README shell blocks (scripts/walkthrough.sh)"
scripts/walkthrough.sh

step "disaster-recovery drill"
scripts/dr-drill.sh

step "all tests passed"
