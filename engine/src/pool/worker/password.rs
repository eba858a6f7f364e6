//! The password operations inside a crypto worker: the browser's submission is decrypted, its
//! challenge spent and the password protected or compared here, so the plaintext password never
//! leaves this thread (docs/passwords.md).

use super::Worker;
use crate::challenges::Challenges;
use crate::ciphertext::{self, Kind, Parsed};
use crate::crypto::password::Submission;
use crate::error::EngineError;
use crate::ids::KeyVersion;
use crate::keyring::KeyEntry;
use crate::pool::Done;

impl Worker {
    /// Decrypts the submission with the active version's private key and spends its challenge.
    /// Only the active version's public key is handed out, so only it decrypts.
    fn submission(
        &mut self,
        key: &KeyEntry,
        encrypted: &[u8],
        challenges: &Challenges,
    ) -> Result<(Submission, KeyVersion), EngineError> {
        let now = self.now;
        let active = key.encrypting_version()?.version;
        let submission = self
            .prepared(key, active)?
            .key
            .password()?
            .open_submission(encrypted)?;
        challenges.consume(key.id, submission.challenge(), now)?;
        Ok((submission, active))
    }

    /// A protected value's version, if it may still be used.
    fn protected_version(key: &KeyEntry, protected: &str) -> Result<Parsed, EngineError> {
        let parsed = ciphertext::parse_as(Kind::Protected, protected)?;
        key.decrypting_version(parsed.version)?;
        Ok(parsed)
    }

    pub(super) fn password_protect(
        &mut self,
        key: &KeyEntry,
        encrypted: &[u8],
        salt: &[u8],
        challenges: &Challenges,
    ) -> Result<Done, EngineError> {
        let (submission, version) = self.submission(key, encrypted, challenges)?;
        let protected = self.prepared(key, version)?.key.password()?.protect(
            &key.id,
            version,
            salt,
            &submission,
        )?;
        Ok(Done::Protected { protected, version })
    }

    pub(super) fn password_verify(
        &mut self,
        key: &KeyEntry,
        encrypted: &[u8],
        salt: &[u8],
        protected: &str,
        challenges: &Challenges,
    ) -> Result<Done, EngineError> {
        // The stored value is checked first: a malformed one must not spend the challenge.
        let parsed = Self::protected_version(key, protected)?;
        let version = parsed.version;
        let (submission, active) = self.submission(key, encrypted, challenges)?;
        let matched = self.prepared(key, version)?.key.password()?.verify(
            &key.id,
            parsed,
            salt,
            &submission,
        )?;
        let upgraded = if matched && version != active {
            Some(self.prepared(key, active)?.key.password()?.protect(
                &key.id,
                active,
                salt,
                &submission,
            )?)
        } else {
            None
        };
        Ok(Done::PasswordMatch {
            matched,
            version,
            protected: upgraded,
        })
    }

    pub(super) fn password_rewrap(
        &mut self,
        key: &KeyEntry,
        protected: &str,
    ) -> Result<Done, EngineError> {
        let parsed = Self::protected_version(key, protected)?;
        let salted = self
            .prepared(key, parsed.version)?
            .key
            .password()?
            .open_for_rewrap(&key.id, parsed)?;
        let version = key.encrypting_version()?.version;
        let protected = self
            .prepared(key, version)?
            .key
            .password()?
            .seal_opened(&key.id, version, &salted)?;
        Ok(Done::Protected { protected, version })
    }
}
