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
# RustSec's advisory database is fetched from github.com. Where that cannot be reached, the
# advisories are checked against the offline snapshot in supply-chain/advisory-db
# (supply-chain/README.md): a dated git repository that cargo deny refuses once it is older than
# its staleness limit; tests/supply_chain.rs fails if a crate in Cargo.lock is not covered by it.
if cargo deny fetch db >/dev/null 2>&1; then
  cargo deny --log-level error --locked check
else
  snapshot=$(scripts/advisories.sh describe)
  echo "!! cargo deny: the advisory database (github.com/rustsec/advisory-db) cannot be fetched" \
    "from this machine: checking advisories against the offline snapshot of $snapshot" >&2
  db_path=$(scripts/advisories.sh prepare)
  # Offline, cargo deny reads every crate of Cargo.lock from cargo's cache, those of other
  # platforms too (windows-sys, ...), which a Linux build never downloads: fetch them first.
  cargo fetch --locked --quiet
  KMS_ADVISORY_DB_PATH=$db_path cargo deny --log-level error --locked --offline check
  echo "advisories checked against the offline snapshot of $snapshot"
fi

step "cargo test"
# A PostgreSQL server for the store's PostgreSQL tests (the default one, or a private one).
source scripts/postgres.sh
cargo test --workspace --locked

step "README shell blocks (scripts/walkthrough.sh)"
scripts/walkthrough.sh

step "disaster-recovery drill"
scripts/dr-drill.sh

step "the compose example without containers (scripts/compose-check.sh)"
KMS_BIN=target/release/kms scripts/compose-check.sh

step "all tests passed"
