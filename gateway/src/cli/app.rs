//! `kms app create` and `kms grant`: machine identities and what they may do with a key.

use clap::Subcommand;
use serde_json::json;

use super::CliError;
use super::output::{Common, object, post};

#[derive(Subcommand, Debug)]
pub enum AppCommand {
    /// Create an app; prints its token once.
    Create {
        name: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Args, Debug)]
pub struct GrantArgs {
    pub key: String,
    pub app: String,
    /// encrypt, decrypt, rewrap, datakey, sign, verify, hmac (repeatable; none revokes).
    #[arg(long = "operation")]
    pub operations: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

pub fn run(command: &AppCommand) -> Result<(), CliError> {
    match command {
        AppCommand::Create { name, common } => {
            object(
                common.output,
                &post(common, "/v1/admin/apps", &json!({ "name": name }))?,
            );
        }
    }
    Ok(())
}

pub fn grant(args: &GrantArgs) -> Result<(), CliError> {
    let answer = post(
        &args.common,
        &format!("/v1/admin/keys/{}/grants", args.key),
        &json!({ "app": args.app, "operations": args.operations }),
    )?;
    object(args.common.output, &answer);
    Ok(())
}
