//! `kms user ...`: people and their roles (system_admin), and revoking the root token.

use clap::Subcommand;
use serde_json::json;

use crate::client::CliError;
use crate::output::{Common, get, object, post, rows};

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a person without credentials: they set their own with an enrolment token (`kms
    /// enrol`). The root token gets the whole token at once; a user's request waits for
    /// approval, then the token is split between the requester and the approver who ran it.
    Create {
        /// The person's user name.
        name: String,
        /// system_admin, security_admin, key_admin, auditor, operator (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Every person, with roles and enrolment, lock and disable state.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// One person.
    Show {
        /// The person's user name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Replace a user's roles (any change but adding auditor waits for approval).
    Roles {
        /// The person's user name.
        name: String,
        /// system_admin, security_admin, key_admin, auditor, operator (repeatable): the roles
        /// the person will hold.
        #[arg(long = "role")]
        roles: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// End a person's password, TOTP and sessions and issue a new enrolment (waits for
    /// approval unless the root token asks).
    Reset {
        /// The person's user name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Disable a user and end their sessions (waits for approval unless the root token asks).
    Disable {
        /// The person's user name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Enable a user again (also clears a lock after failed logins).
    Enable {
        /// The person's user name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Revoke every root token (the bootstrap credential).
    RevokeRootTokens {
        #[command(flatten)]
        common: Common,
    },
}

const COLUMNS: &[(&str, &str, usize)] = &[
    ("NAME", "name", 20),
    ("ROLES", "roles", 40),
    ("ENROLLED", "enrolled", 9),
    ("DISABLED", "disabled", 9),
    ("LOCKED UNTIL", "locked_until", 26),
];

pub fn run(command: &UserCommand) -> Result<(), CliError> {
    match command {
        UserCommand::Create {
            name,
            roles,
            common,
        } => {
            let answer = post(
                common,
                "/v1/admin/users",
                &json!({ "name": name, "roles": roles }),
            )?;
            object(common.output, &answer);
        }
        UserCommand::Reset { name, common } => {
            object(
                common.output,
                &post(common, &format!("/v1/admin/users/{name}/reset"), &json!({}))?,
            );
        }
        UserCommand::List { common } => rows(
            common.output,
            &get(common, "/v1/admin/users")?,
            "users",
            COLUMNS,
        ),
        UserCommand::Show { name, common } => {
            object(
                common.output,
                &get(common, &format!("/v1/admin/users/{name}"))?,
            );
        }
        UserCommand::Roles {
            name,
            roles,
            common,
        } => {
            let answer = post(
                common,
                &format!("/v1/admin/users/{name}/roles"),
                &json!({ "roles": roles }),
            )?;
            object(common.output, &answer);
        }
        UserCommand::Disable { name, common } => {
            object(
                common.output,
                &post(
                    common,
                    &format!("/v1/admin/users/{name}/disable"),
                    &json!({}),
                )?,
            );
        }
        UserCommand::Enable { name, common } => {
            object(
                common.output,
                &post(
                    common,
                    &format!("/v1/admin/users/{name}/enable"),
                    &json!({}),
                )?,
            );
        }
        UserCommand::RevokeRootTokens { common } => {
            object(
                common.output,
                &post(common, "/v1/admin/root-tokens/revoke", &json!({}))?,
            );
        }
    }
    Ok(())
}
