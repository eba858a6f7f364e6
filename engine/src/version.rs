//! The lifecycle state of one key version.

use std::fmt;

use crate::error::EngineError;

/// State of a key version. Stored by its explicit code (see `stored_codes_never_change`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum VersionState {
    /// The one version of the key that encrypts (and decrypts).
    Active = 1,
    /// Decrypts old ciphertexts; no longer encrypts.
    DecryptOnly = 2,
    /// Neither encrypts nor decrypts, reversibly.
    Disabled = 3,
    /// Waiting out the destruction period; cancellable; neither encrypts nor decrypts.
    ScheduledForDestruction = 4,
    /// Material erased; only metadata kept. Final.
    Destroyed = 5,
}

impl VersionState {
    pub const ALL: &'static [VersionState] = &[
        VersionState::Active,
        VersionState::DecryptOnly,
        VersionState::Disabled,
        VersionState::ScheduledForDestruction,
        VersionState::Destroyed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            VersionState::Active => "active",
            VersionState::DecryptOnly => "decrypt_only",
            VersionState::Disabled => "disabled",
            VersionState::ScheduledForDestruction => "scheduled_for_destruction",
            VersionState::Destroyed => "destroyed",
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Result<Self, EngineError> {
        Self::ALL
            .iter()
            .copied()
            .find(|s| i64::from(s.code()) == code)
            .ok_or(EngineError::CorruptRecord("unknown version state code"))
    }

    pub fn can_decrypt(self) -> bool {
        matches!(self, VersionState::Active | VersionState::DecryptOnly)
    }
}

impl fmt::Display for VersionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_codes_never_change() {
        let codes: Vec<u8> = VersionState::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, vec![1, 2, 3, 4, 5]);
        for s in VersionState::ALL {
            assert_eq!(VersionState::from_code(i64::from(s.code())).unwrap(), *s);
        }
        assert!(VersionState::from_code(6).is_err());
    }

    #[test]
    fn only_active_and_decrypt_only_decrypt() {
        let decrypting: Vec<_> = VersionState::ALL
            .iter()
            .filter(|s| s.can_decrypt())
            .collect();
        assert_eq!(
            decrypting,
            vec![&VersionState::Active, &VersionState::DecryptOnly]
        );
    }
}
