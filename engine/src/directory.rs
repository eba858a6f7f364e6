//! The data plane's view of the store: every key (as an immutable [`KeyEntry`]) and every
//! credential, published as one immutable snapshot. Request handlers read it without locks; the
//! key-sync actor builds a new snapshot when the store commits a change and swaps it in.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::certificate::CertFingerprint;
use crate::clock::Timestamp;
use crate::ids::{AppId, AppName, KeyId, KeyName};
use crate::keyring::KeyEntry;
use crate::role::RoleSet;
use crate::token::TokenHash;

/// Position in the store's change feed. Strictly increasing, assigned in commit order.
pub type Revision = u64;

/// A live certificate binding, as the directory loads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateCredential {
    pub fingerprint: CertFingerprint,
    pub principal: Principal,
}

/// Who a request acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An administrator's root token (the dev root token, or the one `kms init` issued).
    Root {
        label: String,
    },
    App {
        id: AppId,
        name: AppName,
    },
    /// A person, through a session opened with password and second factor.
    User {
        name: String,
        roles: RoleSet,
        /// The session's end.
        expires_at: Timestamp,
    },
}

impl Principal {
    /// How the principal appears in audit records.
    pub fn audit_name(&self) -> String {
        match self {
            Principal::Root { label } => format!("root:{label}"),
            Principal::App { name, .. } => format!("app:{name}"),
            Principal::User { name, .. } => format!("user:{name}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Credential {
    pub hash: TokenHash,
    pub principal: Principal,
    /// A token replaced by a rotation stops working at this time (no store change needed).
    pub expires_at: Option<Timestamp>,
}

/// Who a token belongs to, with the name audit records and usage counts give them, made once
/// per credential set rather than per request.
#[derive(Debug)]
pub struct Identity {
    pub principal: Principal,
    pub actor: Arc<str>,
    /// Checked per request against the clock, only for tokens that have one.
    pub expires_at: Option<Timestamp>,
}

impl Identity {
    pub fn expired(&self, now: impl FnOnce() -> Timestamp) -> bool {
        self.expires_at.is_some_and(|at| now() >= at)
    }
}

#[derive(Debug, Default)]
pub struct Directory {
    /// The store revision this snapshot reflects.
    pub revision: Revision,
    keys: HashMap<KeyName, Arc<KeyEntry>>,
    names: HashMap<KeyId, KeyName>,
    credentials: HashMap<u64, Vec<(TokenHash, Arc<Identity>)>>,
    app_names: HashMap<AppId, AppName>,
    /// Client-certificate fingerprints bound to apps (only read when a TLS client presented one).
    certificates: HashMap<CertFingerprint, Arc<Identity>>,
}

impl Directory {
    pub fn new(revision: Revision, keys: Vec<KeyEntry>, credentials: Vec<Credential>) -> Self {
        let mut dir = Directory {
            revision,
            ..Default::default()
        };
        for key in keys {
            dir.put_key(key);
        }
        dir.set_credentials(credentials);
        dir
    }

    pub fn key(&self, name: &str) -> Option<&Arc<KeyEntry>> {
        self.keys.get(name)
    }

    pub fn keys(&self) -> impl Iterator<Item = &Arc<KeyEntry>> {
        self.keys.values()
    }

    /// Finds who a bearer token belongs to.
    pub fn authenticate(&self, token: &str) -> Option<&Arc<Identity>> {
        let hash = TokenHash::of(token);
        self.credentials
            .get(&hash.lookup_key())?
            .iter()
            .find(|(h, _)| h.matches(&hash))
            .map(|(_, identity)| identity)
    }

    /// Finds the app a verified client certificate is bound to.
    pub fn certificate(&self, fingerprint: &CertFingerprint) -> Option<&Arc<Identity>> {
        self.certificates.get(fingerprint)
    }

    pub fn set_certificates(&mut self, certificates: Vec<CertificateCredential>) {
        self.certificates = certificates
            .into_iter()
            .map(|c| {
                let identity = Identity {
                    actor: c.principal.audit_name().into(),
                    principal: c.principal,
                    expires_at: None,
                };
                (c.fingerprint, Arc::new(identity))
            })
            .collect();
    }

    /// Inserts or replaces a key (a renamed key drops its old name). The rate limiters of the
    /// key's previous snapshot carry over.
    pub fn put_key(&mut self, mut key: KeyEntry) {
        if let Some(previous) = self.names.get(&key.id).and_then(|n| self.keys.get(n)) {
            key.keep_rate_state(previous);
        }
        if let Some(old) = self.names.insert(key.id, key.name.clone()) {
            self.keys.remove(&old);
        }
        self.keys.insert(key.name.clone(), Arc::new(key));
    }

    /// Removes a key; returns its last snapshot, if it was there.
    pub fn remove_key(&mut self, id: &KeyId) -> Option<Arc<KeyEntry>> {
        let name = self.names.remove(id)?;
        self.keys.remove(&name)
    }

    /// The name of an app that holds at least one live token.
    pub fn app_name(&self, id: &AppId) -> Option<&AppName> {
        self.app_names.get(id)
    }

    pub fn set_credentials(&mut self, credentials: Vec<Credential>) {
        self.credentials.clear();
        self.app_names.clear();
        for c in credentials {
            if let Principal::App { id, name } = &c.principal {
                self.app_names.insert(*id, name.clone());
            }
            let identity = Identity {
                actor: c.principal.audit_name().into(),
                principal: c.principal,
                expires_at: c.expires_at,
            };
            self.credentials
                .entry(c.hash.lookup_key())
                .or_default()
                .push((c.hash, Arc::new(identity)));
        }
    }

    /// A copy to modify: the maps are cloned, the key entries are shared.
    pub fn next(&self, revision: Revision) -> Directory {
        Directory {
            revision,
            keys: self.keys.clone(),
            names: self.names.clone(),
            credentials: self.credentials.clone(),
            app_names: self.app_names.clone(),
            certificates: self.certificates.clone(),
        }
    }
}

/// The published snapshot.
#[derive(Debug, Default)]
pub struct DirectoryHandle(ArcSwap<Directory>);

impl DirectoryHandle {
    pub fn new(directory: Directory) -> Self {
        Self(ArcSwap::from_pointee(directory))
    }

    pub fn load(&self) -> Guard<Arc<Directory>> {
        self.0.load()
    }

    pub fn publish(&self, directory: Directory) {
        self.0.store(Arc::new(directory));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticates_only_known_tokens() {
        let app = Principal::App {
            id: AppId::random(),
            name: AppName::new("billing").unwrap(),
        };
        let dir = Directory::new(
            1,
            vec![],
            vec![
                Credential {
                    hash: TokenHash::of("kms_good"),
                    principal: app.clone(),
                    expires_at: None,
                },
                Credential {
                    hash: TokenHash::of("kms_old"),
                    principal: app.clone(),
                    expires_at: Some(Timestamp::from_millis(1000)),
                },
            ],
        );
        let found = dir.authenticate("kms_good").unwrap();
        assert_eq!(found.principal, app);
        assert!(!found.expired(|| Timestamp::from_millis(i64::MAX)));
        let old = dir.authenticate("kms_old").unwrap();
        assert!(!old.expired(|| Timestamp::from_millis(999)));
        assert!(old.expired(|| Timestamp::from_millis(1000)));
        assert_eq!(&*found.actor, "app:billing");
        assert!(dir.authenticate("kms_goo").is_none());
        assert!(dir.authenticate("").is_none());
    }

    #[test]
    fn certificates_resolve_to_their_app_and_survive_the_next_snapshot() {
        let app = Principal::App {
            id: AppId::random(),
            name: AppName::new("checkout").unwrap(),
        };
        let bound = CertFingerprint::of_der(b"checkout cert");
        let mut dir = Directory::new(1, vec![], vec![]);
        dir.set_certificates(vec![CertificateCredential {
            fingerprint: bound,
            principal: app.clone(),
        }]);
        let found = dir.certificate(&bound).unwrap();
        assert_eq!(found.principal, app);
        assert_eq!(&*found.actor, "app:checkout");
        assert!(!found.expired(|| Timestamp::from_millis(i64::MAX)));
        assert!(
            dir.certificate(&CertFingerprint::of_der(b"other"))
                .is_none()
        );
        let next = dir.next(2);
        assert_eq!(next.certificate(&bound).unwrap().principal, app);
        dir.set_certificates(vec![]);
        assert!(dir.certificate(&bound).is_none());
    }
}
