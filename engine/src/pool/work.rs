//! What a crypto job asks for and what it gets back, for every data-plane operation.

use std::sync::Arc;

use crate::algorithm::Operation;
use crate::challenges::Challenges;
use crate::clock::Timestamp;
use crate::crypto::{HashAlgorithm, SignScheme};
use crate::ids::{KeyId, KeyVersion};
use crate::secret::PlaintextBuf;

/// One item of a request. A job carries items of one operation.
pub enum Item {
    Encrypt {
        plaintext: PlaintextBuf,
        context: Vec<u8>,
    },
    Decrypt {
        ciphertext: String,
        context: Vec<u8>,
    },
    /// Decrypt, then encrypt under the active version, inside the worker.
    Rewrap {
        ciphertext: String,
        context: Vec<u8>,
    },
    /// A fresh random data key of `bytes`, encrypted under the key.
    DataKey {
        bytes: usize,
        context: Vec<u8>,
        return_plaintext: bool,
    },
    Sign {
        input: Vec<u8>,
        prehashed: bool,
        scheme: Option<SignScheme>,
    },
    Verify {
        input: Vec<u8>,
        prehashed: bool,
        scheme: Option<SignScheme>,
        signature: String,
    },
    Hmac {
        input: Vec<u8>,
    },
    HmacVerify {
        input: Vec<u8>,
        hmac: String,
    },
    /// Password keys (docs/passwords.md): decrypt what the browser encrypted, spend its
    /// challenge, and protect salt and password under the active version.
    PasswordProtect {
        encrypted: Vec<u8>,
        salt: Vec<u8>,
        challenges: Arc<Challenges>,
    },
    /// As `PasswordProtect`, then compare with `protected` in constant time.
    PasswordVerify {
        encrypted: Vec<u8>,
        salt: Vec<u8>,
        protected: String,
        challenges: Arc<Challenges>,
    },
    /// An `aead` protected value, opened and sealed again under the active version.
    PasswordRewrap {
        protected: String,
    },
    /// An item with Vault Transit's per-item options (the native API never sends these).
    With(Box<(Params, Item)>),
}

/// Vault Transit's per-item options.
#[derive(Default)]
pub struct Params {
    /// A derived key's derivation context (Transit's `context`); needed by a derived key.
    pub derivation: Option<Vec<u8>>,
    /// The version to encrypt, sign or MAC with (Transit's `key_version`); `None`: the active
    /// one.
    pub version: Option<KeyVersion>,
    /// The digest of a signature or a MAC; `None`: SHA-256 (a MAC key's own hash).
    pub hash: Option<HashAlgorithm>,
    /// MAC with the version's Transit HMAC key, which every key has, whatever its type: for an
    /// HMAC key its material, for any other an HKDF-SHA256 derivation of it (crypto workers).
    pub transit_hmac: bool,
}

impl Params {
    pub const NONE: Params = Params {
        derivation: None,
        version: None,
        hash: None,
        transit_hmac: false,
    };
}

impl Item {
    /// The grant this item needs.
    pub fn operation(&self) -> Operation {
        match self {
            Item::Encrypt { .. } => Operation::Encrypt,
            Item::Decrypt { .. } => Operation::Decrypt,
            Item::Rewrap { .. } => Operation::Rewrap,
            Item::DataKey { .. } => Operation::Datakey,
            Item::Sign { .. } => Operation::Sign,
            Item::Verify { .. } => Operation::Verify,
            Item::Hmac { .. } | Item::HmacVerify { .. } => Operation::Hmac,
            Item::PasswordProtect { .. } => Operation::Protect,
            Item::PasswordVerify { .. } => Operation::Verify,
            Item::PasswordRewrap { .. } => Operation::Rewrap,
            Item::With(inner) => inner.1.operation(),
        }
    }
}

/// An item's result. `version` is the key version the item used.
#[derive(Debug)]
pub enum Done {
    Ciphertext {
        ciphertext: String,
        version: KeyVersion,
    },
    Plaintext {
        plaintext: PlaintextBuf,
        version: KeyVersion,
    },
    DataKey {
        ciphertext: String,
        version: KeyVersion,
        plaintext: Option<PlaintextBuf>,
    },
    Signature {
        signature: String,
        version: KeyVersion,
    },
    Hmac {
        hmac: String,
        version: KeyVersion,
    },
    Valid {
        valid: bool,
        version: KeyVersion,
    },
    /// A password key's value to store.
    Protected {
        protected: String,
        version: KeyVersion,
    },
    /// A password check against a value protected under `version`. On a match under a version
    /// that is no longer active, `protected` is the same password protected under the active one.
    PasswordMatch {
        matched: bool,
        version: KeyVersion,
        protected: Option<String>,
    },
}

impl Done {
    pub fn version(&self) -> KeyVersion {
        match self {
            Done::Ciphertext { version, .. }
            | Done::Plaintext { version, .. }
            | Done::DataKey { version, .. }
            | Done::Signature { version, .. }
            | Done::Hmac { version, .. }
            | Done::Valid { version, .. }
            | Done::Protected { version, .. }
            | Done::PasswordMatch { version, .. } => *version,
        }
    }
}

/// Data-plane use of one key version by one caller for one operation, summed over a flush
/// interval (a second), stamped with its last use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageRecord {
    pub key: KeyId,
    pub version: KeyVersion,
    /// `app:<name>` or `root:<label>`.
    pub principal: Arc<str>,
    pub operation: Operation,
    pub count: u64,
    pub last_used: Timestamp,
}
