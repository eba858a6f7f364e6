#!/usr/bin/env bash
# The offline RustSec advisory snapshot (supply-chain/README.md).
#
#   scripts/advisories.sh prepare   copy supply-chain/advisory-db into a git repository where
#                                   cargo deny looks for its database, committed on the snapshot's
#                                   collection date; prints the db-path to give cargo deny
#                                   (KMS_ADVISORY_DB_PATH, read by deny.toml)
#   scripts/advisories.sh describe  print the snapshot's date and its newest advisory's date
#   scripts/advisories.sh refresh   where github.com is reachable: clone the real database and
#                                   regenerate the snapshot for the current Cargo.lock
#                                   (ADVISORY_DB_CLONE=<dir>: use an existing clone instead)
#
# `prepare` needs only git; scripts/test.sh runs it when the live database cannot be fetched.
set -euo pipefail
cd "$(dirname "$0")/.."

SNAPSHOT=supply-chain/advisory-db
MANIFEST=$SNAPSHOT/MANIFEST.toml
# cargo deny opens <db-path>/<last url segment>-<xxhash64 of the lowercased url>; this is the name
# for its default database, https://github.com/RustSec/advisory-db (cargo-deny 0.20, see
# `cargo deny -L debug --offline check advisories`: "Opening advisory database at ...").
DB_DIR_NAME=advisory-db-3157b0e258782691
PREPARED_ROOT=target/advisory-snapshot
UPSTREAM=https://github.com/RustSec/advisory-db

snapshot_date() {
  sed -n 's/^date = "\([0-9-]*\)"$/\1/p' "$MANIFEST" | head -n1
}

describe() {
  local newest
  newest=$(sed -n 's/^newest-advisory = "\([0-9-]*\)"$/\1/p' "$MANIFEST" | head -n1)
  echo "$(snapshot_date) (newest advisory in it: $newest)"
}

prepare() {
  local date dir
  date=$(snapshot_date)
  [ -n "$date" ] || { echo "advisories.sh: no [snapshot] date in $MANIFEST" >&2; exit 1; }
  dir=$PREPARED_ROOT/$DB_DIR_NAME
  rm -rf "$dir"
  mkdir -p "$dir"
  cp -R "$SNAPSHOT/crates" "$MANIFEST" "$dir/"
  # A repository of its own, committed on the collection date: cargo deny's freshness is the HEAD
  # commit's date (there is no FETCH_HEAD: nothing was fetched) or the mtime of .git/HEAD,
  # whichever is newer, so both are set to the snapshot date.
  git -C "$dir" init -q
  git -C "$dir" add -A
  GIT_AUTHOR_DATE="${date}T00:00:00Z" GIT_COMMITTER_DATE="${date}T00:00:00Z" \
    git -C "$dir" -c user.name=kms-advisory-snapshot -c user.email=advisories@kms.local \
    -c commit.gpgsign=false commit -q -m "RustSec advisory snapshot of $date (supply-chain/README.md)"
  touch -d "${date}T00:00:00Z" "$dir/.git/HEAD"
  rm -f "$dir/.git/FETCH_HEAD"
  echo "$PREPARED_ROOT"
}

refresh() {
  command -v python3 >/dev/null || { echo "advisories.sh refresh: needs python3 (3.11+)" >&2; exit 1; }
  local clone=${ADVISORY_DB_CLONE:-}
  if [ -z "$clone" ]; then
    local work
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    git clone -q --depth 1 "$UPSTREAM" "$work/advisory-db"
    clone=$work/advisory-db
  fi
  python3 - "$clone" "$SNAPSHOT" <<'PY'
import datetime, json, os, pathlib, re, shutil, sys, tomllib

upstream, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
lock = tomllib.load(open("Cargo.lock", "rb"))
names = sorted({p["name"] for p in lock["package"] if p.get("source", "").startswith("registry+")})

def arr(xs):
    return "[" + ", ".join(json.dumps(x) for x in xs) + "]"

# Keep the facts cargo deny matches on; the prose stays upstream (the record's url points to it).
shutil.rmtree(out / "crates", ignore_errors=True)
found, skipped, newest = {n: [] for n in names}, {}, ""
for name in names:
    for md in sorted((upstream / "crates" / name).glob("*.md")):
        text = md.read_text()
        front = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
        adv = tomllib.loads(front)
        a, v, aff = adv["advisory"], adv.get("versions", {}), adv.get("affected", {})
        gone = "withdrawn" in a or a.get("yanked") is True
        if a["id"].startswith("RUSTSEC-0000") or gone:
            skipped[a["id"]] = f"{name}: withdrawn" if gone else f"{name}: draft"
            continue
        date = str(a["date"])
        newest = max(newest, date)
        title = next((l[2:].strip() for l in text[text.index("```", 3) + 3:].splitlines()
                      if l.startswith("# ")), a["id"])
        lines = ["```toml", "[advisory]", f'id = "{a["id"]}"', f'package = "{a["package"]}"',
                 f'date = "{date}"', f'url = "https://rustsec.org/advisories/{a["id"]}.html"']
        for key in ("categories", "aliases"):
            if a.get(key):
                lines.append(f"{key} = {arr(a[key])}")
        if a.get("informational"):
            lines.append(f'informational = "{a["informational"]}"')
        if aff.get("os") or aff.get("arch"):
            lines += ["", "[affected]"] + [f"{k} = {arr(aff[k])}" for k in ("arch", "os") if aff.get(k)]
        if aff.get("functions"):
            lines += ["", "[affected.functions]"]
            for f, reqs in aff["functions"].items():
                lines.append(f"{json.dumps(f)} = {arr(reqs if isinstance(reqs, list) else [reqs])}")
        lines += ["", "[versions]", f'patched = {arr(v.get("patched", []))}']
        if v.get("unaffected"):
            lines.append(f'unaffected = {arr(v["unaffected"])}')
        lines += ["```", "", f"# {title}", "",
                  f"See https://rustsec.org/advisories/{a['id']}.html for the description.", ""]
        dest = out / "crates" / name
        dest.mkdir(parents=True, exist_ok=True)
        (dest / f"{a['id']}.md").write_text("\n".join(lines))
        found[name].append(a["id"])

today = datetime.date.today().isoformat()
count = sum(len(v) for v in found.values())
manifest = [
    "# The offline advisory snapshot: what it holds and which crates it covers (supply-chain/README.md).",
    "# tests/supply_chain.rs fails if a registry crate in Cargo.lock is not listed under [crates], or if",
    "# a record here and a file under crates/ disagree. Regenerate with `scripts/advisories.sh refresh`.",
    "",
    "[snapshot]",
    "# When the records were collected; `scripts/advisories.sh prepare` commits them with this date.",
    f'date = "{today}"',
    "# The newest advisory date among the records.",
    f'newest-advisory = "{newest}"',
    'source = "RustSec advisory database, shallow clone of github.com/RustSec/advisory-db by scripts/advisories.sh refresh; facts only"',
    f"advisories = {count}",
    f"crates = {len(names)}",
    "",
    "# Advisories seen and deliberately not recorded.",
    "[not-recorded]",
] + [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in sorted(skipped.items()) if not k.startswith("RUSTSEC-0000")] + [
    "drafts-only = []",
    "",
    "# Every registry crate of Cargo.lock that was checked, with the advisory ids recorded for it.",
    "[crates]",
] + [f"{json.dumps(n)} = {arr(sorted(found[n]))}" for n in names]
(out / "MANIFEST.toml").write_text("\n".join(manifest) + "\n")
print(f"{count} advisories for {len(names)} crates; newest advisory {newest}; snapshot {today}")
PY
}

case "${1:-}" in
  prepare) prepare ;;
  describe) describe ;;
  refresh) refresh ;;
  *) echo "usage: scripts/advisories.sh prepare|describe|refresh" >&2; exit 2 ;;
esac
