//! `kms app rotate-token NAME` and `kms app revoke NAME`: an app's credentials. A rotation issues
//! a new token (shown once) and lets the old ones work for an overlap; a revocation ends every
//! token and bound certificate at once (the app and its grants stay).

use clap::Args;
use serde_json::{Value, json};

use crate::client::CliError;
use crate::output::{Common, Output, object, post, s};

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// The app's name.
    pub name: String,
    /// How long the app's other live tokens keep working, in seconds (0: they stop now; at most
    /// 7776000 = 90 days).
    #[arg(long, default_value_t = 86_400)]
    pub overlap_seconds: u64,
    #[command(flatten)]
    pub common: Common,
}

pub fn rotate(args: &RotateArgs) -> Result<(), CliError> {
    let answer = post(
        &args.common,
        &format!("/v1/admin/apps/{}/tokens", args.name),
        &json!({ "overlap_seconds": args.overlap_seconds }),
    )?;
    print_token(args.common.output, &answer);
    Ok(())
}

/// The new token, or (for a user) the approval request it became.
fn print_token(output: Output, answer: &Value) {
    match (output, answer["token"].as_str()) {
        (Output::Table, Some(token)) => {
            println!("{token}");
            eprintln!(
                "new token {} for app {}; shown once. The app's previous tokens work until {}.",
                s(&answer["token_id"]),
                s(&answer["app"]),
                s(&answer["previous_tokens_expire_at"])
            );
        }
        (Output::Table, None) => {
            object(output, answer);
            eprintln!(
                "the rotation waits for approval (`kms approvals approve ID`); then collect the \
                 token with `kms approvals collect ID`"
            );
        }
        (Output::Json, _) => object(output, answer),
    }
}

pub fn revoke(name: &str, common: &Common) -> Result<(), CliError> {
    let answer = post(common, &format!("/v1/admin/apps/{name}/revoke"), &json!({}))?;
    object(common.output, &answer);
    Ok(())
}
