#!/usr/bin/env bash
# Routes nginx on the service nodes' /readyz (open-source nginx has no active health checks).
#
#   scripts/nginx-upstreams.sh -o FILE [-i MS] [-c NGINX_CONF] [-p NGINX_PREFIX] [--cacert PEM] URL...
#
# Every MS milliseconds (default 500) it GETs URL/readyz of each service node and writes FILE,
# one line per node: `server HOST:PORT max_fails=1 fail_timeout=2s;` for a node answering 200
# (ready or degraded), `server HOST:PORT down;` for the others. When no node answers 200 every
# line is written without `down` (fail open: nginx's passive checks then decide). When FILE
# changed it runs `nginx [-c ..] [-p ..] -s reload` ($NGINX, default nginx). FILE is included
# in the zone's `upstream` block (docs/deployment.md, "Load balancing with nginx").
set -euo pipefail
export PATH="$PATH:/usr/sbin"

out="" interval=500 nginx_args=() curl_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="$2"; shift 2 ;;
    -i) interval="$2"; shift 2 ;;
    -c | -p) nginx_args+=("$1" "$2"); shift 2 ;;
    --cacert) curl_args+=(--cacert "$2"); shift 2 ;;
    -*) echo "nginx-upstreams: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ -z "$out" ] || [ $# -eq 0 ]; then
  echo "usage: $0 -o FILE [-i MS] [-c CONF] [-p PREFIX] [--cacert PEM] URL..." >&2
  exit 2
fi
nginx="${NGINX:-nginx}"
sleep_s=$(printf '%d.%03d' $((interval / 1000)) $((interval % 1000)))
tmp="$out.tmp"

while :; do
  up=() down=()
  for url in "$@"; do
    url="${url%/}"
    code=$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 0.5 --max-time 1 \
      "${curl_args[@]}" "$url/readyz" || true)
    if [ "$code" = 200 ]; then up+=("${url#*://}"); else down+=("${url#*://}"); fi
  done
  {
    for node in "$@"; do
      node="${node%/}" && node="${node#*://}"
      if [ ${#up[@]} -eq 0 ] || [[ " ${up[*]} " == *" $node "* ]]; then
        echo "server $node max_fails=1 fail_timeout=2s;"
      else
        echo "server $node down;"
      fi
    done
  } >"$tmp"
  if ! cmp -s "$tmp" "$out"; then
    mv "$tmp" "$out"
    echo "nginx-upstreams: up: ${up[*]:-none}; down: ${down[*]:-none}" >&2
    "$nginx" "${nginx_args[@]}" -s reload 2>/dev/null ||
      echo "nginx-upstreams: nginx -s reload failed (nginx not running yet?)" >&2
  fi
  sleep "$sleep_s"
done
