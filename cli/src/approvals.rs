//! `kms approvals list|show|approve|reject`.

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
    Show {
        id: i64,
        #[command(flatten)]
        common: Common,
    },
    /// Approve; the approval that completes the quorum runs the action.
    Approve {
        id: i64,
        #[command(flatten)]
        common: Common,
    },
    Reject {
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
        ApprovalsCommand::Approve { id, common } => {
            object(
                common.output,
                &post(
                    common,
                    &format!("/v1/admin/approvals/{id}/approve"),
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
