//! Who may call each admin endpoint: one table, shown in docs/access-control.md (a test checks
//! that the two agree and walks every cell against a running server).
//!
//! The root token (the bootstrap credential) may call everything, without approvals; revoke it once
//! the first administrators exist. Apps never reach the admin API. Master-key ceremonies are
//! authorised by custodians with their own quorum (docs/hsm.md), not by this table.

use kms_engine::role::{Role, RoleSet};

use Role::{Auditor, KeyAdmin, Operator, SecurityAdmin, SystemAdmin};

pub struct Rule {
    /// The action name: audit records and approvals use it.
    pub action: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub roles: &'static [Role],
}

const ALL: &[Role] = &[SystemAdmin, SecurityAdmin, KeyAdmin, Auditor, Operator];
const KEY_READERS: &[Role] = &[KeyAdmin, Auditor, Operator];
const HSM_READERS: &[Role] = &[SecurityAdmin, Auditor, Operator];
/// Roles some sensitive action names as approvers (crate::approvals::approvers::approver_roles).
const APPROVERS: &[Role] = &[SystemAdmin, SecurityAdmin, KeyAdmin];

const fn rule(
    action: &'static str,
    method: &'static str,
    path: &'static str,
    roles: &'static [Role],
) -> Rule {
    Rule {
        action,
        method,
        path,
        roles,
    }
}

pub const RULES: &[Rule] = &[
    // keys, grants, apps
    rule("create_key", "POST", "/v1/admin/keys", &[KeyAdmin]),
    rule("list_keys", "GET", "/v1/admin/keys", KEY_READERS),
    rule("read_key", "GET", "/v1/admin/keys/{name}", KEY_READERS),
    rule(
        "read_key_usage",
        "GET",
        "/v1/admin/keys/{name}/usage",
        KEY_READERS,
    ),
    rule(
        "rotate_key",
        "POST",
        "/v1/admin/keys/{name}/rotate",
        &[KeyAdmin],
    ),
    rule(
        "rollback_key",
        "POST",
        "/v1/admin/keys/{name}/rollback",
        &[KeyAdmin],
    ),
    rule(
        "configure_key",
        "POST",
        "/v1/admin/keys/{name}/config",
        &[KeyAdmin],
    ),
    rule(
        "disable_version",
        "POST",
        "/v1/admin/keys/{name}/versions/{version}/disable",
        &[KeyAdmin],
    ),
    rule(
        "enable_version",
        "POST",
        "/v1/admin/keys/{name}/versions/{version}/enable",
        &[KeyAdmin],
    ),
    rule(
        "schedule_destruction_version",
        "POST",
        "/v1/admin/keys/{name}/versions/{version}/schedule-destruction",
        &[KeyAdmin],
    ),
    rule(
        "cancel_destruction_version",
        "POST",
        "/v1/admin/keys/{name}/versions/{version}/cancel-destruction",
        &[KeyAdmin],
    ),
    rule(
        "export_key",
        "POST",
        "/v1/admin/keys/{name}/export",
        &[KeyAdmin],
    ),
    rule("grant", "POST", "/v1/admin/keys/{name}/grants", &[KeyAdmin]),
    rule(
        "set_key_policy",
        "POST",
        "/v1/admin/keys/{name}/policy",
        &[KeyAdmin],
    ),
    rule("create_app", "POST", "/v1/admin/apps", &[KeyAdmin]),
    rule("list_apps", "GET", "/v1/admin/apps", KEY_READERS),
    rule("get_app", "GET", "/v1/admin/apps/{name}", KEY_READERS),
    rule(
        "rotate_app_token",
        "POST",
        "/v1/admin/apps/{name}/tokens",
        &[KeyAdmin],
    ),
    rule(
        "revoke_app",
        "POST",
        "/v1/admin/apps/{name}/revoke",
        &[KeyAdmin],
    ),
    rule(
        "bind_app_certificate",
        "POST",
        "/v1/admin/apps/{name}/certificate",
        &[KeyAdmin],
    ),
    rule("list_events", "GET", "/v1/admin/events", KEY_READERS),
    // people
    rule("create_user", "POST", "/v1/admin/users", &[SystemAdmin]),
    rule(
        "list_users",
        "GET",
        "/v1/admin/users",
        &[SystemAdmin, Auditor],
    ),
    rule(
        "read_user",
        "GET",
        "/v1/admin/users/{name}",
        &[SystemAdmin, Auditor],
    ),
    rule(
        "set_user_roles",
        "POST",
        "/v1/admin/users/{name}/roles",
        &[SystemAdmin],
    ),
    rule(
        "reset_user",
        "POST",
        "/v1/admin/users/{name}/reset",
        &[SystemAdmin],
    ),
    rule(
        "disable_user",
        "POST",
        "/v1/admin/users/{name}/disable",
        &[SystemAdmin],
    ),
    rule(
        "enable_user",
        "POST",
        "/v1/admin/users/{name}/enable",
        &[SystemAdmin],
    ),
    rule(
        "revoke_root_tokens",
        "POST",
        "/v1/admin/root-tokens/revoke",
        &[SystemAdmin],
    ),
    // approvals (which of these roles may vote on a request is decided per request)
    rule("list_approvals", "GET", "/v1/admin/approvals", ALL),
    rule("read_approval", "GET", "/v1/admin/approvals/{id}", ALL),
    rule(
        "approve",
        "POST",
        "/v1/admin/approvals/{id}/approve",
        APPROVERS,
    ),
    rule(
        "reject",
        "POST",
        "/v1/admin/approvals/{id}/reject",
        APPROVERS,
    ),
    // only the requester, once (kms_control::approvals::request::collect)
    rule(
        "collect_approval_result",
        "POST",
        "/v1/admin/approvals/{id}/collect",
        ALL,
    ),
    // audit
    rule("read_audit", "GET", "/v1/admin/audit", &[Auditor]),
    rule("verify_audit", "GET", "/v1/admin/audit/verify", &[Auditor]),
    rule(
        "seal_audit",
        "POST",
        "/v1/admin/audit/seal",
        &[Auditor, SecurityAdmin],
    ),
    // backups
    rule("backup", "POST", "/v1/admin/backup", &[SecurityAdmin]),
    // the HSM
    rule("hsm_status", "GET", "/v1/hsm/status", HSM_READERS),
    rule("hsm_rotations", "GET", "/v1/hsm/rotations", HSM_READERS),
    // zones (multi-node deployments): registering a zone's transport key waits for approval
    rule("register_zone", "POST", "/v1/admin/zones", &[SecurityAdmin]),
    rule("list_zones", "GET", "/v1/admin/zones", ALL),
    // the nodes of the internal API, with their readiness and sync lag
    rule("list_nodes", "GET", "/v1/admin/nodes", ALL),
];

/// Vault Transit calls people may make (with their session token): exporting, backing up and
/// restoring a key, each only through an approval (approvals/gate.rs). They are not admin routes
/// (the Transit mount is configurable), so they are not in the table; the roles are those of the
/// native export.
pub const TRANSIT: &[(&str, &[Role])] = &[
    ("transit_export_key", &[KeyAdmin]),
    ("transit_backup_key", &[KeyAdmin]),
    ("transit_restore_key", &[KeyAdmin]),
];

/// The roles that may perform `action` (none for an action the table does not list).
pub fn allowed(action: &str) -> RoleSet {
    RULES
        .iter()
        .find(|r| r.action == action)
        .map(|r| RoleSet::of(r.roles))
        .or_else(|| {
            TRANSIT
                .iter()
                .find(|(name, _)| *name == action)
                .map(|(_, roles)| RoleSet::of(roles))
        })
        .unwrap_or(RoleSet::EMPTY)
}

/// The table as Markdown, as docs/access-control.md shows it.
pub fn markdown_table() -> String {
    let mut out = String::from("| Endpoint | Action |");
    for role in Role::ALL {
        out.push_str(&format!(" {role} |"));
    }
    out.push_str("\n|---|---|");
    for _ in Role::ALL {
        out.push_str(":-:|");
    }
    out.push('\n');
    for r in RULES {
        let set = RoleSet::of(r.roles);
        out.push_str(&format!("| `{} {}` | `{}` |", r.method, r.path, r.action));
        for role in Role::ALL {
            out.push_str(if set.contains(role) { " ✔ |" } else { " |" });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_listed_once_and_unknown_actions_allow_nobody() {
        let mut names: Vec<&str> = RULES.iter().map(|r| r.action).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "an action is listed twice");
        assert!(allowed("no_such_action").is_empty());
        assert!(allowed("read_audit").contains(Role::Auditor));
        assert!(!allowed("read_audit").contains(Role::SystemAdmin));
    }
}
