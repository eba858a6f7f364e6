//! The hash algorithms a caller may name for signatures and MACs (Vault Transit's `sha2-*` and
//! `sha3-*`), HMAC over any of them with raw key bytes, and HKDF-SHA256 (RFC 5869) for the keys
//! derived from a version's material (Transit's derived keys and per-version HMAC keys).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::algorithm::{Algorithm, Family};
use crate::error::EngineError;
use crate::secret::KeyMaterial;

/// Not stored: chosen per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha2_224,
    Sha2_256,
    Sha2_384,
    Sha2_512,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
}

/// Runs `$body` with `$h` bound to the digest type of `$alg`.
macro_rules! with_hash {
    ($alg:expr, $h:ident => $body:expr) => {
        match $alg {
            HashAlgorithm::Sha2_224 => {
                type $h = ::sha2::Sha224;
                $body
            }
            HashAlgorithm::Sha2_256 => {
                type $h = ::sha2::Sha256;
                $body
            }
            HashAlgorithm::Sha2_384 => {
                type $h = ::sha2::Sha384;
                $body
            }
            HashAlgorithm::Sha2_512 => {
                type $h = ::sha2::Sha512;
                $body
            }
            HashAlgorithm::Sha3_224 => {
                type $h = ::sha3::Sha3_224;
                $body
            }
            HashAlgorithm::Sha3_256 => {
                type $h = ::sha3::Sha3_256;
                $body
            }
            HashAlgorithm::Sha3_384 => {
                type $h = ::sha3::Sha3_384;
                $body
            }
            HashAlgorithm::Sha3_512 => {
                type $h = ::sha3::Sha3_512;
                $body
            }
        }
    };
}
pub(crate) use with_hash;

impl HashAlgorithm {
    pub const ALL: &'static [HashAlgorithm] = &[
        HashAlgorithm::Sha2_224,
        HashAlgorithm::Sha2_256,
        HashAlgorithm::Sha2_384,
        HashAlgorithm::Sha2_512,
        HashAlgorithm::Sha3_224,
        HashAlgorithm::Sha3_256,
        HashAlgorithm::Sha3_384,
        HashAlgorithm::Sha3_512,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha2_224 => "sha2-224",
            HashAlgorithm::Sha2_256 => "sha2-256",
            HashAlgorithm::Sha2_384 => "sha2-384",
            HashAlgorithm::Sha2_512 => "sha2-512",
            HashAlgorithm::Sha3_224 => "sha3-224",
            HashAlgorithm::Sha3_256 => "sha3-256",
            HashAlgorithm::Sha3_384 => "sha3-384",
            HashAlgorithm::Sha3_512 => "sha3-512",
        }
    }

    pub fn parse(name: &str) -> Result<Self, EngineError> {
        Self::ALL
            .iter()
            .copied()
            .find(|h| h.name() == name)
            .ok_or_else(|| {
                EngineError::InvalidArgument(format!(
                    "unsupported hash algorithm `{name}`: sha2-224, sha2-256, sha2-384, \
                     sha2-512, sha3-224, sha3-256, sha3-384 or sha3-512"
                ))
            })
    }

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        with_hash!(self, H => <H as Digest>::output_size())
    }

    pub fn digest(self, input: &[u8]) -> Vec<u8> {
        with_hash!(self, H => H::digest(input).to_vec())
    }

    /// `input`'s digest, or `input` itself when it is one already (`prehashed`, checked for
    /// length).
    pub fn prehash(self, input: &[u8], prehashed: bool) -> Result<Vec<u8>, EngineError> {
        if !prehashed {
            return Ok(self.digest(input));
        }
        if input.len() != self.output_len() {
            return Err(EngineError::InvalidSignatureInput(
                "a prehashed input must be a digest of the hash algorithm's length",
            ));
        }
        Ok(input.to_vec())
    }

    /// HMAC of `input` under `key`.
    pub fn hmac(self, key: &[u8], input: &[u8]) -> Vec<u8> {
        with_hash!(self, H => {
            // HMAC takes keys of any length.
            let mut m = <Hmac<H> as KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
            m.update(input);
            m.finalize().into_bytes().to_vec()
        })
    }

    /// Constant-time check of an HMAC.
    pub fn hmac_verify(self, key: &[u8], input: &[u8], tag: &[u8]) -> bool {
        with_hash!(self, H => {
            match <Hmac<H> as KeyInit>::new_from_slice(key) {
                Ok(mut m) => {
                    m.update(input);
                    m.verify_slice(tag).is_ok()
                }
                Err(_) => false,
            }
        })
    }
}

/// HKDF info of a version's Transit HMAC key (for keys that are not HMAC keys).
const TRANSIT_HMAC_INFO: &[u8] = b"kms-transit-hmac-v1";

/// Vault Transit's HMAC key of a version: an HMAC key's own material; for any other key an
/// HKDF-SHA256 derivation of its material, so it is never the key that encrypts or signs. The
/// crypto workers MAC with it; an approved `hmac-key` export hands out the same bytes.
pub fn transit_hmac_key(algorithm: Algorithm, material: &KeyMaterial) -> KeyMaterial {
    match algorithm.family() {
        Family::Mac => KeyMaterial::from_slice(material.expose()),
        _ => hkdf_sha256(material.expose(), TRANSIT_HMAC_INFO, 32),
    }
}

/// HKDF-SHA256 (RFC 5869) with an empty salt: `len` bytes (at most 255 × 32) of key material from
/// `ikm`, bound to `info`.
pub fn hkdf_sha256(ikm: &[u8], info: &[u8], len: usize) -> KeyMaterial {
    let prk = HashAlgorithm::Sha2_256.hmac(&[0u8; 32], ikm);
    let mut okm = Vec::with_capacity(len + 32);
    let mut block: Vec<u8> = Vec::new();
    let mut counter = 1u8;
    while okm.len() < len {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&prk)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        m.update(&block);
        m.update(info);
        m.update(&[counter]);
        block = m.finalize().into_bytes().to_vec();
        okm.extend_from_slice(&block);
        counter = counter.wrapping_add(1);
    }
    okm.truncate(len);
    let out = KeyMaterial::from_slice(&okm);
    zeroize::Zeroize::zeroize(&mut okm);
    zeroize::Zeroize::zeroize(&mut block);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_known_answers() {
        // FIPS 180-4 and FIPS 202 "abc".
        let abc = |h: HashAlgorithm| hex(&h.digest(b"abc"));
        assert_eq!(
            abc(HashAlgorithm::Sha2_256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            abc(HashAlgorithm::Sha3_256),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        assert_eq!(
            abc(HashAlgorithm::Sha3_224),
            "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf"
        );
        for h in HashAlgorithm::ALL {
            assert_eq!(h.digest(b"abc").len(), h.output_len());
            assert_eq!(HashAlgorithm::parse(h.name()).unwrap(), *h);
        }
        assert!(HashAlgorithm::parse("md5").is_err());
    }

    #[test]
    fn hmac_and_hkdf_match_their_rfcs() {
        // RFC 4231 test case 2.
        let tag = HashAlgorithm::Sha2_256.hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(HashAlgorithm::Sha2_256.hmac_verify(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag
        ));
        assert!(!HashAlgorithm::Sha2_384.hmac_verify(b"Jefe", b"what", &tag));
        // RFC 5869 test case 3 (no salt, no info).
        let okm = hkdf_sha256(&[0x0b; 22], b"", 42);
        assert_eq!(
            hex(okm.expose()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
             9d201395faa4b61a96c8"
        );
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
