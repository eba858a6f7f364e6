//! `kms approvals list|show|approve|reject|collect`.

use clap::Subcommand;
use serde_json::json;

use crate::client::CliError;
use crate::output::{Common, get, object, post, rows};

#[derive(Subcommand, Debug)]
pub enum ApprovalsCommand {
    /// Requests, newest first.
    List {
        /// Only those still waiting.
        #[arg(long)]
        pending: bool,
        #[command(flatten)]
        common: Common,
    },
    /// One request: what it runs with (its parameters and their hash), what it changes, and its
    /// votes.
    Show {
        /// The request's id.
        id: i64,
        #[command(flatten)]
        common: Common,
    },
    /// Approve what `show` shows: the request's parameters, bound by their hash. With
    /// `--params-hash`, only if the request still hashes to it. The approval that completes the
    /// quorum runs the action.
    Approve {
        /// The request's id.
        id: i64,
        /// The `params_hash` you checked with `kms approvals show`.
        #[arg(long)]
        params_hash: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Collect what your request's run left for you alone (a token, an export, your half of an
    /// enrolment token), once.
    Collect {
        /// The request's id.
        id: i64,
        #[command(flatten)]
        common: Common,
    },
    /// Reject a request: it will not run.
    Reject {
        /// The request's id.
        id: i64,
        #[command(flatten)]
        common: Common,
    },
}

const COLUMNS: &[(&str, &str, usize)] = &[
    ("ID", "id", 6),
    ("ACTION", "action", 30),
    ("TARGET", "target", 24),
    ("REQUESTER", "requester", 20),
    ("STATUS", "status", 10),
    ("APPROVALS", "approvals", 9),
    ("QUORUM", "quorum", 6),
];

pub fn run(command: &ApprovalsCommand) -> Result<(), CliError> {
    match command {
        ApprovalsCommand::List { pending, common } => {
            let answer = get(common, &format!("/v1/admin/approvals?pending={pending}"))?;
            rows(common.output, &answer, "approvals", COLUMNS);
        }
        ApprovalsCommand::Show { id, common } => {
            object(
                common.output,
                &get(common, &format!("/v1/admin/approvals/{id}"))?,
            );
        }
        ApprovalsCommand::Approve {
            id,
            params_hash,
            common,
        } => {
            let shown = get(common, &format!("/v1/admin/approvals/{id}"))?;
            let hash = match params_hash {
                Some(h) => h.clone(),
                None => {
                    // What this approval binds, shown before it is sent.
                    eprintln!(
                        "approving {} {}: {}",
                        shown["action"].as_str().unwrap_or_default(),
                        shown["target"].as_str().unwrap_or_default(),
                        shown["details"]
                    );
                    shown["params_hash"].as_str().unwrap_or_default().to_owned()
                }
            };
            object(
                common.output,
                &post(
                    common,
                    &format!("/v1/admin/approvals/{id}/approve"),
                    &json!({ "params_hash": hash }),
                )?,
            );
        }
        ApprovalsCommand::Collect { id, common } => {
            object(
                common.output,
                &post(
                    common,
                    &format!("/v1/admin/approvals/{id}/collect"),
                    &json!({}),
                )?,
            );
        }
        ApprovalsCommand::Reject { id, common } => {
            object(
                common.output,
                &post(
                    common,
                    &format!("/v1/admin/approvals/{id}/reject"),
                    &json!({}),
                )?,
            );
        }
    }
    Ok(())
}
