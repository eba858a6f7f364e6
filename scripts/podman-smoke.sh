#!/usr/bin/env bash
# The Dockerfile's runtime stage, verbatim, built and run with podman on a machine that reaches no
# container registry (docs/packaging.md): the base image is a minimal Debian bookworm made with
# debootstrap from the Debian mirror and imported as a local image, and the build stage is
# replaced by the kms binary built on this (bookworm) host. Then the same checks as
# scripts/docker-smoke.sh: the dev server turns healthy through the image's health check, runs as
# a non-root user, encrypts and decrypts, and stops cleanly on SIGTERM. Needs root, podman and
# debootstrap (Debian packages); KMS_BIN (default target/release/kms).
set -euo pipefail
cd "$(dirname "$0")/.."
KMS_BIN=${KMS_BIN:-target/release/kms}
[ -x "$KMS_BIN" ] || { echo "podman-smoke: no kms binary at $KMS_BIN (cargo build --release --bin kms)"; exit 1; }
base=localhost/kms-base:bookworm-slim
tag=localhost/kms:podman-smoke
port=${KMS_SMOKE_PORT:-18210}
work=$(mktemp -d)
name=kms-podman-smoke-$$
trap 'podman rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

if ! podman image exists "$base"; then
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >&2
  tar -C "$work/rootfs" -c . | podman import - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi
mkdir "$work/ctx"
# Stripped, as the Dockerfile's build stage installs it.
strip -o "$work/ctx/kms" "$KMS_BIN"
{
  echo "FROM $base AS build"
  echo "COPY kms /usr/local/bin/kms"
  # The runtime stage as the Dockerfile has it, on the local base.
  sed -n '/^FROM debian:bookworm-slim/,$p' Dockerfile | sed "s|^FROM debian:bookworm-slim|FROM $base|"
} >"$work/ctx/Dockerfile"
grep -q '^USER kms:kms' "$work/ctx/Dockerfile" || { echo "podman-smoke: FAIL: no runtime stage found"; exit 1; }
podman build --isolation chroot --format docker -q -t "$tag" "$work/ctx" >/dev/null

# Run it as a container; where the OCI runtime cannot start one (seen in this project's sandboxed
# test machines: runc and crun are refused setting the container's resource limits), run the
# image's own file system under chroot as the image's user, with the image's environment and
# health-check command: what is checked then is the image's content, not the container runtime.
mode=container
if ! podman run -d --name "$name" -p "127.0.0.1:$port:8200" "$tag" \
  serve --dev --dev-root-token root --listen 0.0.0.0:8200 >"$work/run.log" 2>&1; then
  echo "podman-smoke: podman could not start a container ($(grep -o 'error setting rlimit[^:]*' "$work/run.log" | head -n1 || tail -n1 "$work/run.log")); running the image under chroot" >&2
  mode=chroot
  podman rm -f "$name" >/dev/null 2>&1 || true
  root=$(podman image mount "$tag")
  trap 'kill "$pid" 2>/dev/null; podman image unmount "$tag" >/dev/null 2>&1; rm -rf "$work"' EXIT
  user=$(podman image inspect -f '{{.Config.User}}' "$tag")
  mapfile -t envs < <(podman image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$tag" | sed '/^$/d')
  uid=$(chroot "$root" id -u "${user%%:*}")
  gid=$(chroot "$root" id -g "${user%%:*}")
  data=$(mktemp -d) && chown "$uid:$gid" "$data" && chmod 0700 "$data"
  mount --bind "$data" "$root/var/lib/kms"
  trap 'kill "$pid" 2>/dev/null; sleep 1; umount "$root/var/lib/kms"; podman image unmount "$tag" >/dev/null 2>&1; rm -rf "$work" "$data"' EXIT
  env -i "${envs[@]}" chroot --userspec="$uid:$gid" "$root" /usr/local/bin/kms \
    serve --dev --dev-root-token root --listen "127.0.0.1:$port" >"$work/kms.log" 2>&1 &
  pid=$!
  health() { env -i "${envs[@]}" chroot --userspec="$uid:$gid" "$root" sh -c "kms ready --addr http://127.0.0.1:$port"; }
  in_image() { env -i "${envs[@]}" chroot --userspec="$uid:$gid" "$root" "$@"; }
else
  health() { podman healthcheck run "$name"; }
  in_image() { podman exec "$name" "$@"; }
fi
healthy=0
for _ in $(seq 60); do
  if health >/dev/null 2>&1; then healthy=1; break; fi
  sleep 1
done
[ "$healthy" = 1 ] || { cat "$work/kms.log" 2>/dev/null; podman logs "$name" 2>/dev/null; echo "podman-smoke: FAIL: the health check never passed"; exit 1; }
uid=$(in_image id -u)
[ "$uid" != 0 ] || { echo "podman-smoke: FAIL: runs as root"; exit 1; }
[ "$(in_image stat -c %a /var/lib/kms)" = 700 ] || { echo "podman-smoke: FAIL: data directory not 0700"; exit 1; }
scripts/smoke-roundtrip.sh "http://127.0.0.1:$port" root || { echo "podman-smoke: FAIL"; exit 1; }
if [ "$mode" = container ]; then
  podman stop -t 30 "$name" >/dev/null
  code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
else
  kill -TERM "$pid"
  code=0
  wait "$pid" || code=$?
fi
[ "$code" = 0 ] || { podman logs "$name" | tail -5; echo "podman-smoke: FAIL: exit code $code after SIGTERM"; exit 1; }
echo "podman-smoke: PASS as a $mode (uid $uid, image $(podman image inspect -f '{{.Size}}' "$tag") bytes)"
