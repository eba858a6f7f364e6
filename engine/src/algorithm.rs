//! Key algorithms and the operations a grant can allow.
//!
//! Both enums are stored in the database by their explicit discriminant: renumbering a variant
//! would silently change the meaning of stored rows, so the codes are fixed here and checked by a
//! test. Add new variants with new codes; never reuse one.

use std::fmt;

use crate::error::EngineError;

/// The algorithm of a working key, chosen when the key is created and fixed for all its versions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u16)]
pub enum Algorithm {
    /// AES-256 in GCM mode, 96-bit random nonce, 128-bit tag. The default.
    Aes256Gcm = 1,
    Aes128Gcm = 2,
    ChaCha20Poly1305 = 3,
    /// SM4 in GCM mode (RFC 8998), for Chinese financial regulation.
    Sm4Gcm = 4,
    /// AES-256-GCM-SIV (RFC 8452); may be created deterministic.
    Aes256GcmSiv = 5,
    HmacSha256 = 6,
    HmacSm3 = 7,
    Rsa2048 = 8,
    Rsa3072 = 9,
    Rsa4096 = 10,
    EcdsaP256 = 11,
    Ed25519 = 12,
    /// SM2 (GB/T 32918): signatures with SM3 and the default id, and encryption.
    Sm2 = 13,
    EcdsaP384 = 14,
    EcdsaP521 = 15,
}

/// What kind of key an algorithm makes, which decides the operations it can do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Family {
    Aead,
    Mac,
    Rsa,
    /// ECDSA over P-256, P-384 or P-521.
    Ecdsa,
    Ed25519,
    Sm2,
}

/// How a version's secret material comes to be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MaterialKind {
    /// This many random bytes, generated inside the HSM.
    Random(usize),
    /// A key pair generated in software (RSA: PKCS#8 DER; EC: the secret scalar or seed),
    /// then wrapped by the HSM.
    KeyPair,
}

impl Algorithm {
    pub const ALL: &'static [Algorithm] = &[
        Algorithm::Aes256Gcm,
        Algorithm::Aes128Gcm,
        Algorithm::ChaCha20Poly1305,
        Algorithm::Sm4Gcm,
        Algorithm::Aes256GcmSiv,
        Algorithm::HmacSha256,
        Algorithm::HmacSm3,
        Algorithm::Rsa2048,
        Algorithm::Rsa3072,
        Algorithm::Rsa4096,
        Algorithm::EcdsaP256,
        Algorithm::Ed25519,
        Algorithm::Sm2,
        Algorithm::EcdsaP384,
        Algorithm::EcdsaP521,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Aes256Gcm => "aes-256-gcm",
            Algorithm::Aes128Gcm => "aes-128-gcm",
            Algorithm::ChaCha20Poly1305 => "chacha20-poly1305",
            Algorithm::Sm4Gcm => "sm4-gcm",
            Algorithm::Aes256GcmSiv => "aes-256-gcm-siv",
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSm3 => "hmac-sm3",
            Algorithm::Rsa2048 => "rsa-2048",
            Algorithm::Rsa3072 => "rsa-3072",
            Algorithm::Rsa4096 => "rsa-4096",
            Algorithm::EcdsaP256 => "ecdsa-p256",
            Algorithm::Ed25519 => "ed25519",
            Algorithm::Sm2 => "sm2",
            Algorithm::EcdsaP384 => "ecdsa-p384",
            Algorithm::EcdsaP521 => "ecdsa-p521",
        }
    }

    pub fn parse(name: &str) -> Result<Self, EngineError> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.name() == name)
            .ok_or_else(|| EngineError::UnsupportedAlgorithm {
                name: name.to_owned(),
                valid: Self::ALL
                    .iter()
                    .map(|a| a.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The code stored in the database.
    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: i64) -> Result<Self, EngineError> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| i64::from(a.code()) == code)
            .ok_or(EngineError::CorruptRecord("unknown algorithm code"))
    }

    pub fn family(self) -> Family {
        match self {
            Algorithm::Aes256Gcm
            | Algorithm::Aes128Gcm
            | Algorithm::ChaCha20Poly1305
            | Algorithm::Sm4Gcm
            | Algorithm::Aes256GcmSiv => Family::Aead,
            Algorithm::HmacSha256 | Algorithm::HmacSm3 => Family::Mac,
            Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 => Family::Rsa,
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 | Algorithm::EcdsaP521 => Family::Ecdsa,
            Algorithm::Ed25519 => Family::Ed25519,
            Algorithm::Sm2 => Family::Sm2,
        }
    }

    pub fn material(self) -> MaterialKind {
        match self {
            Algorithm::Aes128Gcm | Algorithm::Sm4Gcm => MaterialKind::Random(16),
            Algorithm::Aes256Gcm
            | Algorithm::ChaCha20Poly1305
            | Algorithm::Aes256GcmSiv
            | Algorithm::HmacSha256
            | Algorithm::HmacSm3 => MaterialKind::Random(32),
            Algorithm::Rsa2048
            | Algorithm::Rsa3072
            | Algorithm::Rsa4096
            | Algorithm::EcdsaP256
            | Algorithm::EcdsaP384
            | Algorithm::EcdsaP521
            | Algorithm::Ed25519
            | Algorithm::Sm2 => MaterialKind::KeyPair,
        }
    }

    /// RSA modulus size in bits.
    pub fn rsa_bits(self) -> Option<usize> {
        match self {
            Algorithm::Rsa2048 => Some(2048),
            Algorithm::Rsa3072 => Some(3072),
            Algorithm::Rsa4096 => Some(4096),
            _ => None,
        }
    }

    /// Whether keys of this algorithm can do `op` at all (a grant is needed as well).
    pub fn supports(self, op: Operation) -> bool {
        use Operation as O;
        match self.family() {
            Family::Aead => matches!(op, O::Encrypt | O::Decrypt | O::Rewrap | O::Datakey),
            Family::Mac => matches!(op, O::Hmac),
            Family::Rsa | Family::Sm2 => {
                matches!(
                    op,
                    O::Encrypt | O::Decrypt | O::Rewrap | O::Sign | O::Verify
                )
            }
            Family::Ecdsa | Family::Ed25519 => matches!(op, O::Sign | O::Verify),
        }
    }

    /// Whether the key has a public half (`public-key`).
    pub fn has_public_key(self) -> bool {
        matches!(
            self.family(),
            Family::Rsa | Family::Ecdsa | Family::Ed25519 | Family::Sm2
        )
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operation an application may be granted on a key. The names are the data-plane endpoint
/// names, so a grant reads the same as the URL it allows (`hmac` also covers `hmac/verify`; on a
/// password key, `protect`, `verify` and `rewrap` allow `/v1/passwords/{key}/<op>`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[repr(u8)]
pub enum Operation {
    Encrypt = 1,
    Decrypt = 2,
    Rewrap = 3,
    Datakey = 4,
    Sign = 5,
    Verify = 6,
    Hmac = 7,
    /// Password keys: turn a browser-encrypted password into a value to store.
    Protect = 8,
}

impl Operation {
    pub const ALL: &'static [Operation] = &[
        Operation::Encrypt,
        Operation::Decrypt,
        Operation::Rewrap,
        Operation::Datakey,
        Operation::Sign,
        Operation::Verify,
        Operation::Hmac,
        Operation::Protect,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::Encrypt => "encrypt",
            Operation::Decrypt => "decrypt",
            Operation::Rewrap => "rewrap",
            Operation::Datakey => "datakey",
            Operation::Sign => "sign",
            Operation::Verify => "verify",
            Operation::Hmac => "hmac",
            Operation::Protect => "protect",
        }
    }

    pub fn parse(name: &str) -> Result<Self, EngineError> {
        Self::ALL
            .iter()
            .copied()
            .find(|o| o.name() == name)
            .ok_or_else(|| EngineError::UnknownOperation(name.to_owned()))
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Result<Self, EngineError> {
        Self::ALL
            .iter()
            .copied()
            .find(|o| i64::from(o.code()) == code)
            .ok_or(EngineError::CorruptRecord("unknown operation code"))
    }

    fn bit(self) -> u32 {
        1 << self.code()
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of operations, as held by one grant. Checked on every data-plane request, so it is a
/// bit set rather than a collection.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct OperationSet(u32);

impl OperationSet {
    pub fn insert(&mut self, op: Operation) {
        self.0 |= op.bit();
    }

    pub fn contains(self, op: Operation) -> bool {
        self.0 & op.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Operation> {
        Operation::ALL
            .iter()
            .copied()
            .filter(move |o| self.contains(*o))
    }
}

impl FromIterator<Operation> for OperationSet {
    fn from_iter<I: IntoIterator<Item = Operation>>(iter: I) -> Self {
        let mut set = OperationSet::default();
        for op in iter {
            set.insert(op);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored codes are part of the database format.
    #[test]
    fn stored_codes_never_change() {
        let codes: Vec<(u16, &str)> = Algorithm::ALL
            .iter()
            .map(|a| (a.code(), a.name()))
            .collect();
        assert_eq!(
            codes,
            vec![
                (1, "aes-256-gcm"),
                (2, "aes-128-gcm"),
                (3, "chacha20-poly1305"),
                (4, "sm4-gcm"),
                (5, "aes-256-gcm-siv"),
                (6, "hmac-sha256"),
                (7, "hmac-sm3"),
                (8, "rsa-2048"),
                (9, "rsa-3072"),
                (10, "rsa-4096"),
                (11, "ecdsa-p256"),
                (12, "ed25519"),
                (13, "sm2"),
                (14, "ecdsa-p384"),
                (15, "ecdsa-p521"),
            ]
        );
        let ops: Vec<(u8, &str)> = Operation::ALL
            .iter()
            .map(|o| (o.code(), o.name()))
            .collect();
        assert_eq!(
            ops,
            vec![
                (1, "encrypt"),
                (2, "decrypt"),
                (3, "rewrap"),
                (4, "datakey"),
                (5, "sign"),
                (6, "verify"),
                (7, "hmac"),
                (8, "protect")
            ]
        );
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_code(i64::from(a.code())).unwrap(), *a);
            assert_eq!(Algorithm::parse(a.name()).unwrap(), *a);
        }
        for o in Operation::ALL {
            assert_eq!(Operation::from_code(i64::from(o.code())).unwrap(), *o);
        }
        assert!(Algorithm::from_code(0).is_err());
        assert!(Algorithm::parse("des").is_err());
    }

    #[test]
    fn each_family_supports_its_operations() {
        use Operation::*;
        let ops = |a: Algorithm| {
            Operation::ALL
                .iter()
                .copied()
                .filter(|o| a.supports(*o))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ops(Algorithm::Sm4Gcm),
            vec![Encrypt, Decrypt, Rewrap, Datakey]
        );
        assert_eq!(ops(Algorithm::HmacSm3), vec![Hmac]);
        assert_eq!(
            ops(Algorithm::Rsa3072),
            vec![Encrypt, Decrypt, Rewrap, Sign, Verify]
        );
        assert_eq!(
            ops(Algorithm::Sm2),
            vec![Encrypt, Decrypt, Rewrap, Sign, Verify]
        );
        assert_eq!(ops(Algorithm::Ed25519), vec![Sign, Verify]);
        assert!(Algorithm::EcdsaP256.has_public_key());
        assert!(!Algorithm::Aes128Gcm.has_public_key());
    }

    #[test]
    fn operation_sets() {
        let set: OperationSet = [Operation::Decrypt, Operation::Hmac].into_iter().collect();
        assert!(set.contains(Operation::Decrypt));
        assert!(!set.contains(Operation::Encrypt));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Operation::Decrypt, Operation::Hmac]
        );
        assert!(OperationSet::default().is_empty());
    }
}
