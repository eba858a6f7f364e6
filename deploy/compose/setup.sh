#!/usr/bin/env bash
# Writes what the three-zone example (deploy/compose/compose.yaml, docs/packaging.md) needs
# before its first start, on the machine that keeps the internal CA's key:
#
#   deploy/compose/setup.sh [OUT]            # OUT defaults to deploy/compose/generated
#   deploy/compose/setup.sh --native OUT     # the same topology as local processes on 127.0.10.x
#                                            # (scripts/compose-check.sh runs it that way)
#
# It makes the internal CA and one certificate per node with scripts/pki.sh, then each node's
# kms.toml with the store's pins (the nodes' SHA-256 fingerprints), nginx's server block, and the
# environment files holding the example's secrets (the PostgreSQL password, the dev root token).
# Nothing is overwritten: remove OUT to start again. Needs openssl.
#
# Run as root, it gives each node's private key to the image's kms user (uid 10001), which the
# containers run as; otherwise it prints the chown to run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

native=0
if [ "${1:-}" = "--native" ]; then native=1; shift; fi
out=${1:-$here/generated}
[ -e "$out" ] && { echo "setup: $out exists; remove it to start again" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
umask 077

nodes=(store manage node-a1 node-a2)
declare -A addr
if [ "$native" = 1 ]; then
  # One loopback address per process; nginx binds its own for the nodes' trusted_proxies.
  addr=([store]=127.0.10.2 [manage]=127.0.10.3 [nginx]=127.0.10.10 [node-a1]=127.0.10.11
        [node-a2]=127.0.10.12 [postgres]=127.0.0.1)
  host() { echo "${addr[$1]}"; }
  etc() { echo "$out/$1"; }                 # a node's configuration directory
  data() { echo "$out/$1/data"; }           # its data directory
  listen_any() { echo "${addr[$1]}"; }
else
  # The compose networks' fixed addresses (compose.yaml): the zone's nginx must be a known
  # address, since the nodes believe X-Forwarded-For only from it.
  addr=([store]=10.2.0.5 [manage]=10.2.0.3 [nginx]=10.1.0.10 [node-a1]=10.1.0.11
        [node-a2]=10.1.0.12)
  host() { echo "$1"; }
  etc() { echo /etc/kms; }
  data() { echo /var/lib/kms; }
  listen_any() { echo 0.0.0.0; }
fi

# ---- the internal CA and the node certificates ------------------------------------------------
pki=$out/pki
"$repo/scripts/pki.sh" init "$pki" --cn "kms example internal CA" >/dev/null
if [ "$native" = 1 ]; then
  "$repo/scripts/pki.sh" issue "$pki" store --ip "${addr[store]}" >/dev/null
else
  "$repo/scripts/pki.sh" issue "$pki" store --dns store >/dev/null
fi
for n in manage node-a1 node-a2; do "$repo/scripts/pki.sh" issue "$pki" "$n" >/dev/null; done
fp() { "$repo/scripts/pki.sh" fingerprint "$pki" "$1" | cut -d' ' -f2; }

# ---- secrets of the example --------------------------------------------------------------------
rand() { head -c 24 /dev/urandom | base64 | tr -d '/+=' ; }
root_token=$(rand)
pg_password=$(rand)
printf 'KMS_DEV_ROOT_TOKEN=%s\nPGPASSWORD=%s\n' "$root_token" "$pg_password" >"$out/store.env"
printf 'POSTGRES_USER=kms\nPOSTGRES_DB=kms\nPOSTGRES_PASSWORD=%s\n' "$pg_password" >"$out/postgres.env"
printf 'KMS_TOKEN=%s\n' "$root_token" >"$out/admin.env"

# ---- kms.toml of each node ---------------------------------------------------------------------
internal() { # NODE EXTRA_LINE...
  local n=$1
  shift
  printf '\n[internal]\ncert = "%s/%s.pem"\nkey = "%s/%s.key"\nca = "%s/internal-ca.pem"\n' \
    "$(etc "$n")" "$n" "$(etc "$n")" "$n" "$(etc "$n")"
  printf '%s\n' "$@"
}
store_url="https://$(host store):8300"
if [ "$native" = 1 ]; then
  pg_url=${KMS_COMPOSE_POSTGRES:?"--native needs KMS_COMPOSE_POSTGRES (a PostgreSQL URL)"}
else
  pg_url="postgres://kms@postgres:5432/kms"
fi
{
  echo "# The store and the management center's control plane (isolated zone)."
  printf 'data_dir = "%s"\n' "$(data store)"
  # Its public listener only on the management network: administrators come through the manage
  # node; the zone's nodes reach only the internal API.
  printf 'listen = "%s:8200"\nroles = ["store", "manage"]\n' "${addr[store]}"
  printf '\n[store]\npostgres = "%s"    # password: PGPASSWORD (store.env)\n' "$pg_url"
  internal store "listen = \"$(listen_any store):8300\"" \
    "manage_nodes = [\"$(fp manage)\"]    # manage.pem" \
    "" "[internal.zone_nodes]" \
    "zone-a = [\"$(fp node-a1)\", \"$(fp node-a2)\"]    # node-a1.pem, node-a2.pem"
} >"$out/store.toml"
{
  echo "# The management zone's entry: forwards the control plane to the store."
  printf 'data_dir = "%s"\nlisten = "%s:8200"\nroles = ["manage"]\n' "$(data manage)" "$(listen_any manage)"
  internal manage "store = \"$store_url\""
} >"$out/manage.toml"
for n in node-a1 node-a2; do
  {
    echo "# A service node of zone-a (data centre A), behind the zone's nginx."
    printf 'data_dir = "%s"\nlisten = "%s:8200"\nroles = ["service"]\n' "$(data "$n")" "$(listen_any "$n")"
    printf '\n[zone]\nname = "zone-a"\n'
    internal "$n" "store = \"$store_url\""
    printf '\n[server]\ntrusted_proxies = ["%s/32"]    # the zone'"'"'s nginx\n' "${addr[nginx]}"
  } >"$out/$n.toml"
done

# ---- nginx in front of zone-a (inside its http block) -------------------------------------------
{
  echo "# zone-a's one address for applications (docs/deployment.md, Load balancing with nginx)."
  echo "upstream kms_zone_a {"
  for n in node-a1 node-a2; do
    echo "    server $(host "$n"):8200 max_fails=1 fail_timeout=2s;"
  done
  echo "    keepalive 32;"
  echo "}"
  echo "server {"
  echo "    listen $(listen_any nginx):8200;"
  echo "    location / {"
  echo "        proxy_pass http://kms_zone_a;"
  echo "        proxy_bind ${addr[nginx]};             # the address the nodes' trusted_proxies name"
  echo "        proxy_http_version 1.1;"
  echo "        proxy_set_header Connection \"\";"
  echo "        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
  echo "        proxy_connect_timeout 1s;"
  echo "        proxy_next_upstream error timeout http_503 non_idempotent;"
  echo "        proxy_next_upstream_tries 3;"
  echo "    }"
  echo "}"
} >"$out/nginx-zone-a.conf"
chmod 0644 "$out/nginx-zone-a.conf" "$out"/*.toml "$pki"/*.pem

# ---- each node's files in its own directory (what the compose file mounts at /etc/kms) ---------
for n in "${nodes[@]}"; do
  mkdir -p "$out/$n"
  cp "$out/$n.toml" "$out/$n/kms.toml"
  cp "$pki/internal-ca.pem" "$pki/$n.pem" "$pki/$n.key" "$out/$n/"
  chmod 0755 "$out/$n"
  chmod 0644 "$out/$n/kms.toml" "$out/$n/internal-ca.pem" "$out/$n/$n.pem"
  rm "$out/$n.toml"
done
if [ "$native" = 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    for n in "${nodes[@]}"; do chown 10001:10001 "$out/$n/$n.key"; done
  else
    echo "setup: the containers run as uid 10001; give them their keys:" >&2
    echo "  sudo chown 10001:10001 $out/*/*.key" >&2
  fi
fi
echo "setup: wrote $out (CA key: $pki/internal-ca.key; keep it off the nodes)"
