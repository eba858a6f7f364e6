//! The system refuses to leave fewer people than its quorums need: for every set of roles that
//! approves some request, someone to ask and a quorum of others to approve (quorum + 1 enabled
//! holders); for master-key ceremonies, the configured custodians plus the enabled people
//! holding each custodian role must still meet the ceremony quorum. A change that would go below
//! a floor is refused, unless the count was already below it and does not fall further (a
//! bootstrap still growing its staff).

use std::collections::BTreeMap;

use kms_engine::people::UserRecord;
use kms_engine::role::{Role, RoleSet};

use crate::approvals::approvers::approver_sets;
use crate::context::Control;
use crate::custodians::CustodianRole;
use crate::error::ControlError;

/// What a change does to one account: its roles and whether it is disabled, after.
pub struct Change<'a> {
    pub user: &'a str,
    pub roles: RoleSet,
    pub disabled: bool,
}

fn counts(users: &[UserRecord], change: Option<&Change<'_>>) -> Vec<(RoleSet, bool)> {
    users
        .iter()
        .map(|u| match change {
            Some(c) if c.user == u.name => (c.roles, c.disabled),
            _ => (u.roles, u.disabled),
        })
        .collect()
}

fn holders(people: &[(RoleSet, bool)], set: RoleSet) -> usize {
    people
        .iter()
        .filter(|(roles, disabled)| !disabled && roles.intersects(set))
        .count()
}

/// A person counts for the ceremony quorum once: as a security administrator if they are one,
/// else as an operator.
fn custodians(people: &[(RoleSet, bool)]) -> BTreeMap<CustodianRole, usize> {
    let mut out = BTreeMap::new();
    for (roles, _) in people.iter().filter(|(_, disabled)| !disabled) {
        let role = if roles.contains(Role::SecurityAdmin) {
            CustodianRole::SecurityAdmin
        } else if roles.contains(Role::Operator) {
            CustodianRole::Operator
        } else {
            continue;
        };
        *out.entry(role).or_insert(0) += 1;
    }
    out
}

/// Refuses `change` when it takes a quorum's pool below its floor.
pub async fn check(ctl: &Control, change: &Change<'_>) -> Result<(), ControlError> {
    let users = ctl.store.users().await?;
    let before = counts(&users, None);
    let after = counts(&users, Some(change));
    let floor = usize::from(ctl.access.approval_quorum) + 1;
    for set in approver_sets() {
        let (was, will) = (holders(&before, set), holders(&after, set));
        if will < floor && will < was {
            return Err(ControlError::conflict(
                "quorum_floor",
                format!(
                    "this would leave {will} people holding {}: requests they approve need {floor} \
                     (someone to ask and {} others)",
                    set.names().join(" or "),
                    floor - 1
                ),
            ));
        }
    }
    let (was, will) = (custodians(&before), custodians(&after));
    for (role, required) in ctl.ceremonies.quorum.required() {
        let configured = ctl.ceremonies.custodians.count(*role);
        let had = configured + was.get(role).copied().unwrap_or(0);
        let has = configured + will.get(role).copied().unwrap_or(0);
        if has < usize::from(*required) && has < had {
            return Err(ControlError::conflict(
                "quorum_floor",
                format!(
                    "this would leave {has} custodians who are {role}: master-key ceremonies need \
                     {required}"
                ),
            ));
        }
    }
    Ok(())
}
