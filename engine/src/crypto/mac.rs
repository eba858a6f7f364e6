//! HMAC-SHA256 and HMAC-SM3 (GM/T 0042). Verification compares in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sm3::Sm3;

use crate::algorithm::Algorithm;
use crate::error::EngineError;
use crate::secret::KeyMaterial;

pub enum MacKey {
    Sha256(Box<Hmac<Sha256>>),
    Sm3(Box<Hmac<Sm3>>),
}

impl MacKey {
    pub fn new(algorithm: Algorithm, material: &KeyMaterial) -> Result<Self, EngineError> {
        let k = material.expose();
        let bad = |_| EngineError::KeyMaterialCorrupt;
        Ok(match algorithm {
            Algorithm::HmacSha256 => {
                MacKey::Sha256(Box::new(Hmac::new_from_slice(k).map_err(bad)?))
            }
            Algorithm::HmacSm3 => MacKey::Sm3(Box::new(Hmac::new_from_slice(k).map_err(bad)?)),
            _ => return Err(EngineError::KeyMaterialCorrupt),
        })
    }

    pub fn tag(&self, input: &[u8]) -> Vec<u8> {
        match self {
            MacKey::Sha256(k) => {
                let mut m = (**k).clone();
                m.update(input);
                m.finalize().into_bytes().to_vec()
            }
            MacKey::Sm3(k) => {
                let mut m = (**k).clone();
                m.update(input);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    /// Constant-time comparison of `tag` with the MAC of `input`.
    pub fn verify(&self, input: &[u8], tag: &[u8]) -> bool {
        match self {
            MacKey::Sha256(k) => {
                let mut m = (**k).clone();
                m.update(input);
                m.verify_slice(tag).is_ok()
            }
            MacKey::Sm3(k) => {
                let mut m = (**k).clone();
                m.update(input);
                m.verify_slice(tag).is_ok()
            }
        }
    }
}
