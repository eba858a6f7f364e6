//! Custodians: the people whose approvals a master-key ceremony needs, and the quorum rule.
//!
//! Until the management center brings users and roles into the store, custodians are listed in
//! `kms.toml` with argon2id password hashes (`kms hash-password` makes one). Each approves with
//! their own name and password; the quorum counts distinct custodians per role.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use serde::Deserialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustodianRole {
    /// Master-key ceremonies and the HSM.
    SecurityAdmin,
    /// Present for ceremonies, as the article's "1 operator".
    Operator,
}

impl CustodianRole {
    pub fn name(self) -> &'static str {
        match self {
            CustodianRole::SecurityAdmin => "security_admin",
            CustodianRole::Operator => "operator",
        }
    }
}

impl fmt::Display for CustodianRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone)]
pub struct Custodian {
    pub name: String,
    pub role: CustodianRole,
    password_hash: String,
}

impl fmt::Debug for Custodian {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Custodian({}, {})", self.name, self.role)
    }
}

impl Custodian {
    pub fn new(name: &str, role: CustodianRole, password_hash: &str) -> Result<Self, String> {
        let hash = PasswordHash::new(password_hash)
            .map_err(|e| format!("custodian `{name}`: password_hash is not a PHC string: {e}"))?;
        if hash.algorithm.as_str() != "argon2id" {
            return Err(format!(
                "custodian `{name}`: password_hash must be argon2id"
            ));
        }
        if name.is_empty() || name.contains(':') {
            return Err("a custodian's name must be non-empty and contain no `:`".into());
        }
        Ok(Self {
            name: name.to_owned(),
            role,
            password_hash: password_hash.to_owned(),
        })
    }
}

impl Custodian {
    /// A person from the store acting as a custodian through their session (password and TOTP
    /// already checked at login). Named `user:<name>`, so they never merge with a kms.toml
    /// custodian of the same name when distinct approvers are counted.
    pub fn from_user(name: &str, role: CustodianRole) -> Self {
        Self {
            name: format!("user:{name}"),
            role,
            password_hash: String::new(),
        }
    }
}

/// An argon2id PHC string for `password`, with a random salt and the default parameters.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A hash of a password nobody has: checked when the name is unknown, so that an unknown name
/// costs as much time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("kms-decoy-password").unwrap_or_default())
}

/// Checks `password` against an argon2id PHC string; with no hash (an unknown name) it checks a
/// decoy, so that both cost the same time, and fails.
pub fn verify_password(hash: Option<&str>, password: &str) -> bool {
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), hash.unwrap_or_else(|| decoy_hash()))
        .is_ok();
    ok && hash.is_some()
}

#[derive(Clone, Debug, Default)]
pub struct Custodians(Vec<Custodian>);

impl Custodians {
    pub fn new(list: Vec<Custodian>) -> Self {
        Self(list)
    }

    /// Checks a custodian's password (argon2id: ~20 ms; call off the HTTP workers).
    pub fn verify(&self, name: &str, password: &str) -> Option<Custodian> {
        let found = self.0.iter().find(|c| c.name == name);
        let ok = verify_password(found.map(|c| c.password_hash.as_str()), password);
        found.filter(|_| ok).cloned()
    }

    pub fn count(&self, role: CustodianRole) -> usize {
        self.0.iter().filter(|c| c.role == role).count()
    }
}

/// How many distinct custodians of each role a ceremony needs.
#[derive(Clone, Debug)]
pub struct Quorum {
    required: BTreeMap<CustodianRole, u8>,
    pub ttl: Duration,
}

impl Default for Quorum {
    fn default() -> Self {
        Self {
            required: [
                (CustodianRole::SecurityAdmin, 3),
                (CustodianRole::Operator, 1),
            ]
            .into_iter()
            .collect(),
            ttl: Duration::from_secs(3600),
        }
    }
}

impl Quorum {
    pub fn new(required: Vec<(CustodianRole, u8)>, ttl: Duration) -> Result<Self, String> {
        let required: BTreeMap<_, _> = required.into_iter().filter(|(_, n)| *n > 0).collect();
        if required.values().map(|n| u32::from(*n)).sum::<u32>() < 2 {
            return Err("a quorum needs at least two custodians".into());
        }
        Ok(Self { required, ttl })
    }

    /// Whether distinct approvers with these roles meet the quorum.
    pub fn is_met(&self, approver_roles: &[CustodianRole]) -> bool {
        self.required.iter().all(|(role, n)| {
            approver_roles.iter().filter(|r| *r == role).count() >= usize::from(*n)
        })
    }

    /// Whether the configured custodians, with `users` more people holding each role, could
    /// ever meet it.
    pub fn reachable(
        &self,
        custodians: &Custodians,
        users: &BTreeMap<CustodianRole, usize>,
    ) -> bool {
        self.required.iter().all(|(role, n)| {
            custodians.count(*role) + users.get(role).copied().unwrap_or(0) >= usize::from(*n)
        })
    }

    /// `3 security_admin + 1 operator`.
    pub fn describe(&self) -> String {
        self.required
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    pub fn required(&self) -> &BTreeMap<CustodianRole, u8> {
        &self.required
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_unknown_names_fail() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let c = Custodians::new(vec![
            Custodian::new("alice", CustodianRole::SecurityAdmin, &hash).unwrap(),
        ]);
        assert_eq!(c.verify("alice", "correct horse").unwrap().name, "alice");
        assert!(c.verify("alice", "wrong").is_none());
        assert!(c.verify("mallory", "correct horse").is_none());
        assert!(Custodian::new("bob", CustodianRole::Operator, "plaintext").is_err());
    }

    #[test]
    fn the_default_quorum_is_three_security_admins_and_one_operator() {
        use CustodianRole::*;
        let q = Quorum::default();
        assert_eq!(q.describe(), "3 security_admin + 1 operator");
        assert!(!q.is_met(&[SecurityAdmin, SecurityAdmin, SecurityAdmin]));
        assert!(!q.is_met(&[SecurityAdmin, SecurityAdmin, Operator, Operator]));
        assert!(q.is_met(&[SecurityAdmin, Operator, SecurityAdmin, SecurityAdmin]));
        assert!(Quorum::new(vec![(SecurityAdmin, 1)], Duration::ZERO).is_err());
    }
}
