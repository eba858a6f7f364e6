//! The PKCS#11 backend (tested against SoftHSM2; the same calls drive a hardware HSM).
//!
//! Master keys are AES-256 token objects, sensitive, never extractable, usable only for
//! CKM_AES_GCM, labelled with their id. Working keys are wrapped with CKM_AES_GCM through
//! C_Encrypt and unwrapped through C_Decrypt, bound to key id, version and algorithm as AAD
//! (blob: IV ‖ ciphertext ‖ tag, the same layout as the software backend). New working keys come
//! from the token's RNG.
//!
//! Several tokens may be configured: the first is the primary, the others stand by. A master key
//! formed from components is loaded into every token; a generated one exists only in the primary
//! (it cannot be copied out). Every operation tries the tokens in order and moves on when one is
//! unreachable, so the KMS keeps working when the primary fails.
//!
//! The audit counter (`anchor.rs`) is a private data object on every token.
//!
//! Components are combined by XOR in this process (zeroized at once) and the result imported
//! with C_CreateObject: SoftHSM 2.6.1 lacks CKM_XOR_BASE_AND_DATA, so the combination cannot
//! happen inside it. An imported key reads CKA_NEVER_EXTRACTABLE = false; it is still sensitive
//! and not extractable.

mod anchor;
mod context;
mod token;

use std::path::PathBuf;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use kms_engine::audit::AuditAnchor;
use kms_engine::ids::MasterKeyId;
use kms_engine::master_key::{Kcv, MasterKeyOrigin};
use kms_engine::secret::{KeyMaterial, SecretString};
use kms_engine::wrap::{WrapContext, WrappedKey};
use zeroize::Zeroize;

use crate::backend::{
    CreatedMasterKey, HsmBackend, HsmError, HsmStatus, MasterKeySource, SealStatus, Sealing,
    TokenStatus, new_master_key_id, random_material_len,
};
use crate::components;
pub use token::is_connection_error;
use token::{Conn, Token};

const IV_LEN: usize = 12;
const TAG_BITS: u64 = 128;

pub struct TokenConfig {
    pub label: String,
    /// Read from an environment variable or a file by the caller; never from the command line.
    pub pin: SecretString,
}

pub struct Pkcs11Config {
    pub module: PathBuf,
    /// The primary first, then the standbys.
    pub tokens: Vec<TokenConfig>,
}

pub struct Pkcs11Hsm {
    ctx: Pkcs11,
    tokens: Vec<Token>,
}

/// The template of a master-key object.
fn master_key_template(id: &MasterKeyId) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
        Attribute::AllowedMechanisms(vec![MechanismType::AES_GCM]),
        Attribute::Label(id.as_str().as_bytes().to_vec()),
        Attribute::Id(id.as_str().as_bytes().to_vec()),
    ]
}

fn check_value(conn: &Conn, handle: ObjectHandle) -> Result<Vec<u8>, Error> {
    let attrs = conn
        .session
        .get_attributes(handle, &[AttributeType::CheckValue])?;
    Ok(attrs
        .into_iter()
        .find_map(|a| match a {
            Attribute::CheckValue(v) => Some(v),
            _ => None,
        })
        .unwrap_or_default())
}

fn request_error(token: &str, e: &Error) -> HsmError {
    HsmError::Pkcs11(format!("token `{token}`: {e}"))
}

impl Pkcs11Hsm {
    /// Loads the module, finds every configured token by label and logs in. Any problem (no
    /// module, no such token, wrong PIN) stops here with a message that says which.
    pub fn open(config: &Pkcs11Config) -> Result<Self, HsmError> {
        if config.tokens.is_empty() {
            return Err(HsmError::Config("no PKCS#11 token configured".into()));
        }
        let ctx = context::context(&config.module)?;
        let mut tokens: Vec<Token> = config
            .tokens
            .iter()
            .map(|t| {
                Token::new(
                    t.label.clone(),
                    SecretString::new(t.pin.expose().to_owned()),
                )
            })
            .collect();
        for token in &mut tokens {
            token.connect(&ctx)?;
        }
        Ok(Self { ctx, tokens })
    }

    /// Runs `op` with master key `id` on the first reachable token that holds it.
    fn on_key<T>(
        &mut self,
        id: &MasterKeyId,
        mut op: impl FnMut(&mut Conn, ObjectHandle) -> Result<T, Error>,
    ) -> Result<(String, Result<T, Error>), HsmError> {
        let mut down = Vec::new();
        for token in &mut self.tokens {
            let attempt = token.call(&self.ctx, |c| match c.key(id)? {
                Some(h) => op(c, h).map(Some),
                None => Ok(None),
            });
            match attempt {
                Ok(Ok(Some(t))) => return Ok((token.label.clone(), Ok(t))),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => return Ok((token.label.clone(), Err(e))),
                Err(e) => down.push(e.to_string()),
            }
        }
        if down.is_empty() {
            Err(HsmError::UnknownMasterKey(id.clone()))
        } else {
            Err(HsmError::Unavailable(down.join("; ")))
        }
    }

    /// Imports `material` as master key `id` into one token and checks its KCV there.
    fn import(
        token: &mut Token,
        ctx: &Pkcs11,
        id: &MasterKeyId,
        material: &KeyMaterial,
        expected: &Kcv,
    ) -> Result<(), HsmError> {
        let label = token.label.clone();
        let result = token.call(ctx, |c| {
            let mut template = master_key_template(id);
            template.push(Attribute::Value(material.expose().to_vec()));
            let created = c.session.create_object(&template);
            for a in &mut template {
                if let Attribute::Value(v) = a {
                    v.zeroize();
                }
            }
            let handle = created?;
            Ok((handle, check_value(c, handle)?))
        })?;
        let (handle, kcv) = result.map_err(|e| request_error(&label, &e))?;
        let got = Kcv::from_bytes(&kcv).map_err(|e| HsmError::Pkcs11(e.to_string()))?;
        if &got != expected {
            let _ = token.call(ctx, |c| c.session.destroy_object(handle));
            return Err(HsmError::KcvMismatch {
                expected: expected.clone(),
                got,
            });
        }
        Ok(())
    }

    fn destroy_everywhere(&mut self, id: &MasterKeyId) -> Result<(), HsmError> {
        for token in &mut self.tokens {
            let label = token.label.clone();
            token
                .call(&self.ctx, |c| {
                    if let Some(h) = c.key(id)? {
                        c.session.destroy_object(h)?;
                        c.forget(id);
                    }
                    Ok(())
                })?
                .map_err(|e| request_error(&label, &e))?;
        }
        Ok(())
    }
}

impl HsmBackend for Pkcs11Hsm {
    fn seal_status(&self) -> SealStatus {
        // Tokens are unlocked by their PINs at start-up; there is nothing to unseal.
        SealStatus {
            backend: "pkcs11",
            initialized: true,
            sealed: false,
            threshold: 0,
            shares: 0,
            progress: 0,
        }
    }

    fn status(&mut self) -> HsmStatus {
        let ctx = self.ctx.clone();
        HsmStatus {
            backend: "pkcs11",
            tokens: self
                .tokens
                .iter_mut()
                .map(|t| match t.master_keys(&ctx) {
                    Ok(master_keys) => TokenStatus {
                        label: t.label.clone(),
                        healthy: true,
                        error: None,
                        master_keys,
                    },
                    Err(e) => TokenStatus {
                        label: t.label.clone(),
                        healthy: false,
                        error: Some(e.to_string()),
                        master_keys: Vec::new(),
                    },
                })
                .collect(),
        }
    }

    fn create_master_key(
        &mut self,
        source: MasterKeySource,
        sealing: Option<Sealing>,
    ) -> Result<CreatedMasterKey, HsmError> {
        if sealing.is_some() {
            return Err(HsmError::InvalidParameters(
                "PKCS#11 tokens are unlocked by PINs; they take no unseal shares".into(),
            ));
        }
        let id = new_master_key_id();
        match source {
            MasterKeySource::Generate => {
                let primary = &mut self.tokens[0];
                let label = primary.label.clone();
                let kcv = primary
                    .call(&self.ctx, |c| {
                        let mut template = master_key_template(&id);
                        template.push(Attribute::ValueLen(32.into()));
                        let handle = c.session.generate_key(&Mechanism::AesKeyGen, &template)?;
                        check_value(c, handle)
                    })?
                    .map_err(|e| request_error(&label, &e))?;
                Ok(CreatedMasterKey {
                    kcv: Kcv::from_bytes(&kcv).map_err(|e| HsmError::Pkcs11(e.to_string()))?,
                    id,
                    origin: MasterKeyOrigin::Generated,
                    tokens: vec![label],
                    shares: Vec::new(),
                })
            }
            MasterKeySource::Components(parts) => {
                let material = components::combine(&parts)?;
                let kcv = components::kcv(&material)?;
                let mut loaded = Vec::new();
                for i in 0..self.tokens.len() {
                    let ctx = self.ctx.clone();
                    if let Err(e) = Self::import(&mut self.tokens[i], &ctx, &id, &material, &kcv) {
                        // All or nothing: a key in some tokens only would fail over badly.
                        let _ = self.destroy_everywhere(&id);
                        return Err(e);
                    }
                    loaded.push(self.tokens[i].label.clone());
                }
                Ok(CreatedMasterKey {
                    id,
                    kcv,
                    origin: MasterKeyOrigin::Components,
                    tokens: loaded,
                    shares: Vec::new(),
                })
            }
        }
    }

    fn load_master_key(
        &mut self,
        id: &MasterKeyId,
        expected: &Kcv,
        parts: Vec<KeyMaterial>,
    ) -> Result<Vec<String>, HsmError> {
        let material = components::combine(&parts)?;
        let got = components::kcv(&material)?;
        if &got != expected {
            return Err(HsmError::KcvMismatch {
                expected: expected.clone(),
                got,
            });
        }
        let mut loaded = Vec::new();
        for i in 0..self.tokens.len() {
            let ctx = self.ctx.clone();
            let token = &mut self.tokens[i];
            let label = token.label.clone();
            let present = token
                .call(&ctx, |c| c.key(id).map(|h| h.is_some()))?
                .map_err(|e| request_error(&label, &e))?;
            if !present {
                Self::import(token, &ctx, id, &material, expected)?;
                loaded.push(label);
            }
        }
        Ok(loaded)
    }

    fn destroy_master_key(&mut self, id: &MasterKeyId) -> Result<(), HsmError> {
        self.destroy_everywhere(id)
    }

    fn generate_wrapped(
        &mut self,
        context: &WrapContext,
        under: &MasterKeyId,
    ) -> Result<WrappedKey, HsmError> {
        let len = random_material_len(context)?;
        let aad = context.associated_data();
        let (label, result) = self.on_key(under, |c, h| {
            let mut material = vec![0u8; len];
            c.session.generate_random_slice(&mut material)?;
            let material = KeyMaterial::new(material);
            gcm_encrypt(c, h, &aad, &material)
        })?;
        Ok(WrappedKey {
            master_key: under.clone(),
            blob: result.map_err(|e| request_error(&label, &e))?,
        })
    }

    fn wrap(
        &mut self,
        context: &WrapContext,
        material: &KeyMaterial,
        under: &MasterKeyId,
    ) -> Result<WrappedKey, HsmError> {
        let aad = context.associated_data();
        let (label, result) = self.on_key(under, |c, h| gcm_encrypt(c, h, &aad, material))?;
        Ok(WrappedKey {
            master_key: under.clone(),
            blob: result.map_err(|e| request_error(&label, &e))?,
        })
    }

    fn unwrap(
        &mut self,
        context: &WrapContext,
        wrapped: &WrappedKey,
    ) -> Result<KeyMaterial, HsmError> {
        if wrapped.blob.len() < IV_LEN + 16 {
            return Err(HsmError::UnwrapFailed);
        }
        let aad = context.associated_data();
        let (iv, body) = wrapped.blob.split_at(IV_LEN);
        let (label, result) = self.on_key(&wrapped.master_key, |c, h| {
            let mut iv = iv.to_vec();
            let params = GcmParams::new(&mut iv, &aad, TAG_BITS.into())?;
            c.session.decrypt(&Mechanism::AesGcm(params), h, body)
        })?;
        match result {
            Ok(plain) => Ok(KeyMaterial::new(plain)),
            // SoftHSM reports a failed GCM tag as CKR_GENERAL_ERROR: an authentication failure,
            // not an internal error.
            Err(Error::Pkcs11(
                RvError::GeneralError
                | RvError::EncryptedDataInvalid
                | RvError::EncryptedDataLenRange,
                _,
            )) => Err(HsmError::UnwrapFailed),
            Err(e) => Err(request_error(&label, &e)),
        }
    }

    fn audit_anchor(&mut self) -> Result<Option<AuditAnchor>, HsmError> {
        anchor::current(&self.ctx, &mut self.tokens)
    }

    fn advance_audit_anchor(&mut self, next: &AuditAnchor) -> Result<(), HsmError> {
        anchor::advance(&self.ctx, &mut self.tokens, next)
    }
}

fn gcm_encrypt(
    c: &mut Conn,
    key: ObjectHandle,
    aad: &[u8],
    material: &KeyMaterial,
) -> Result<Vec<u8>, Error> {
    let mut iv = [0u8; IV_LEN];
    rand::fill(&mut iv);
    let mut iv_param = iv;
    let params = GcmParams::new(&mut iv_param, aad, TAG_BITS.into())?;
    let sealed = c
        .session
        .encrypt(&Mechanism::AesGcm(params), key, material.expose())?;
    Ok([iv.as_slice(), &sealed].concat())
}
