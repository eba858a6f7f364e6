//! What a `kms serve` process does: `service` (the data plane, for the applications of its zone),
//! `store` (the database, the HSM, and the control plane that needs them) and `manage` (the
//! management zone's entry to the control plane). Without `roles` in kms.toml a process is all
//! three, as in dev mode (docs/deployment.md).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    pub service: bool,
    pub store: bool,
    pub manage: bool,
}

impl Roles {
    pub const ALL: Roles = Roles {
        service: true,
        store: true,
        manage: true,
    };

    pub fn parse(names: &[String]) -> Result<Self, String> {
        let mut roles = Roles {
            service: false,
            store: false,
            manage: false,
        };
        for name in names {
            match name.as_str() {
                "service" => roles.service = true,
                "store" => roles.store = true,
                "manage" => roles.manage = true,
                other => {
                    return Err(format!(
                        "unknown role `{other}`: roles are service, store and manage"
                    ));
                }
            }
        }
        if !(roles.service || roles.store || roles.manage) {
            return Err("`roles` names no role".into());
        }
        Ok(roles)
    }
}

impl Default for Roles {
    fn default() -> Self {
        Self::ALL
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.service, "service"),
            (self.store, "store"),
            (self.manage, "manage"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        f.write_str(&names.join("+"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_refuse_unknown_or_none() {
        let r = Roles::parse(&["service".into(), "manage".into()]).unwrap();
        assert_eq!(
            (r.service, r.store, r.manage, r.to_string()),
            (true, false, true, "service+manage".to_owned())
        );
        assert!(
            Roles::parse(&["cache".into()])
                .unwrap_err()
                .contains("cache")
        );
        assert!(Roles::parse(&[]).is_err());
        assert_eq!(Roles::default(), Roles::ALL);
    }
}
