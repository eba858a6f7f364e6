//! The sections of kms.toml that are plain settings (no secrets, no cross-checks): each struct is
//! one `[section]` or `[[array]]`, each field one key (docs/configuration.md lists them all, and
//! `config_docs` in tests/e2e checks that list against these structs).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::logging::LogFormat;

/// `[server]`: the public listener's peers (`crate::trust`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// CIDR ranges of reverse proxies whose `X-Forwarded-For` names the caller.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// CIDR ranges whose callers may read `/metrics` (default: loopback).
    pub metrics_from: Option<Vec<String>>,
}

/// `[internal]`: the store's internal API (docs/deployment.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalSection {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    /// Store role: the internal listener's address.
    pub listen: Option<SocketAddr>,
    /// Service and manage roles: the store's internal API, `https://host:port`.
    pub store: Option<String>,
    /// Store role: SHA-256 fingerprints of the manage nodes' certificates.
    #[serde(default)]
    pub manage_nodes: Vec<String>,
    /// Store role: each zone's service nodes' certificate fingerprints.
    #[serde(default)]
    pub zone_nodes: std::collections::BTreeMap<String, Vec<String>>,
}

/// `[zone]`: the zone a service node serves.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSection {
    pub name: String,
}

/// `[store]`: where the key store lives. Without `postgres`, the SQLite file `kms.db` in the data
/// directory.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// A PostgreSQL URL (`postgres://user@host:port/database`; docs/postgres.md). Leave the
    /// password out of it: without one, `PGPASSWORD` or `~/.pgpass` supplies it.
    pub postgres: Option<String>,
}

/// `[tls]`: TLS on the listener, and optionally client certificates (kms-tls, tls/src/lib.rs). Paths
/// are relative to the working directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

/// `[access]`: admin sessions, lockout and approvals (docs/access-control.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSection {
    /// e.g. `30m` (the default).
    pub session_ttl: Option<String>,
    /// Consecutive failed logins before the account locks (default 5).
    pub max_failed_logins: Option<u32>,
    /// e.g. `15m` (the default).
    pub lockout: Option<String>,
    /// Distinct approvers a sensitive action needs, besides the requester (default 2).
    pub approval_quorum: Option<u8>,
    /// e.g. `24h` (the default).
    pub approval_ttl: Option<String>,
    /// How long an enrolment token may be used, e.g. `24h` (the default).
    pub enrolment_ttl: Option<String>,
}

/// `[[webhooks]]`: where lifecycle events (rotation notices, rotations, destructions) are POSTed,
/// signed with HMAC-SHA256 under the secret.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEntry {
    pub url: String,
    pub secret_env: Option<String>,
    pub secret_file: Option<PathBuf>,
}

/// `[audit]`: where sealed audit batches are copied outside the database (docs/access-control.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// An append-only JSON-lines file; default `<data-dir>/audit.log`, `"off"` for none.
    pub sink_file: Option<PathBuf>,
    /// A syslog socket (`/dev/log`) to send the same lines to; default none.
    pub syslog: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSection {
    /// How often rotations, notices, destructions and webhook retries are checked (e.g. `10s`).
    pub interval: Option<String>,
}

/// `[log]`: the server's own log on stderr (the filter is `KMS_LOG`, docs/configuration.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// `text` (the default) or `json`.
    pub format: Option<LogFormat>,
}
