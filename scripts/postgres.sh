# Sourced by scripts/test.sh: a PostgreSQL server for the store's PostgreSQL tests
# (store/tests/postgres.rs, docs/postgres.md) and the server binaries for the replication test
# (store/tests/postgres_replication.rs).
#
# KMS_TEST_POSTGRES set: used as it is. Unset: the default the tests use
# (postgres://postgres@127.0.0.1:5432/test) if it answers, otherwise a private cluster in a
# temporary directory on a free port, trust authentication, stopped and removed when test.sh exits.

if [ -z "${KMS_TEST_PG_BIN:-}" ]; then
  KMS_TEST_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ -z "$KMS_TEST_PG_BIN" ] || [ ! -x "$KMS_TEST_PG_BIN/initdb" ]; then
  echo "postgres: no PostgreSQL server binaries (Debian: apt-get install postgresql); set KMS_TEST_PG_BIN" >&2
  exit 1
fi
export KMS_TEST_PG_BIN

# PostgreSQL refuses to run as root.
kms_as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -z "${KMS_TEST_POSTGRES:-}" ]; then
  default_url="postgres://postgres@127.0.0.1:5432/test"
  if "$KMS_TEST_PG_BIN/psql" "$default_url" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    export KMS_TEST_POSTGRES="$default_url"
  else
    kms_pg_dir=$(mktemp -d)
    [ "$(id -u)" = 0 ] && chown postgres: "$kms_pg_dir"
    kms_pg_port=55432
    # The first port where nothing answers (pg_isready: 2).
    until "$KMS_TEST_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$kms_pg_port"; [ "$?" = 2 ]; do
      kms_pg_port=$((kms_pg_port + 1))
    done
    kms_as_postgres "$KMS_TEST_PG_BIN/initdb" -D "$kms_pg_dir/data" -U postgres --auth=trust \
      --no-sync >/dev/null
    kms_as_postgres "$KMS_TEST_PG_BIN/pg_ctl" -D "$kms_pg_dir/data" -l "$kms_pg_dir/log" -w \
      -o "-p $kms_pg_port -k $kms_pg_dir -c listen_addresses=127.0.0.1" start >/dev/null
    trap 'kms_as_postgres "$KMS_TEST_PG_BIN/pg_ctl" -D "$kms_pg_dir/data" -m fast -w stop >/dev/null; rm -rf "$kms_pg_dir"' EXIT
    export KMS_TEST_POSTGRES="postgres://postgres@127.0.0.1:$kms_pg_port/postgres"
    echo "postgres: started a private server for the tests at $KMS_TEST_POSTGRES" >&2
  fi
fi
