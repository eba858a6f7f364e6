//! Bearer tokens for apps and administrators.
//!
//! A token is shown once and stored only as `SHA-256("kms-token-v1\0" ‖ token)`. Tokens we issue
//! carry 256 random bits, so a fast hash is enough (a slow password hash would cost every
//! request). Verification looks the hash up by its first eight bytes and then compares all 32
//! bytes in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::SecretString;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"kms-token-v1\0");
        h.update(token.as_bytes());
        Self(h.finalize().into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The non-secret lookup index: the first eight bytes.
    pub fn lookup_key(&self) -> u64 {
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(prefix)
    }

    /// The token's public id in listings: `tok_` and the lookup index in hex. It says nothing
    /// about the token that the stored hash does not.
    pub fn id(&self) -> String {
        format!("tok_{:016x}", self.lookup_key())
    }

    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({:016x}…)", self.lookup_key())
    }
}

/// A new random token: `kms_` followed by 43 URL-safe base64 characters (256 bits).
pub fn generate() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = format!("kms_{}", URL_SAFE_NO_PAD.encode(bytes));
    zeroize::Zeroize::zeroize(&mut bytes);
    SecretString::new(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_long_distinct_and_hash_stably() {
        let a = generate();
        let b = generate();
        assert_eq!(a.expose().len(), 4 + 43);
        assert!(a.expose().starts_with("kms_"));
        assert_ne!(a.expose(), b.expose());
        assert!(TokenHash::of(a.expose()).matches(&TokenHash::of(a.expose())));
        assert!(!TokenHash::of(a.expose()).matches(&TokenHash::of(b.expose())));
        let id = TokenHash::of(a.expose()).id();
        assert_eq!(id.len(), 4 + 16);
        assert_ne!(id, TokenHash::of(b.expose()).id());
    }
}
