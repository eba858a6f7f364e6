//! The client's side of BYOK, as Vault documents it: a fresh AES-256 key wrapped with RSA-OAEP
//! (SHA-256) for the server's wrapping key, then the material wrapped with it by AES key wrap with
//! padding (RFC 5649), the two concatenated and base64-encoded. Each side wraps for its own
//! wrapping key (captured as `wrapping_key`); the material is the same for both.

use aes_gcm::aead::{Aead, KeyInit};
use aes_kw::KwpAes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::pkcs8::EncodePrivateKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::sha2::Sha256;
use rsa::{Oaep, PublicKey};

use super::Vars;

/// The AES-256 material both sides import.
const AES: [u8; 32] = *b"differential-suite-aes-256-key!!";
/// The P-256 secret scalar both sides import (any value below the group order).
const EC: [u8; 32] = [7; 32];

fn wrap(vars: &Vars, material: &[u8]) -> String {
    // A server without a wrapping key gets something that is not wrapped for any key.
    let Some(key) = vars
        .get("wrapping_key")
        .and_then(|pem| PublicKey::from_public_key_pem(pem).ok())
    else {
        return "AAAA".into();
    };
    let mut ephemeral = [0u8; 32];
    rand::fill(&mut ephemeral[..]);
    let rsa_part = key
        .encrypt(&mut rand::rng(), Oaep::<Sha256>::new(), &ephemeral)
        .unwrap();
    let kwp = KwpAes256::new_from_slice(&ephemeral).unwrap();
    let mut wrapped = vec![0u8; material.len().div_ceil(8) * 8 + 8];
    kwp.wrap_key(material, &mut wrapped).unwrap();
    STANDARD.encode([rsa_part, wrapped].concat())
}

pub fn wrap_aes(vars: &mut Vars) {
    let ct = wrap(vars, &AES);
    vars.insert("import_aes".into(), ct);
}

pub fn wrap_short(vars: &mut Vars) {
    let ct = wrap(vars, &AES[..16]);
    vars.insert("import_short".into(), ct);
}

pub fn wrap_ec(vars: &mut Vars) {
    let der = p256::SecretKey::from_slice(&EC)
        .unwrap()
        .to_pkcs8_der()
        .unwrap();
    let ct = wrap(vars, der.as_bytes());
    vars.insert("import_ec".into(), ct);
}

/// "imported", encrypted outside the server with the imported AES material as Vault lays out its
/// ciphertexts: `vault:v1:` + base64(nonce ‖ ciphertext ‖ tag), no associated data.
pub fn outside_ciphertext(vars: &mut Vars) {
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&AES).unwrap();
    let nonce = [9u8; 12];
    let ct = cipher
        .encrypt(&nonce.into(), b"imported".as_slice())
        .unwrap();
    let body = [nonce.as_slice(), &ct].concat();
    vars.insert(
        "outside_ct".into(),
        format!("vault:v1:{}", STANDARD.encode(body)),
    );
}
