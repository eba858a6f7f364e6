//! `kms audit list|verify|export` (auditor).

use std::io::Write;

use clap::{Args, Subcommand};

use crate::client::CliError;
use crate::output::{Common, get, print_json, rows};

#[derive(Args, Debug, Default)]
pub struct Filter {
    /// Who acted: a user's name, `app:NAME`, `root:LABEL`, ...
    #[arg(long)]
    pub actor: Option<String>,
    /// A key name.
    #[arg(long)]
    pub key: Option<String>,
    /// An action, e.g. create_key, login, grant (docs/access-control.md names them).
    #[arg(long)]
    pub action: Option<String>,
    /// RFC 3339, e.g. 2026-11-29T00:00:00Z.
    #[arg(long)]
    pub since: Option<String>,
    /// RFC 3339: entries before this time only.
    #[arg(long)]
    pub until: Option<String>,
}

impl Filter {
    fn query(&self) -> String {
        let pairs = [
            ("actor", &self.actor),
            ("key", &self.key),
            ("action", &self.action),
            ("since", &self.since),
            ("until", &self.until),
        ];
        pairs
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("&{k}={}", encode(v))))
            .collect()
    }
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Entries matching the filter (at most --limit).
    List {
        #[command(flatten)]
        filter: Filter,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        common: Common,
    },
    /// Check the hash chain, its HSM seals and the HSM's audit counter; exits 1 naming the first
    /// entry changed, removed or reordered, or how many entries a trimmed tail lost.
    Verify {
        /// Also compare the database with this copy of the audit sink file (`[audit] sink_file`).
        #[arg(long)]
        against: Option<std::path::PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Seal the chain's head now with the HSM-held seal key (the server also does it every minute).
    Seal {
        #[command(flatten)]
        common: Common,
    },
    /// Every matching entry as JSON lines, to standard output or --file.
    Export {
        #[command(flatten)]
        filter: Filter,
        /// Write the JSON lines to this file instead of standard output.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        #[command(flatten)]
        common: Common,
    },
}

const COLUMNS: &[(&str, &str, usize)] = &[
    ("SEQ", "seq", 6),
    ("AT", "at", 25),
    ("ACTOR", "actor", 22),
    ("ACTION", "action", 28),
    ("TARGET", "target", 24),
    ("OUTCOME", "outcome", 8),
    ("CODE", "code", 20),
];

pub fn run(command: &AuditCommand) -> Result<(), CliError> {
    match command {
        AuditCommand::List {
            filter,
            limit,
            common,
        } => {
            let answer = get(
                common,
                &format!("/v1/admin/audit?limit={limit}{}", filter.query()),
            )?;
            rows(common.output, &answer, "entries", COLUMNS);
        }
        AuditCommand::Verify { against, common } => {
            // The copy first: it names a rewritten entry, and counts a trim without the HSM.
            let against = match against {
                Some(path) => Some(crate::audit_against::check(common, path)?),
                None => None,
            };
            let report = get(common, "/v1/admin/audit/verify")?;
            if let super::output::Output::Json = common.output {
                print_json(&report);
            }
            if report["ok"].as_bool() == Some(true) {
                if let super::output::Output::Table = common.output {
                    println!(
                        "audit log OK: {} entries, {} seals (sealed through entry {})",
                        report["entries"],
                        report["seals"],
                        super::output::s(&report["sealed_through"])
                    );
                    if let Some(matched) = against {
                        println!("{matched}");
                    }
                }
            } else {
                return Err(CliError::Input(format!(
                    "audit log FAILED at entry {}: {} [{}]",
                    report["first_bad"]["seq"],
                    report["first_bad"]["problem"].as_str().unwrap_or_default(),
                    report["code"].as_str().unwrap_or("audit_tampered")
                )));
            }
        }
        AuditCommand::Seal { common } => {
            let seal = super::output::post(common, "/v1/admin/audit/seal", &serde_json::json!({}))?;
            super::output::object(common.output, &seal);
        }
        AuditCommand::Export {
            filter,
            file,
            common,
        } => {
            let mut out: Box<dyn Write> = match file {
                Some(path) => Box::new(
                    std::fs::File::create(path)
                        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?,
                ),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut after = 0u64;
            loop {
                let page = get(
                    common,
                    &format!(
                        "/v1/admin/audit?limit=10000&after={after}{}",
                        filter.query()
                    ),
                )?;
                let entries = page["entries"].as_array().cloned().unwrap_or_default();
                for e in &entries {
                    writeln!(out, "{e}").map_err(|e| CliError::Input(e.to_string()))?;
                }
                match page["next_after"].as_u64() {
                    Some(next) if !entries.is_empty() => after = next,
                    _ => break,
                }
            }
            out.flush().map_err(|e| CliError::Input(e.to_string()))?;
        }
    }
    Ok(())
}
