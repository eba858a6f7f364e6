//! Identifier newtypes. Each constructor checks the invariant documented on the type, so a value
//! of these types is always valid.

use std::fmt;
use std::num::NonZeroU32;

use crate::error::EngineError;

/// Largest version a key can have: the text ciphertext carries exactly five digits.
pub const MAX_KEY_VERSION: u32 = 99_999;

/// A key's identity: random, never reused, and bound into every ciphertext's associated data, so a
/// ciphertext can only be opened under the key that made it even if key names are reused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(uuid::Uuid);

impl KeyId {
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    pub fn parse(text: &str) -> Result<Self, EngineError> {
        uuid::Uuid::parse_str(text)
            .map(Self)
            .map_err(|_| EngineError::InvalidArgument("key id is not a UUID".into()))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// An application's identity.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppId(uuid::Uuid);

impl AppId {
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    pub fn parse(text: &str) -> Result<Self, EngineError> {
        uuid::Uuid::parse_str(text)
            .map(Self)
            .map_err(|_| EngineError::InvalidArgument("app id is not a UUID".into()))
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppId({self})")
    }
}

/// Checks the shared naming rule for keys and apps: 1 to 128 characters of ASCII letters, digits,
/// `-`, `_` and `.`, starting with a letter or digit. Names appear in URLs and audit records, so
/// nothing in them needs escaping.
fn check_name(kind: &'static str, name: &str) -> Result<(), EngineError> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(EngineError::InvalidName {
            kind,
            reason: "use 1 to 128 of A-Z a-z 0-9 - _ . starting with a letter or digit",
        })
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $ty(String);

        impl $ty {
            pub fn new(name: &str) -> Result<Self, EngineError> {
                check_name($kind, name)?;
                Ok(Self(name.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($ty), self.0)
            }
        }

        impl std::borrow::Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// A key's name, unique among live keys; what applications put in the URL.
    KeyName,
    "key"
);
name_type!(
    /// An application's name, unique.
    AppName,
    "app"
);

/// A key version: 1 to [`MAX_KEY_VERSION`], because the ciphertext header has five digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyVersion(NonZeroU32);

impl KeyVersion {
    pub const FIRST: KeyVersion = KeyVersion(NonZeroU32::MIN);

    pub fn new(version: u32) -> Result<Self, EngineError> {
        match NonZeroU32::new(version) {
            Some(v) if version <= MAX_KEY_VERSION => Ok(Self(v)),
            _ => Err(EngineError::InvalidArgument(format!(
                "key version must be between 1 and {MAX_KEY_VERSION}"
            ))),
        }
    }

    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// The version after this one, or an error when the five-digit space is used up.
    pub fn next(self) -> Result<Self, EngineError> {
        Self::new(self.get() + 1).map_err(|_| EngineError::VersionsExhausted)
    }
}

impl fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// Names the master key a working key is wrapped under, so that a master-key rotation can find
/// what is still wrapped under the old one.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MasterKeyId(String);

impl MasterKeyId {
    pub fn new(id: &str) -> Result<Self, EngineError> {
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(EngineError::InvalidArgument(
                "master key id must be 1 to 64 printable ASCII characters".into(),
            ));
        }
        Ok(Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MasterKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        assert!(KeyName::new("payments.card-pan_v2").is_ok());
        for bad in ["", "-x", ".x", "a b", "a/b", "é", &"a".repeat(129)] {
            assert!(KeyName::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(AppName::new(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn versions_fit_five_digits() {
        assert!(KeyVersion::new(0).is_err());
        assert_eq!(KeyVersion::new(99_999).unwrap().get(), 99_999);
        assert!(KeyVersion::new(100_000).is_err());
        assert!(matches!(
            KeyVersion::new(99_999).unwrap().next(),
            Err(EngineError::VersionsExhausted)
        ));
        assert_eq!(KeyVersion::FIRST.next().unwrap().get(), 2);
    }

    #[test]
    fn key_ids_round_trip() {
        let id = KeyId::random();
        assert_eq!(KeyId::parse(&id.to_string()).unwrap(), id);
        assert_eq!(KeyId::from_bytes(*id.as_bytes()), id);
        assert!(KeyId::parse("nope").is_err());
    }
}
