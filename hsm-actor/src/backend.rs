//! The interface every HSM backend implements, and the HSM layer's error enum.
//!
//! A backend holds master keys. Working keys enter it only to be wrapped and leave it wrapped;
//! `generate_wrapped` makes a new working key inside the backend and returns only its wrapped
//! form. The backend has no notion of which master key is current: the store records that, and
//! callers name the master key to wrap under.

use kms_engine::algorithm::MaterialKind;
use kms_engine::audit::AuditAnchor;
use kms_engine::ids::MasterKeyId;
use kms_engine::master_key::{Kcv, MasterKeyOrigin};
use kms_engine::secret::{KeyMaterial, SecretString};
use kms_engine::wrap::{WrapContext, WrappedKey};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HsmError {
    #[error("the HSM is sealed: submit unseal shares first")]
    Sealed,
    #[error("the HSM has not been initialised")]
    NotInitialized,
    #[error("the HSM is already initialised")]
    AlreadyInitialized,
    #[error("invalid unseal share: {0}")]
    InvalidShare(&'static str),
    #[error("the submitted shares do not reconstruct the unseal key; start again")]
    WrongShares,
    #[error("invalid key component: {0}")]
    InvalidComponent(&'static str),
    #[error("the components form a key with KCV {got}, not the recorded {expected}")]
    KcvMismatch { expected: Kcv, got: Kcv },
    /// The wrapped key failed authentication: tampered, or bound to another key version.
    #[error("the wrapped key does not unwrap under this master key for this key version")]
    UnwrapFailed,
    #[error("no reachable token holds master key {0}")]
    UnknownMasterKey(MasterKeyId),
    #[error("invalid parameters: {0}")]
    InvalidParameters(String),
    #[error("this HSM backend does not support {0}")]
    NotSupported(&'static str),
    /// Start-up configuration: a missing module or token, a wrong PIN.
    #[error("{0}")]
    Config(String),
    /// The device or session failed (token removed, session lost) and no other token could stand
    /// in.
    #[error("HSM unavailable: {0}")]
    Unavailable(String),
    /// A PKCS#11 call failed in a way that is neither of the above.
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    #[error("the HSM's mailbox is full")]
    Busy,
    #[error("the HSM did not answer in time")]
    Timeout,
    #[error("the HSM actor has stopped")]
    Stopped,
    /// A seal tried to move the audit counter back (or not forward).
    #[error("the HSM's audit counter records seal {seals} over entry {seq}; it only moves forward")]
    AuditCounterBackwards { seals: u64, seq: u64 },
    #[error("sealed master key file: {0}")]
    Io(#[from] std::io::Error),
    #[error("sealed master key file is corrupt: {0}")]
    Corrupt(String),
}

impl HsmError {
    /// The stable, machine-readable code clients branch on (the gateway answers it as
    /// `error.code`; device and configuration failures are `internal`).
    pub fn code(&self) -> &'static str {
        match self {
            HsmError::Sealed => "sealed",
            HsmError::NotInitialized => "not_initialized",
            HsmError::AlreadyInitialized => "already_initialized",
            HsmError::InvalidShare(_) => "invalid_share",
            HsmError::WrongShares => "wrong_shares",
            HsmError::InvalidParameters(_) => "invalid_request",
            HsmError::InvalidComponent(_) => "invalid_component",
            HsmError::KcvMismatch { .. } => "kcv_mismatch",
            HsmError::NotSupported(_) => "not_supported",
            HsmError::AuditCounterBackwards { .. } => "audit_truncated",
            HsmError::Busy | HsmError::Timeout | HsmError::Stopped | HsmError::Unavailable(_) => {
                "hsm_unavailable"
            }
            HsmError::UnwrapFailed
            | HsmError::UnknownMasterKey(_)
            | HsmError::Config(_)
            | HsmError::Pkcs11(_)
            | HsmError::Io(_)
            | HsmError::Corrupt(_) => "internal",
        }
    }
}

/// Seal state as shown by `kms status` and `GET /v1/sys/seal-status`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SealStatus {
    /// Which backend: `software` or `pkcs11`.
    pub backend: &'static str,
    /// Whether the backend holds a master key (software: its sealed file exists).
    pub initialized: bool,
    pub sealed: bool,
    /// Shares needed to unseal (0 where the backend has no shares).
    pub threshold: u8,
    /// Shares issued at initialisation.
    pub shares: u8,
    /// Shares submitted so far towards the next unseal.
    pub progress: u8,
}

/// One token (or, for the software backend, its one sealed keyring).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenStatus {
    pub label: String,
    pub healthy: bool,
    /// Why it is not healthy.
    pub error: Option<String>,
    pub master_keys: Vec<MasterKeyInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MasterKeyInfo {
    pub id: String,
    pub kcv: String,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HsmStatus {
    pub backend: &'static str,
    pub tokens: Vec<TokenStatus>,
}

pub enum MasterKeySource {
    /// Generated inside the HSM.
    Generate,
    /// The XOR of custodians' components.
    Components(Vec<KeyMaterial>),
}

/// The software backend's sealing of a newly initialised keyring.
#[derive(Clone, Copy, Debug)]
pub struct Sealing {
    pub shares: u8,
    pub threshold: u8,
}

pub struct CreatedMasterKey {
    pub id: MasterKeyId,
    pub kcv: Kcv,
    pub origin: MasterKeyOrigin,
    /// Tokens that now hold it.
    pub tokens: Vec<String>,
    /// Software backend, first key: the unseal shares, to be handed out once.
    pub shares: Vec<SecretString>,
}

/// The length of random material `context`'s algorithm needs; key pairs are made outside the
/// HSM and wrapped with [`HsmBackend::wrap`].
pub fn random_material_len(context: &WrapContext) -> Result<usize, HsmError> {
    match context.algorithm.material() {
        MaterialKind::Random(len) => Ok(len),
        MaterialKind::KeyPair => Err(HsmError::InvalidParameters(format!(
            "{} keys are key pairs: generate them, then wrap",
            context.algorithm
        ))),
    }
}

/// Refuses to replace `current` with `next` unless the counter moves forward.
pub fn check_advance(current: Option<&AuditAnchor>, next: &AuditAnchor) -> Result<(), HsmError> {
    match current {
        Some(c) if !c.may_advance_to(next) => Err(HsmError::AuditCounterBackwards {
            seals: c.seals,
            seq: c.seq,
        }),
        _ => Ok(()),
    }
}

/// A fresh master key id: `mk-` and 16 hex digits.
pub fn new_master_key_id() -> MasterKeyId {
    let mut bytes = [0u8; 8];
    rand::fill(&mut bytes);
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // 19 printable ASCII characters: always a valid id.
    MasterKeyId::new(&format!("mk-{text}")).expect("mk- and 16 hex digits is a valid id")
}

pub trait HsmBackend: Send + 'static {
    fn seal_status(&self) -> SealStatus;

    /// Every token's health and the master keys it holds. May probe the tokens.
    fn status(&mut self) -> HsmStatus;

    /// Adds one unseal share; when enough are in, unseals (or fails and starts over).
    fn submit_share(&mut self, _share: &str) -> Result<SealStatus, HsmError> {
        Err(HsmError::NotSupported("unseal shares"))
    }

    /// Forgets the shares submitted so far.
    fn reset_unseal(&mut self) {}

    /// Replaces the unseal key with a new random one split into `sealing.shares` shares
    /// (`sealing.threshold` unseal), once `current` (as many distinct current shares as the
    /// threshold) reconstruct the old one. The master keys are untouched; the old shares stop
    /// working. Returns the new shares.
    fn rekey(
        &mut self,
        _current: &[SecretString],
        _sealing: Sealing,
    ) -> Result<Vec<SecretString>, HsmError> {
        Err(HsmError::NotSupported(
            "unseal shares (this HSM has none to rekey)",
        ))
    }

    /// Checks that `current` (as many distinct shares as the threshold) reconstruct the unseal
    /// key (`WrongShares` otherwise), without changing anything.
    fn check_shares(&mut self, _current: &[SecretString]) -> Result<(), HsmError> {
        Err(HsmError::NotSupported("unseal shares (this HSM has none)"))
    }

    /// Creates a master key. `sealing` initialises the software backend's shares and is only
    /// valid for its first key.
    fn create_master_key(
        &mut self,
        source: MasterKeySource,
        sealing: Option<Sealing>,
    ) -> Result<CreatedMasterKey, HsmError>;

    /// Loads an existing master key, formed from its components, into every token that lacks
    /// it. The components must give the recorded KCV. Returns the tokens it was loaded into.
    fn load_master_key(
        &mut self,
        id: &MasterKeyId,
        expected: &Kcv,
        components: Vec<KeyMaterial>,
    ) -> Result<Vec<String>, HsmError>;

    /// Destroys a master key in every token. Destroying one that is not there is not an error.
    fn destroy_master_key(&mut self, id: &MasterKeyId) -> Result<(), HsmError>;

    /// A new random working key of `context.algorithm`, wrapped under `under`.
    fn generate_wrapped(
        &mut self,
        context: &WrapContext,
        under: &MasterKeyId,
    ) -> Result<WrappedKey, HsmError>;

    fn wrap(
        &mut self,
        context: &WrapContext,
        material: &KeyMaterial,
        under: &MasterKeyId,
    ) -> Result<WrappedKey, HsmError>;

    fn unwrap(
        &mut self,
        context: &WrapContext,
        wrapped: &WrappedKey,
    ) -> Result<KeyMaterial, HsmError>;

    /// The audit counter: the number of audit seals, and the last one's entry and MAC, kept where
    /// the database cannot reach it (`None` before the first seal). The zone backend of a service
    /// node has none.
    fn audit_anchor(&mut self) -> Result<Option<AuditAnchor>, HsmError> {
        Err(HsmError::NotSupported("audit counters"))
    }

    /// Moves the audit counter to `next`, durably; refuses to move it back or to stay
    /// ([`check_advance`]).
    fn advance_audit_anchor(&mut self, _next: &AuditAnchor) -> Result<(), HsmError> {
        Err(HsmError::NotSupported("audit counters"))
    }

    /// Unwraps and wraps again under `under`; the material never leaves the backend.
    fn rewrap(
        &mut self,
        context: &WrapContext,
        wrapped: &WrappedKey,
        under: &MasterKeyId,
    ) -> Result<WrappedKey, HsmError> {
        let material = self.unwrap(context, wrapped)?;
        self.wrap(context, &material, under)
    }
}
