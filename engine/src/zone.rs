//! Zone master keys (ZMK): how a working-key version travels from the store node to the service
//! nodes of one zone (data centre).
//!
//! Each zone has an RSA-3072 key pair. The store node unwraps a version under the HSM master key
//! and wraps it again to the zone's public key ([`ZonePublicKey::wrap_transport`]); a service
//! node opens it with the zone's private key ([`ZonePrivateKey::unwrap_transport`]). The
//! [`WrappedKey`](crate::wrap::WrappedKey) carrying such a blob names
//! [`zone_master_key_id`] (`zone:<name>`) as its master key, so a blob says which zone key opens
//! it.
//!
//! Transport blob, format 1:
//!
//! ```text
//! 0x01                       format version
//! L                          u16 big-endian: length of the RSA part (384 for RSA-3072)
//! RSA-OAEP(T)                L bytes: RSA-OAEP with SHA-256 and MGF1-SHA-256 of a fresh random
//!                            32-byte AES-256 transport key T; the OAEP label is
//!                            `WrapContext::associated_data()` (key id, version, algorithm)
//! AES-KWP_T(material)        the rest: AES-256 key wrap with padding (RFC 5649) of the material
//! ```
//!
//! The transport key is bound to the context through the OAEP label, and the material to the
//! transport key through the key wrap's integrity check, so a blob moved to another key, version
//! or algorithm does not open. This is done in software rather than in the HSM because SoftHSM's
//! RSA-OAEP supports SHA-1 only. Every failure to open is the same
//! [`EngineError::TransportUnwrapFailed`], whichever step failed.

use std::fmt;

use aes_kw::KwpAes256;
use aes_kw::cipher::KeyInit;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::sha2::Sha256 as OaepSha256;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, PrivateKey, PublicKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::EngineError;
use crate::ids::MasterKeyId;
use crate::secret::KeyMaterial;
use crate::wrap::WrapContext;

/// The only modulus size a zone key may have.
pub const ZONE_KEY_BITS: usize = 3072;
/// The first byte of a transport blob.
pub const TRANSPORT_FORMAT_V1: u8 = 0x01;
const TRANSPORT_KEY_LEN: usize = 32;
/// AES key wrap's integrity-check semiblock.
const KWP_OVERHEAD: usize = 8;

/// A zone's name: 1 to 32 of `a-z 0-9 -`, not starting with `-`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneName(String);

impl ZoneName {
    pub fn new(name: &str) -> Result<Self, EngineError> {
        let valid = !name.is_empty()
            && name.len() <= 32
            && !name.starts_with('-')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(EngineError::InvalidName {
                kind: "zone",
                reason: "use 1 to 32 of a-z 0-9 - not starting with -",
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZoneName({:?})", self.0)
    }
}

/// The master key id a transport-wrapped key carries: `zone:<name>`.
pub fn zone_master_key_id(zone: &ZoneName) -> MasterKeyId {
    // "zone:" and at most 32 of [a-z0-9-]: at most 37 printable ASCII characters.
    MasterKeyId::new(&format!("zone:{zone}")).expect("zone:<name> is a valid master key id")
}

fn check_bits(key: &PublicKey, what: &str) -> Result<(), EngineError> {
    let bits = key.n().bit_width_vartime() as usize;
    if bits == ZONE_KEY_BITS {
        Ok(())
    } else {
        Err(EngineError::InvalidArgument(format!(
            "{what} has a {bits}-bit modulus; a zone key must be RSA-{ZONE_KEY_BITS}"
        )))
    }
}

/// A zone's public key (RSA-3072), as the store node holds it.
#[derive(Clone)]
pub struct ZonePublicKey {
    key: PublicKey,
    /// SPKI PEM and the SHA-256 of the SPKI DER, computed once so that neither can fail later.
    pem: String,
    fingerprint: String,
}

impl ZonePublicKey {
    fn from_key(key: PublicKey) -> Result<Self, EngineError> {
        check_bits(&key, "the zone public key")?;
        let der = key.to_public_key_der().map_err(|_| {
            EngineError::InvalidArgument("the zone public key cannot be encoded".into())
        })?;
        let pem = key.to_public_key_pem(LineEnding::LF).map_err(|_| {
            EngineError::InvalidArgument("the zone public key cannot be encoded".into())
        })?;
        let fingerprint = Sha256::digest(der.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            key,
            pem,
            fingerprint,
        })
    }

    /// An RSA-3072 public key in PEM: SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, EngineError> {
        let pem = pem.trim();
        let key = PublicKey::from_public_key_pem(pem)
            .or_else(|_| PublicKey::from_pkcs1_pem(pem))
            .map_err(|_| {
                EngineError::InvalidArgument(
                    "a zone public key must be an RSA public key in PEM (SPKI `PUBLIC KEY` or \
                     PKCS#1 `RSA PUBLIC KEY`)"
                        .into(),
                )
            })?;
        Self::from_key(key)
    }

    /// SPKI PEM (`PUBLIC KEY`), LF line endings.
    pub fn to_pem(&self) -> String {
        self.pem.clone()
    }

    /// Lowercase hex SHA-256 of the SPKI DER.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// Wraps `material` for transport to this zone, bound to `context` (format in the module doc).
    pub fn wrap_transport(
        &self,
        context: &WrapContext,
        material: &KeyMaterial,
    ) -> Result<Vec<u8>, EngineError> {
        if material.is_empty() {
            return Err(EngineError::InvalidArgument(
                "cannot transport-wrap empty key material".into(),
            ));
        }
        // Erased on drop, like every `KeyMaterial`.
        let transport = KeyMaterial::random(TRANSPORT_KEY_LEN);
        let label = context.associated_data();
        let rsa_part = self
            .key
            .encrypt(
                &mut rand::rng(),
                Oaep::<OaepSha256>::new_with_label(&label[..]),
                transport.expose(),
            )
            .map_err(|e| EngineError::InvalidArgument(format!("RSA-OAEP: {e}")))?;
        let rsa_len = u16::try_from(rsa_part.len())
            .map_err(|_| EngineError::InvalidArgument("RSA part too long".into()))?;
        let kwp = KwpAes256::new_from_slice(transport.expose())
            .map_err(|_| EngineError::KeyMaterialCorrupt)?;
        let wrapped_len = material.len().div_ceil(KWP_OVERHEAD) * KWP_OVERHEAD + KWP_OVERHEAD;
        let mut blob = Vec::with_capacity(3 + rsa_part.len() + wrapped_len);
        blob.push(TRANSPORT_FORMAT_V1);
        blob.extend_from_slice(&rsa_len.to_be_bytes());
        blob.extend_from_slice(&rsa_part);
        let start = blob.len();
        blob.resize(start + wrapped_len, 0);
        kwp.wrap_key(material.expose(), &mut blob[start..])
            .map_err(|e| EngineError::InvalidArgument(format!("AES key wrap: {e}")))?;
        Ok(blob)
    }
}

impl fmt::Debug for ZonePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZonePublicKey(sha256:{})", self.fingerprint)
    }
}

impl PartialEq for ZonePublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl Eq for ZonePublicKey {}

/// A zone's private key (RSA-3072), as a service node holds it. The rsa crate erases the key's
/// numbers on drop; `Debug` shows only the public fingerprint.
pub struct ZonePrivateKey {
    key: Box<PrivateKey>,
    public: ZonePublicKey,
}

impl ZonePrivateKey {
    fn from_key(key: PrivateKey) -> Result<Self, EngineError> {
        let public = ZonePublicKey::from_key(key.to_public_key())?;
        Ok(Self {
            key: Box::new(key),
            public,
        })
    }

    /// A new RSA-3072 key pair from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, EngineError> {
        let key = PrivateKey::new(&mut rand::rng(), ZONE_KEY_BITS)
            .map_err(|e| EngineError::InvalidArgument(format!("RSA key generation failed: {e}")))?;
        Self::from_key(key)
    }

    /// An RSA-3072 private key in PEM: PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, EngineError> {
        let pem = pem.trim();
        let key = PrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| PrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| {
                EngineError::InvalidArgument(
                    "a zone private key must be an RSA private key in PEM (PKCS#8 `PRIVATE KEY` \
                     or PKCS#1 `RSA PRIVATE KEY`)"
                        .into(),
                )
            })?;
        Self::from_key(key)
    }

    /// PKCS#8 PEM (`PRIVATE KEY`), LF line endings; erased when dropped.
    pub fn to_pem(&self) -> Zeroizing<String> {
        // Encoding a key that was decoded or generated only fails when out of memory.
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .expect("a valid RSA key encodes as PKCS#8")
    }

    pub fn public(&self) -> ZonePublicKey {
        self.public.clone()
    }

    /// Opens a blob made by [`ZonePublicKey::wrap_transport`] for `context`. Any failure (wrong
    /// zone key, another context, truncated, altered, unknown format) is
    /// [`EngineError::TransportUnwrapFailed`].
    pub fn unwrap_transport(
        &self,
        context: &WrapContext,
        blob: &[u8],
    ) -> Result<KeyMaterial, EngineError> {
        self.open(context, blob)
            .ok_or(EngineError::TransportUnwrapFailed)
    }

    fn open(&self, context: &WrapContext, blob: &[u8]) -> Option<KeyMaterial> {
        let (&format, rest) = blob.split_first()?;
        if format != TRANSPORT_FORMAT_V1 || rest.len() < 2 {
            return None;
        }
        let (len, rest) = rest.split_at(2);
        let rsa_len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if rsa_len != self.key.size() || rest.len() < rsa_len {
            return None;
        }
        let (rsa_part, wrapped) = rest.split_at(rsa_len);
        if wrapped.len() < 2 * KWP_OVERHEAD || !wrapped.len().is_multiple_of(KWP_OVERHEAD) {
            return None;
        }
        let label = context.associated_data();
        let transport = Zeroizing::new(
            self.key
                .decrypt_blinded(
                    &mut rand::rng(),
                    Oaep::<OaepSha256>::new_with_label(&label[..]),
                    rsa_part,
                )
                .ok()?,
        );
        if transport.len() != TRANSPORT_KEY_LEN {
            return None;
        }
        let kwp = KwpAes256::new_from_slice(&transport).ok()?;
        let mut buf = Zeroizing::new(vec![0u8; wrapped.len() - KWP_OVERHEAD]);
        let material = kwp.unwrap_key(wrapped, &mut buf).ok()?;
        Some(KeyMaterial::from_slice(material))
    }
}

impl fmt::Debug for ZonePrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ZonePrivateKey([redacted]; public sha256:{})",
            self.public.fingerprint
        )
    }
}

#[cfg(test)]
#[path = "zone_tests.rs"]
mod tests;
