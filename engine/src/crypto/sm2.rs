//! SM2 (GB/T 32918): signatures with SM3 and the standard default distinguishing id
//! `1234567812345678`, ASN.1 DER encoded (as GM/T 0009 and OpenSSL); public-key encryption with
//! the C1C3C2 layout of GB/T 32918.4-2016. The stored material is the 32-byte secret scalar.
//!
//! SM2 encryption has no associated data: the version header and the key are still checked (a
//! ciphertext re-headed to another version, or presented to another key, does not decrypt), but
//! a caller's context cannot be bound, so a context is refused rather than silently ignored.
//! A prehashed SM2 input is `e = SM3(Z_A ‖ M)` as the standard defines it.

use sm2::dsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use sm2::dsa::{Signature, SigningKey};
use sm2::elliptic_curve::Generate;
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::pkcs8::{EncodePublicKey, LineEnding};
use sm2::pke::{DecryptingKey, EncryptingKey};
use sm2::{PublicKey, SecretKey};
use sm3::{Digest, Sm3};

use crate::error::EngineError;
use crate::secret::{KeyMaterial, PlaintextBuf};

/// GB/T 32918's default distinguishing id.
pub const DEFAULT_ID: &str = "1234567812345678";

pub struct Sm2Key {
    signing: Box<SigningKey>,
    decrypting: Box<DecryptingKey>,
    public: PublicKey,
    z_a: [u8; 32],
}

pub fn generate() -> KeyMaterial {
    let key = SecretKey::generate_from_rng(&mut rand::rng());
    KeyMaterial::from_slice(&key.to_bytes())
}

fn hex32(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    out
}

/// `Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)` (GB/T 32918.2, 5.5).
pub fn z_a(id: &[u8], public: &PublicKey) -> [u8; 32] {
    const A: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC";
    const B: &str = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93";
    const GX: &str = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7";
    const GY: &str = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0";
    let entl = u16::try_from(id.len() * 8).unwrap_or(u16::MAX);
    let point = public.to_sec1_point(false);
    let mut z = Sm3::new();
    z.update(entl.to_be_bytes());
    z.update(id);
    for p in [A, B, GX, GY] {
        z.update(hex32(p));
    }
    z.update(&point.as_bytes()[1..]);
    z.finalize().into()
}

impl Sm2Key {
    pub fn new(material: &KeyMaterial) -> Result<Self, EngineError> {
        let secret = SecretKey::from_slice(material.expose())
            .map_err(|_| EngineError::KeyMaterialCorrupt)?;
        let public = secret.public_key();
        let signing =
            SigningKey::new(DEFAULT_ID, &secret).map_err(|_| EngineError::KeyMaterialCorrupt)?;
        Ok(Self {
            signing: Box::new(signing),
            decrypting: Box::new(DecryptingKey::new(secret)),
            z_a: z_a(DEFAULT_ID.as_bytes(), &public),
            public,
        })
    }

    /// `e` for a message, or the caller's `e` when prehashed.
    fn e(&self, input: &[u8], prehashed: bool) -> Result<[u8; 32], EngineError> {
        if prehashed {
            <[u8; 32]>::try_from(input).map_err(|_| {
                EngineError::InvalidSignatureInput(
                    "a prehashed SM2 input is e = SM3(Z_A ‖ M), 32 bytes",
                )
            })
        } else {
            Ok(Sm3::new()
                .chain_update(self.z_a)
                .chain_update(input)
                .finalize()
                .into())
        }
    }

    pub fn sign(&self, input: &[u8], prehashed: bool) -> Result<Vec<u8>, EngineError> {
        let sig: Signature = self
            .signing
            .sign_prehash(&self.e(input, prehashed)?)
            .map_err(|_| EngineError::KeyMaterialCorrupt)?;
        Ok(sig.to_der().as_bytes().to_vec())
    }

    pub fn verify(
        &self,
        input: &[u8],
        prehashed: bool,
        signature: &[u8],
    ) -> Result<bool, EngineError> {
        let e = self.e(input, prehashed)?;
        let Ok(sig) = Signature::from_der(signature) else {
            return Ok(false);
        };
        Ok(self
            .signing
            .verifying_key()
            .verify_prehash(&e, &sig)
            .is_ok())
    }

    pub fn encrypt(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, EngineError> {
        if !context.is_empty() {
            return Err(EngineError::ContextNotSupported);
        }
        if plaintext.is_empty() {
            return Err(EngineError::InvalidArgument(
                "SM2 cannot encrypt an empty plaintext".into(),
            ));
        }
        EncryptingKey::new(self.public)
            .encrypt(&mut rand::rng(), plaintext)
            .map_err(|_| EngineError::KeyMaterialCorrupt)
    }

    pub fn decrypt(&self, context: &[u8], ciphertext: &[u8]) -> Result<PlaintextBuf, EngineError> {
        if !context.is_empty() {
            return Err(EngineError::ContextNotSupported);
        }
        self.decrypting
            .decrypt(ciphertext)
            .map(PlaintextBuf::new)
            .map_err(|_| EngineError::DecryptionFailed)
    }

    #[cfg(test)]
    pub fn z_a_for_test(&self) -> [u8; 32] {
        self.z_a
    }

    pub fn public_key_pem(&self) -> Result<String, EngineError> {
        self.public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| EngineError::KeyMaterialCorrupt)
    }
}
