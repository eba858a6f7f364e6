//! `kms key ...`: keys and their version lifecycle, through the admin API (an administrator's
//! token in KMS_TOKEN).

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::client::CliError;
use crate::key_policy::{self, PolicyCommand};
pub use crate::output::{Common, Output};
use crate::output::{get, post, print_json, s, table};

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create a key.
    Create {
        /// The key's name.
        name: String,
        /// aes-256-gcm (default), aes-128-gcm, chacha20-poly1305, sm4-gcm, aes-256-gcm-siv,
        /// hmac-sha256, hmac-sm3, rsa-2048, rsa-3072, rsa-4096, ecdsa-p256, ed25519, sm2.
        #[arg(long)]
        algorithm: Option<String>,
        /// aes-256-gcm-siv: same plaintext and context, same ciphertext (equality lookups).
        #[arg(long)]
        deterministic: bool,
        /// Rotate automatically, e.g. 90d.
        #[arg(long)]
        rotation_period: Option<String>,
        /// Announce a scheduled rotation this long before, e.g. 7d.
        #[arg(long)]
        notice_period: Option<String>,
        /// Allow approved exports of the material (fixed at creation).
        #[arg(long)]
        exportable: bool,
        /// `password`: a password key for browser logins (docs/passwords.md).
        #[arg(long)]
        purpose: Option<String>,
        /// Password keys: `aead` (default) or `hash`.
        #[arg(long)]
        protection: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Export an exportable key's material, wrapped to your RSA public key (PEM file). For a
    /// user this opens an approval request; the approvals' result holds the wrapped material.
    Export {
        /// The key's name.
        name: String,
        /// Your RSA public key (PEM, at least 2048 bits): the material is wrapped to it.
        #[arg(long)]
        public_key: std::path::PathBuf,
        /// The version to export (default: the active one).
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        common: Common,
    },
    /// A key's versions, grants, usage and history.
    Show {
        /// The key's name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Every key.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// A new active version; the old one stays decrypt-only.
    Rotate(Reasoned),
    /// The previous version active again.
    Rollback(Reasoned),
    /// Change the minimum decryption version or the rotation schedule.
    Config {
        /// The key's name.
        name: String,
        /// Versions below this one no longer decrypt.
        #[arg(long)]
        min_decryption_version: Option<u32>,
        /// e.g. 90d, or `none` to stop scheduled rotation.
        #[arg(long)]
        rotation_period: Option<String>,
        /// Announce a scheduled rotation this long before, e.g. 7d.
        #[arg(long)]
        notice_period: Option<String>,
        /// Why: recorded in the key's history and the audit log.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// A decrypt-only version neither encrypts nor decrypts until enabled.
    Disable(VersionArgs),
    /// A disabled version decrypt-only again.
    Enable(VersionArgs),
    /// Destroy a version after a waiting period (cancellable until then).
    ScheduleDestruction {
        #[command(flatten)]
        version: VersionArgs,
        /// Default 7d.
        #[arg(long)]
        delay: Option<String>,
    },
    /// Cancel a scheduled destruction: the version stays, disabled.
    CancelDestruction(VersionArgs),
    /// A key's usage policy: the source ranges, time windows and rate that bind apps using it.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Lifecycle events: notices, rotations, rollbacks, destructions.
    Events {
        /// Only events after this id (for paging; 0: from the first).
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args, Debug)]
pub struct Reasoned {
    /// The key's name.
    pub name: String,
    /// Why: recorded in the key's history and the audit log.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct VersionArgs {
    /// The key's name.
    pub name: String,
    /// The version's number.
    pub version: u32,
    /// Why: recorded in the key's history and the audit log.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub common: Common,
}

fn show_key(key: &Value, output: Output) {
    if let Output::Json = output {
        print_json(key);
        return;
    }
    println!(
        "Key:                    {} ({})",
        s(&key["name"]),
        s(&key["id"])
    );
    println!(
        "Algorithm:              {}{}",
        s(&key["algorithm"]),
        if key["deterministic"] == json!(true) {
            " (deterministic)"
        } else {
            ""
        }
    );
    if key["purpose"] == json!("password") {
        println!(
            "Purpose:                password (protection {})",
            s(&key["protection"])
        );
    }
    println!("Active version:         {}", s(&key["active_version"]));
    println!(
        "Min decryption version: {}",
        s(&key["min_decryption_version"])
    );
    println!(
        "Rotation:               every {} (notice {}), next {}",
        s(&key["rotation_period"]),
        s(&key["notice_period"]),
        s(&key["next_rotation_at"])
    );
    let each = |field: &str| key[field].as_array().into_iter().flatten();
    println!();
    table(
        &[
            ("VERSION", 8),
            ("STATE", 26),
            ("CREATED", 25),
            ("DESTROY AT", 0),
        ],
        each("versions").map(|v| {
            vec![
                s(&v["version"]),
                s(&v["state"]),
                s(&v["created_at"]),
                s(&v["destroy_at"]),
            ]
        }),
    );
    println!();
    table(
        &[("APP", 24), ("OPERATIONS", 0)],
        each("grants").map(|g| {
            let ops: Vec<String> = g["operations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(s)
                .collect();
            vec![s(&g["app"]), ops.join(", ")]
        }),
    );
    println!();
    table(
        &[
            ("VERSION", 8),
            ("CALLER", 24),
            ("OPERATION", 10),
            ("COUNT", 10),
            ("LAST USED", 0),
        ],
        each("usage").map(|u| {
            vec![
                s(&u["version"]),
                s(&u["caller"]),
                s(&u["operation"]),
                s(&u["count"]),
                s(&u["last_used_at"]),
            ]
        }),
    );
    println!();
    table(
        &[
            ("WHEN", 25),
            ("VERSION", 8),
            ("ACTION", 21),
            ("FROM → TO", 29),
            ("WHO", 15),
            ("WHY", 0),
        ],
        each("history").map(|h| {
            vec![
                s(&h["at"]),
                s(&h["version"]),
                s(&h["action"]),
                format!("{} → {}", s(&h["from_state"]), s(&h["to_state"])),
                s(&h["actor"]),
                s(&h["reason"]),
            ]
        }),
    );
}

fn version_action(
    a: &VersionArgs,
    action: &str,
    extra: Option<(&str, &str)>,
) -> Result<(), CliError> {
    let mut body = json!({ "reason": a.reason });
    if let Some((k, v)) = extra {
        body[k] = json!(v);
    }
    let key = post(
        &a.common,
        &format!("/v1/admin/keys/{}/versions/{}/{action}", a.name, a.version),
        &body,
    )?;
    show_key(&key, a.common.output);
    Ok(())
}

pub fn run(command: &KeyCommand) -> Result<(), CliError> {
    match command {
        KeyCommand::Create {
            name,
            algorithm,
            deterministic,
            rotation_period,
            notice_period,
            exportable,
            purpose,
            protection,
            common,
        } => {
            let mut body =
                json!({ "name": name, "deterministic": deterministic, "exportable": exportable });
            for (k, v) in [
                ("algorithm", algorithm),
                ("rotation_period", rotation_period),
                ("notice_period", notice_period),
                ("purpose", purpose),
                ("protection", protection),
            ] {
                if let Some(v) = v {
                    body[k] = json!(v);
                }
            }
            show_key(&post(common, "/v1/admin/keys", &body)?, common.output);
        }
        KeyCommand::Export {
            name,
            public_key,
            version,
            common,
        } => {
            let pem = std::fs::read_to_string(public_key)
                .map_err(|e| CliError::Input(format!("{}: {e}", public_key.display())))?;
            let answer = post(
                common,
                &format!("/v1/admin/keys/{name}/export"),
                &json!({ "public_key": pem, "version": version }),
            )?;
            super::output::object(common.output, &answer);
        }
        KeyCommand::Show { name, common } => show_key(
            &get(common, &format!("/v1/admin/keys/{name}"))?,
            common.output,
        ),
        KeyCommand::List { common } => {
            let list = get(common, "/v1/admin/keys")?;
            if let Output::Json = common.output {
                print_json(&list);
            } else {
                table(
                    &[("NAME", 32), ("ALGORITHM", 18), ("ACTIVE", 0)],
                    list["keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|k| vec![s(&k["name"]), s(&k["algorithm"]), s(&k["active_version"])]),
                );
            }
        }
        KeyCommand::Rotate(r) | KeyCommand::Rollback(r) => {
            let action = if matches!(command, KeyCommand::Rotate(_)) {
                "rotate"
            } else {
                "rollback"
            };
            let key = post(
                &r.common,
                &format!("/v1/admin/keys/{}/{action}", r.name),
                &json!({ "reason": r.reason }),
            )?;
            show_key(&key, r.common.output);
        }
        KeyCommand::Config {
            name,
            min_decryption_version,
            rotation_period,
            notice_period,
            reason,
            common,
        } => {
            let mut body = json!({ "reason": reason });
            if let Some(v) = min_decryption_version {
                body["min_decryption_version"] = json!(v);
            }
            if let Some(p) = rotation_period {
                body["rotation_period"] = if p == "none" { Value::Null } else { json!(p) };
            }
            if let Some(p) = notice_period {
                body["notice_period"] = json!(p);
            }
            show_key(
                &post(common, &format!("/v1/admin/keys/{name}/config"), &body)?,
                common.output,
            );
        }
        KeyCommand::Disable(a) => version_action(a, "disable", None)?,
        KeyCommand::Enable(a) => version_action(a, "enable", None)?,
        KeyCommand::ScheduleDestruction { version, delay } => {
            version_action(
                version,
                "schedule-destruction",
                delay.as_deref().map(|d| ("delay", d)),
            )?;
        }
        KeyCommand::CancelDestruction(a) => version_action(a, "cancel-destruction", None)?,
        KeyCommand::Policy(command) => key_policy::run(command)?,
        KeyCommand::Events { after, common } => {
            let events = get(common, &format!("/v1/admin/events?after={after}"))?;
            if let Output::Json = common.output {
                print_json(&events);
            } else {
                for e in events["events"].as_array().into_iter().flatten() {
                    println!(
                        "{:<6} {:<25} {:<30} {:<20} v{} {}",
                        s(&e["id"]),
                        s(&e["at"]),
                        s(&e["kind"]),
                        s(&e["key"]),
                        s(&e["version"]),
                        e["detail"]
                    );
                }
            }
        }
    }
    Ok(())
}
