# syntax=docker/dockerfile:1
# The kms binary in a small runtime image (docs/packaging.md).
#
#   docker build -t kms .
#   docker run --rm -p 8200:8200 kms serve --dev --dev-root-token root --listen 0.0.0.0:8200
#
# Production: mount a kms.toml at /etc/kms/kms.toml and a volume at /var/lib/kms (the data
# directory: SQLite store, sealed keyring, audit sink), then `docker run ... kms` (the default
# command serves with that file). scripts/docker-smoke.sh builds and checks the image.

# --- build -------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The kms binary only: the workspace's default members leave out the load-test crate, so this
# does not compile aws-lc-sys (tests/supply_chain.rs). Installed stripped (`install -s`): the
# release profile's line tables make it ~150 MB, stripped ~26 MB.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin kms \
 && install -s -m 0755 target/release/kms /usr/local/bin/kms

# --- runtime -----------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates for https webhooks; softhsm2 provides the PKCS#11 module the docs' SoftHSM
# recipes use (a vendor HSM's library is mounted instead). The binary needs only libc.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates softhsm2 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 kms \
 && useradd --system --uid 10001 --gid kms --home-dir /var/lib/kms --shell /usr/sbin/nologin kms \
 && install -d -m 0700 -o kms -g kms /var/lib/kms \
 && install -d -m 0755 /etc/kms
COPY --from=build /usr/local/bin/kms /usr/local/bin/kms
USER kms:kms
ENV KMS_DATA_DIR=/var/lib/kms \
    KMS_LISTEN=0.0.0.0:8200 \
    KMS_LOG=info
VOLUME ["/var/lib/kms"]
EXPOSE 8200
# `kms ready` is GET /readyz: healthy when the node serves (ready or degraded); a sealed or
# uninitialised KMS is unhealthy until its custodians act.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["kms", "ready", "--addr", "http://127.0.0.1:8200"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["kms"]
CMD ["serve", "--config", "/etc/kms/kms.toml"]
