//! Key check values and key components.
//!
//! A master key may be formed from M components held by M custodians: each is 32 random bytes,
//! typed in as 64 hex digits, and the key is their XOR. Each component has a KCV (the first three
//! bytes of AES-256-ECB(component, 0^128)) printed beside it, so a custodian can check what they
//! typed before the key is formed; the formed key's KCV is shown and recorded, and loading the
//! same components into another token must give the same KCV.

use aes_gcm::aes::Aes256;
use aes_gcm::aes::cipher::{BlockCipherEncrypt, KeyInit};
use kms_engine::master_key::Kcv;
use kms_engine::secret::KeyMaterial;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::backend::HsmError;

pub const COMPONENT_LEN: usize = 32;

/// The KCV of a 256-bit AES key.
pub fn kcv(key: &KeyMaterial) -> Result<Kcv, HsmError> {
    let cipher = Aes256::new_from_slice(key.expose())
        .map_err(|_| HsmError::InvalidParameters("a master key is 32 bytes".into()))?;
    let mut block = [0u8; 16].into();
    cipher.encrypt_block(&mut block);
    Kcv::from_bytes(&block[..3]).map_err(|e| HsmError::Corrupt(e.to_string()))
}

/// Parses a component typed as 64 hex digits (spaces and dashes between groups allowed).
pub fn parse(text: &str) -> Result<KeyMaterial, HsmError> {
    let digits: Zeroizing<Vec<u8>> = Zeroizing::new(
        text.bytes()
            .filter(|b| !matches!(b, b' ' | b'-' | b'\t'))
            .collect(),
    );
    if digits.len() != COMPONENT_LEN * 2 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(HsmError::InvalidComponent(
            "a component is 64 hex digits (32 bytes)",
        ));
    }
    let mut bytes = Zeroizing::new(vec![0u8; COMPONENT_LEN]);
    for (i, pair) in digits.chunks(2).enumerate() {
        let hi = hex_value(pair[0]);
        let lo = hex_value(pair[1]);
        bytes[i] = (hi << 4) | lo;
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(HsmError::InvalidComponent(
            "an all-zero component adds nothing",
        ));
    }
    Ok(KeyMaterial::from_slice(&bytes))
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// XORs the components into a key. At least two, all different (two equal components would
/// cancel out).
pub fn combine(components: &[KeyMaterial]) -> Result<KeyMaterial, HsmError> {
    if components.len() < 2 {
        return Err(HsmError::InvalidComponent(
            "a key is formed from at least two components",
        ));
    }
    for (i, a) in components.iter().enumerate() {
        if a.len() != COMPONENT_LEN {
            return Err(HsmError::InvalidComponent("a component is 32 bytes"));
        }
        for b in &components[i + 1..] {
            if bool::from(a.expose().ct_eq(b.expose())) {
                return Err(HsmError::InvalidComponent("two components are equal"));
            }
        }
    }
    let mut key = Zeroizing::new(vec![0u8; COMPONENT_LEN]);
    for c in components {
        for (k, b) in key.iter_mut().zip(c.expose()) {
            *k ^= b;
        }
    }
    Ok(KeyMaterial::from_slice(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kcv_matches_the_aes_known_answer() {
        // FIPS-197 / SP 800-38A: AES-256 with the all-zero key encrypts the zero block to
        // dc95c078a2408989ad48a21492842087.
        let zero = KeyMaterial::from_slice(&[0u8; 32]);
        assert_eq!(kcv(&zero).unwrap().as_str(), "DC95C0");
    }

    #[test]
    fn components_parse_combine_and_refuse_mistakes() {
        let a = parse(&"01".repeat(32)).unwrap();
        let b = parse(&format!("{} {}", "0F".repeat(16), "f0".repeat(16))).unwrap();
        let key = combine(&[a, b]).unwrap();
        assert_eq!(&key.expose()[..16], &[0x0e; 16]);
        assert_eq!(&key.expose()[16..], &[0xf1; 16]);
        assert!(parse("abc").is_err());
        assert!(parse(&"zz".repeat(32)).is_err());
        assert!(parse(&"00".repeat(32)).is_err());
        let c = parse(&"02".repeat(32)).unwrap();
        let d = parse(&"02".repeat(32)).unwrap();
        assert!(combine(&[c, d]).is_err());
        assert!(combine(&[parse(&"03".repeat(32)).unwrap()]).is_err());
    }
}
