//! `kms.toml`: everything `kms serve` can be told, and how it becomes [`ServeOptions`]. Every
//! key, flag and environment variable: docs/configuration.md.
//!
//! ```toml
//! data_dir = "/var/lib/kms"
//! listen = "127.0.0.1:8200"
//!
//! [hsm]
//! backend = "pkcs11"            # or "software" (the default)
//! rewrap_batch = 100            # master-key rotation: versions per transaction
//! rewrap_pause_ms = 0           # and a pause between batches, to spare a busy HSM
//!
//! [hsm.pkcs11]
//! module = "/usr/lib/softhsm/libsofthsm2.so"
//! tokens = [                    # the primary first, then standbys
//!   { label = "kms-primary", pin_env = "KMS_PIN_PRIMARY" },
//!   { label = "kms-standby", pin_file = "/etc/kms/standby.pin" },
//! ]
//!
//! [quorum]                      # approvals every master-key ceremony needs
//! security_admin = 3
//! operator = 1
//! ceremony_ttl_secs = 3600
//!
//! [store]                       # optional: without it, SQLite in the data directory
//! postgres = "postgres://kms@db.internal:5432/kms"   # docs/postgres.md
//!
//! [tls]                         # optional: without it the listener speaks plain HTTP
//! cert = "/etc/kms/server.pem"  # chain, leaf first
//! key = "/etc/kms/server.key"
//! client_ca = "/etc/kms/apps-ca.pem"   # optional: ask clients for a certificate from this CA
//!
//! roles = ["service"]          # any of "service", "store", "manage"; default: all three
//!
//! [internal]                    # multi-node: the store's internal API, mutual TLS
//! cert = "/etc/kms/node.pem"    # this node's certificate (server and client), from the internal CA
//! key = "/etc/kms/node.key"
//! ca = "/etc/kms/internal-ca.pem"
//! listen = "10.0.0.5:8300"      # store role: where the internal API listens
//! store = "https://10.0.0.5:8300"   # service and manage roles: where the store is
//! manage_nodes = ["9f86d0...", ...] # store role: manage nodes' certificates (SHA-256)
//!
//! [internal.zone_nodes]         # store role: each zone's service nodes' certificates
//! dc-east = ["2c26b4...", "fcde2b..."]
//!
//! [server]                      # optional: reverse proxies whose X-Forwarded-For is believed
//! trusted_proxies = ["10.1.0.10/32"]
//!
//! [audit]                       # copies of each sealed audit batch outside the database
//! sink_file = "/var/log/kms/audit.log"   # default: <data-dir>/audit.log; "off" disables it
//! syslog = "/dev/log"           # optional: also send each line to this syslog socket
//!
//! [zone]                        # service role: the zone this node serves
//! name = "dc-east"
//!
//! [log]
//! format = "json"               # or "text" (the default); the filter is KMS_LOG
//!
//! [[custodians]]
//! name = "alice"
//! role = "security_admin"
//! password_hash = "$argon2id$v=19$..."   # from `kms hash-password`
//! ```
//!
//! PINs come from an environment variable or a file, never from the command line or this file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kms_control::context::AccessPolicy;
use kms_control::custodians::{Custodian, CustodianRole, Quorum};
use kms_control::durations;
use kms_control::rewrap::RewrapPace;
use kms_control::webhooks::Webhook;
use kms_engine::secret::SecretString;
use kms_hsm::{HsmChoice, Pkcs11Config, TokenConfig};
use serde::Deserialize;

mod sections;
pub use sections::*;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub http_workers: Option<usize>,
    pub crypto_workers: Option<usize>,
    /// Worker threads for asymmetric keys; 0 runs them on the crypto workers.
    pub slow_workers: Option<usize>,
    pub max_body_bytes: Option<usize>,
    /// Where the Vault Transit-compatible API is mounted (default `/v1/transit`).
    pub transit_mount: Option<String>,
    #[serde(default)]
    pub hsm: HsmSection,
    #[serde(default)]
    pub quorum: QuorumSection,
    #[serde(default)]
    pub custodians: Vec<CustodianEntry>,
    #[serde(default)]
    pub webhooks: Vec<WebhookEntry>,
    #[serde(default)]
    pub scheduler: SchedulerSection,
    #[serde(default)]
    pub access: AccessSection,
    #[serde(default)]
    pub audit: AuditSection,
    pub tls: Option<TlsSection>,
    #[serde(default)]
    pub store: StoreSection,
    /// What this process does (docs/deployment.md); absent: everything.
    pub roles: Option<Vec<String>>,
    pub internal: Option<InternalSection>,
    pub zone: Option<ZoneSection>,
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub log: LogSection,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    #[default]
    Software,
    Pkcs11,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HsmSection {
    #[serde(default)]
    pub backend: BackendKind,
    pub pkcs11: Option<Pkcs11Section>,
    pub rewrap_batch: Option<u32>,
    pub rewrap_pause_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Section {
    pub module: PathBuf,
    pub tokens: Vec<TokenEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub label: String,
    pub pin_env: Option<String>,
    pub pin_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuorumSection {
    #[serde(default = "default_security_admins")]
    pub security_admin: u8,
    #[serde(default = "default_operators")]
    pub operator: u8,
    #[serde(default = "default_ttl")]
    pub ceremony_ttl_secs: u64,
}

fn default_security_admins() -> u8 {
    3
}
fn default_operators() -> u8 {
    1
}
fn default_ttl() -> u64 {
    3600
}

impl Default for QuorumSection {
    fn default() -> Self {
        Self {
            security_admin: default_security_admins(),
            operator: default_operators(),
            ceremony_ttl_secs: default_ttl(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianEntry {
    pub name: String,
    pub role: CustodianRole,
    pub password_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// The HSM backend, with each token's PIN read from its environment variable or file.
    pub fn hsm_choice(&self) -> Result<HsmChoice, ConfigError> {
        match self.hsm.backend {
            BackendKind::Software => Ok(HsmChoice::Software),
            BackendKind::Pkcs11 => {
                let section = self.hsm.pkcs11.as_ref().ok_or_else(|| {
                    ConfigError::Invalid(
                        "hsm.backend = \"pkcs11\" needs an [hsm.pkcs11] section".into(),
                    )
                })?;
                if section.tokens.is_empty() {
                    return Err(ConfigError::Invalid("[hsm.pkcs11] lists no tokens".into()));
                }
                let tokens = section
                    .tokens
                    .iter()
                    .map(|t| {
                        Ok(TokenConfig {
                            label: t.label.clone(),
                            pin: read_pin(t)?,
                        })
                    })
                    .collect::<Result<_, ConfigError>>()?;
                Ok(HsmChoice::Pkcs11(Pkcs11Config {
                    module: section.module.clone(),
                    tokens,
                }))
            }
        }
    }

    pub fn quorum(&self) -> Result<Quorum, ConfigError> {
        Quorum::new(
            vec![
                (CustodianRole::SecurityAdmin, self.quorum.security_admin),
                (CustodianRole::Operator, self.quorum.operator),
            ],
            Duration::from_secs(self.quorum.ceremony_ttl_secs),
        )
        .map_err(ConfigError::Invalid)
    }

    pub fn custodians(&self) -> Result<Vec<Custodian>, ConfigError> {
        let mut out: Vec<Custodian> = Vec::new();
        for c in &self.custodians {
            if out.iter().any(|o| o.name == c.name) {
                return Err(ConfigError::Invalid(format!(
                    "custodian `{}` is listed twice",
                    c.name
                )));
            }
            out.push(
                Custodian::new(&c.name, c.role, &c.password_hash).map_err(ConfigError::Invalid)?,
            );
        }
        Ok(out)
    }

    pub fn webhooks(&self) -> Result<Vec<Webhook>, ConfigError> {
        self.webhooks
            .iter()
            .map(|w| {
                if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
                    return Err(ConfigError::Invalid(format!(
                        "webhook {}: the URL must be http:// or https://",
                        w.url
                    )));
                }
                Ok(Webhook {
                    url: w.url.clone(),
                    secret: read_secret(
                        &format!("webhook {}", w.url),
                        "secret",
                        w.secret_env.as_deref(),
                        w.secret_file.as_deref(),
                        ("secret_env", "secret_file"),
                    )?,
                })
            })
            .collect()
    }

    pub fn scheduler_interval(&self) -> Result<Option<Duration>, ConfigError> {
        duration("scheduler.interval", self.scheduler.interval.as_deref())
    }

    pub fn access(&self) -> Result<AccessPolicy, ConfigError> {
        let a = &self.access;
        let mut policy = AccessPolicy::default();
        if let Some(d) = duration("access.session_ttl", a.session_ttl.as_deref())? {
            policy.session_ttl = d;
        }
        if let Some(d) = duration("access.lockout", a.lockout.as_deref())? {
            policy.lockout = d;
        }
        if let Some(d) = duration("access.approval_ttl", a.approval_ttl.as_deref())? {
            policy.approval_ttl = d;
        }
        if let Some(d) = duration("access.enrolment_ttl", a.enrolment_ttl.as_deref())? {
            policy.enrolment_ttl = d;
        }
        if let Some(n) = a.max_failed_logins {
            policy.max_failed_logins = n.max(1);
        }
        if let Some(n) = a.approval_quorum {
            if n == 0 {
                return Err(ConfigError::Invalid(
                    "access.approval_quorum must be at least 1".into(),
                ));
            }
            policy.approval_quorum = n;
        }
        Ok(policy)
    }

    pub fn tls(&self) -> Option<kms_tls::TlsFiles> {
        self.tls.as_ref().map(|t| kms_tls::TlsFiles {
            cert: t.cert.clone(),
            key: t.key.clone(),
            client_ca: t.client_ca.clone(),
        })
    }

    pub fn rewrap(&self) -> RewrapPace {
        let d = RewrapPace::default();
        RewrapPace {
            batch: self.hsm.rewrap_batch.unwrap_or(d.batch).max(1),
            pause: self
                .hsm
                .rewrap_pause_ms
                .map_or(d.pause, Duration::from_millis),
        }
    }
}

fn read_pin(token: &TokenEntry) -> Result<SecretString, ConfigError> {
    read_secret(
        &format!("token `{}`", token.label),
        "PIN",
        token.pin_env.as_deref(),
        token.pin_file.as_deref(),
        ("pin_env", "pin_file"),
    )
}

/// A secret from an environment variable or a file (trailing newline dropped), never from the
/// configuration itself.
fn read_secret(
    owner: &str,
    what: &str,
    env: Option<&str>,
    file: Option<&Path>,
    fields: (&str, &str),
) -> Result<SecretString, ConfigError> {
    match (env, file) {
        (Some(var), None) => std::env::var(var).map(SecretString::new).map_err(|_| {
            ConfigError::Invalid(format!(
                "{owner}: environment variable {var} (its {what}) is not set"
            ))
        }),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|s| SecretString::new(s.trim_end_matches(['\n', '\r']).to_owned()))
            .map_err(|e| {
                ConfigError::Invalid(format!(
                    "{owner}: cannot read its {what} file {}: {e}",
                    path.display()
                ))
            }),
        _ => Err(ConfigError::Invalid(format!(
            "{owner}: give exactly one of {} and {}",
            fields.0, fields.1
        ))),
    }
}

fn duration(what: &str, value: Option<&str>) -> Result<Option<Duration>, ConfigError> {
    value
        .map(|i| {
            durations::parse(what, i)
                .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)))
                .map_err(|e| ConfigError::Invalid(e.to_string()))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses_and_pins_come_from_env_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let pin_file = dir.path().join("pin");
        std::fs::write(&pin_file, "4321\n").unwrap();
        let text = format!(
            r#"
data_dir = "/tmp/x"
listen = "127.0.0.1:9000"
[hsm]
backend = "pkcs11"
rewrap_batch = 7
[hsm.pkcs11]
module = "/usr/lib/softhsm/libsofthsm2.so"
tokens = [ {{ label = "a", pin_env = "PATH" }}, {{ label = "b", pin_file = "{}" }} ]
[quorum]
security_admin = 2
operator = 0
[[custodians]]
name = "alice"
role = "security_admin"
password_hash = "{}"
"#,
            pin_file.display(),
            kms_control::custodians::hash_password("pw").unwrap()
        );
        let cfg: ConfigFile = toml::from_str(&text).unwrap();
        assert_eq!(cfg.listen.unwrap().port(), 9000);
        assert_eq!(cfg.rewrap().batch, 7);
        let HsmChoice::Pkcs11(p) = cfg.hsm_choice().unwrap() else {
            panic!("not pkcs11")
        };
        // Any variable the test process has will do to show the PIN comes from the environment.
        assert_eq!(p.tokens[0].pin.expose(), std::env::var("PATH").unwrap());
        assert_eq!(p.tokens[1].pin.expose(), "4321");
        assert_eq!(cfg.custodians().unwrap().len(), 1);
        assert!(cfg.quorum().is_ok());
    }

    #[test]
    fn mistakes_are_named() {
        let err = |text: &str| -> String {
            let cfg: ConfigFile = toml::from_str(text).unwrap();
            match cfg.hsm_choice() {
                Err(e) => e.to_string(),
                Ok(_) => "no error".into(),
            }
        };
        assert!(err("[hsm]\nbackend = \"pkcs11\"").contains("[hsm.pkcs11]"));
        let m = err(
            "[hsm]\nbackend = \"pkcs11\"\n[hsm.pkcs11]\nmodule = \"/x\"\ntokens = [{ label = \"a\", pin_env = \"KMS_SURELY_UNSET_VAR\" }]",
        );
        assert!(
            m.contains("KMS_SURELY_UNSET_VAR") && m.contains("`a`"),
            "{m}"
        );
        let m = err(
            "[hsm]\nbackend = \"pkcs11\"\n[hsm.pkcs11]\nmodule = \"/x\"\ntokens = [{ label = \"a\" }]",
        );
        assert!(m.contains("exactly one"), "{m}");
        assert!(toml::from_str::<ConfigFile>("listen = 5").is_err());
        assert!(toml::from_str::<ConfigFile>("typo_field = 1").is_err());
    }

    #[test]
    fn the_tls_section_names_its_files_and_refuses_typos() {
        let cfg: ConfigFile = toml::from_str(
            "[tls]\ncert = \"/etc/kms/s.pem\"\nkey = \"/etc/kms/s.key\"\nclient_ca = \"/etc/kms/ca.pem\"",
        )
        .unwrap();
        let tls = cfg.tls().unwrap();
        assert_eq!(tls.cert, PathBuf::from("/etc/kms/s.pem"));
        assert_eq!(tls.key, PathBuf::from("/etc/kms/s.key"));
        assert_eq!(tls.client_ca, Some(PathBuf::from("/etc/kms/ca.pem")));
        assert!(ConfigFile::default().tls().is_none());
        let no_ca: ConfigFile = toml::from_str("[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"").unwrap();
        assert_eq!(no_ca.tls().unwrap().client_ca, None);
        let missing_key = toml::from_str::<ConfigFile>("[tls]\ncert = \"c.pem\"")
            .unwrap_err()
            .to_string();
        assert!(missing_key.contains("key"), "{missing_key}");
        assert!(
            toml::from_str::<ConfigFile>("[tls]\ncert = \"c\"\nkey = \"k\"\nca = \"x\"").is_err()
        );
    }
}
