#!/usr/bin/env bash
# Builds the container image and checks it (docs/packaging.md): the dev server starts as a
# non-root user, turns healthy through `kms ready`, encrypts and decrypts, and stops on SIGTERM.
# Needs docker and access to the base images (rust:1.95-bookworm, debian:bookworm-slim).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${KMS_IMAGE:-kms:smoke}
port=${KMS_SMOKE_PORT:-18200}
docker build -t "$tag" .
name=kms-smoke-$$
docker run -d --name "$name" -p "127.0.0.1:$port:8200" "$tag" \
  serve --dev --dev-root-token root --listen 0.0.0.0:8200 >/dev/null
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 60); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' "$name")" = healthy ] && break
  sleep 1
done
[ "$(docker inspect -f '{{.State.Health.Status}}' "$name")" = healthy ] \
  || { docker logs "$name"; echo "docker-smoke: FAIL: not healthy"; exit 1; }
[ "$(docker exec "$name" id -u)" != 0 ] || { echo "docker-smoke: FAIL: runs as root"; exit 1; }
scripts/smoke-roundtrip.sh "http://127.0.0.1:$port" root || { echo "docker-smoke: FAIL"; exit 1; }
docker stop -t 30 "$name" >/dev/null
echo "docker-smoke: PASS"
