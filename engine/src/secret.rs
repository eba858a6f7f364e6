//! Types for secret material. None of them implements `Debug` (except as a redaction), `Clone`,
//! `Display` or `Serialize`, and all of them erase their bytes when dropped.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// Plaintext key material: a working key, a master key, an unseal key.
///
/// Only the crypto workers and the HSM backend ever hold one. It cannot be printed, cloned or
/// serialised; its bytes are erased on drop.
pub struct KeyMaterial(Box<[u8]>);

impl KeyMaterial {
    /// Takes ownership of `bytes`; the caller's buffer is moved, not copied, so no stray copy is
    /// left behind.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes.into_boxed_slice())
    }

    /// Copies `bytes` into new material; the caller stays responsible for erasing its own copy.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec().into_boxed_slice())
    }

    /// Fresh random material from the operating system's CSPRNG.
    pub fn random(len: usize) -> Self {
        let mut bytes = vec![0u8; len].into_boxed_slice();
        rand::fill(&mut bytes[..]);
        Self(bytes)
    }

    /// The raw bytes. Call sites are the few places that must feed a cipher.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for KeyMaterial {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyMaterial([redacted; {} bytes])", self.0.len())
    }
}

/// A secret string (a token, a PIN, an unseal share as typed). Erased on drop; `Debug` redacts.
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

/// Plaintext data passing through the engine (what an application encrypts or gets back).
/// Erased when dropped so that freed buffers do not keep card numbers around.
pub type PlaintextBuf = Zeroizing<Vec<u8>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_bytes() {
        let key = KeyMaterial::from_slice(&[0x41; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.contains("41") && !shown.contains('A'), "{shown}");
        let token = SecretString::new("hunter2".into());
        assert!(!format!("{token:?}").contains("hunter2"));
    }

    #[test]
    fn random_material_has_the_asked_length_and_differs() {
        let a = KeyMaterial::random(32);
        let b = KeyMaterial::random(32);
        assert_eq!(a.len(), 32);
        assert_ne!(a.expose(), b.expose());
    }
}
