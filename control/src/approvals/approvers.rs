//! Who approves each sensitive action (crate::approvals::action::Action names them): the people
//! administrators approve changes to people, key or security administrators approve what reaches
//! keys and data, security administrators approve zones and backups.

use kms_engine::role::{Role, RoleSet};

const PEOPLE: &[Role] = &[Role::SystemAdmin, Role::SecurityAdmin];
const KEYS: &[Role] = &[Role::KeyAdmin, Role::SecurityAdmin];
const SECURITY: &[Role] = &[Role::SecurityAdmin];

/// The approver roles of a sensitive action (none for an action that never waits).
pub fn approver_roles(action: &str) -> RoleSet {
    RoleSet::of(match action {
        "set_user_roles" | "create_user" | "reset_user" | "disable_user" => PEOPLE,
        "schedule_destruction_version"
        | "export_key"
        | "set_key_policy"
        | "grant"
        | "rotate_app_token"
        | "bind_app_certificate"
        | "transit_export_key"
        | "transit_backup_key"
        | "transit_restore_key" => KEYS,
        "register_zone" | "backup" => SECURITY,
        _ => &[],
    })
}

/// Every set of roles that approves something (for the quorum floors).
pub fn approver_sets() -> [RoleSet; 3] {
    [
        RoleSet::of(PEOPLE),
        RoleSet::of(KEYS),
        RoleSet::of(SECURITY),
    ]
}
