//! One token: found by label, logged in with its PIN, with its master-key handles cached. The
//! HSM actor's thread owns it. When a call fails because the session or the device went away
//! (token removed, handles invalidated), the connection is dropped and rebuilt on the next call:
//! new slot lookup, new session, login, handles found again.

use std::collections::HashMap;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use kms_engine::ids::MasterKeyId;
use kms_engine::secret::SecretString;

use crate::backend::{HsmError, MasterKeyInfo};

/// Label prefix of the objects this KMS manages.
pub const MK_PREFIX: &str = "mk-";

pub struct Conn {
    pub session: Session,
    handles: HashMap<MasterKeyId, ObjectHandle>,
}

pub struct Token {
    pub label: String,
    pin: SecretString,
    conn: Option<Conn>,
    pub last_error: Option<String>,
}

/// Whether a PKCS#11 error means the session or the device is gone (reconnect and retry, or try
/// another token), as opposed to a problem with the request itself.
pub fn is_connection_error(e: &Error) -> bool {
    matches!(
        e,
        Error::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::ObjectHandleInvalid
                | RvError::KeyHandleInvalid
                | RvError::DeviceError
                | RvError::DeviceRemoved
                | RvError::DeviceMemory
                | RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::UserNotLoggedIn
                | RvError::CryptokiNotInitialized
                | RvError::SlotIdInvalid,
            _
        )
    )
}

fn find_slot(ctx: &Pkcs11, label: &str) -> Result<Slot, HsmError> {
    // Not get_slots_with_initialized_token: it fails as a whole when any one slot cannot
    // describe its token, which SoftHSM does for the stale slot of a token that went away and
    // came back.
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| HsmError::Unavailable(format!("cannot list tokens: {e}")))?;
    let mut seen = Vec::new();
    for slot in slots {
        // A token that cannot even describe itself is skipped; it is not the one we want.
        if let Some(info) = ctx
            .get_token_info(slot)
            .ok()
            .filter(|i| i.token_initialized())
        {
            let found = info.label().trim_end().to_owned();
            if found == label {
                return Ok(slot);
            }
            seen.push(found);
        }
    }
    Err(HsmError::Config(format!(
        "no initialised token labelled `{label}` (tokens present: {})",
        if seen.is_empty() {
            "none".to_owned()
        } else {
            seen.join(", ")
        }
    )))
}

impl Token {
    pub fn new(label: String, pin: SecretString) -> Self {
        Self {
            label,
            pin,
            conn: None,
            last_error: None,
        }
    }

    /// Opens a session and logs in. Errors name the token and say what is wrong.
    pub fn connect(&mut self, ctx: &Pkcs11) -> Result<&mut Conn, HsmError> {
        if self.conn.is_none() {
            let slot = find_slot(ctx, &self.label)?;
            let session = ctx.open_rw_session(slot).map_err(|e| {
                HsmError::Unavailable(format!(
                    "token `{}`: cannot open a session: {e}",
                    self.label
                ))
            })?;
            let pin = AuthPin::new(self.pin.expose().into());
            match session.login(UserType::User, Some(&pin)) {
                Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                Err(Error::Pkcs11(RvError::PinIncorrect, _)) => {
                    return Err(HsmError::Config(format!(
                        "token `{}` refused the PIN (CKR_PIN_INCORRECT)",
                        self.label
                    )));
                }
                Err(Error::Pkcs11(RvError::PinLocked, _)) => {
                    return Err(HsmError::Config(format!(
                        "token `{}`: the user PIN is locked (CKR_PIN_LOCKED)",
                        self.label
                    )));
                }
                Err(e) => {
                    return Err(HsmError::Unavailable(format!(
                        "token `{}`: login failed: {e}",
                        self.label
                    )));
                }
            }
            self.conn = Some(Conn {
                session,
                handles: HashMap::new(),
            });
        }
        self.conn
            .as_mut()
            .ok_or_else(|| HsmError::Unavailable("connection vanished".into()))
    }

    /// Runs `f` on the connection; if the connection turns out broken, rebuilds it and tries
    /// once more. `Ok(Err(e))` is an error of the request itself, for the caller to interpret.
    pub fn call<T>(
        &mut self,
        ctx: &Pkcs11,
        mut f: impl FnMut(&mut Conn) -> Result<T, Error>,
    ) -> Result<Result<T, Error>, HsmError> {
        for attempt in 0..2 {
            let conn = match self.connect(ctx) {
                Ok(c) => c,
                Err(e) => {
                    self.last_error = Some(e.to_string());
                    return Err(e);
                }
            };
            match f(conn) {
                Err(e) if is_connection_error(&e) => {
                    tracing::warn!(token = %self.label, error = %e, attempt, "PKCS#11 connection lost; reconnecting");
                    self.conn = None;
                    self.last_error = Some(e.to_string());
                }
                other => {
                    self.last_error = None;
                    return Ok(other);
                }
            }
        }
        Err(HsmError::Unavailable(format!(
            "token `{}`: {}",
            self.label,
            self.last_error.as_deref().unwrap_or("connection lost")
        )))
    }

    /// Every master key (`mk-*` secret key) on the token, with its check value.
    pub fn master_keys(&mut self, ctx: &Pkcs11) -> Result<Vec<MasterKeyInfo>, HsmError> {
        let listed = self.call(ctx, |c| {
            let objects = c
                .session
                .find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)])?;
            let mut out = Vec::new();
            for o in objects {
                let attrs = c
                    .session
                    .get_attributes(o, &[AttributeType::Label, AttributeType::CheckValue])?;
                let mut label = None;
                let mut kcv = String::new();
                for a in attrs {
                    match a {
                        Attribute::Label(l) => label = String::from_utf8(l).ok(),
                        Attribute::CheckValue(v) => {
                            kcv = v.iter().map(|b| format!("{b:02X}")).collect();
                        }
                        _ => {}
                    }
                }
                if let Some(id) = label.filter(|l| l.starts_with(MK_PREFIX)) {
                    out.push(MasterKeyInfo { id, kcv });
                }
            }
            Ok(out)
        })?;
        listed.map_err(|e| HsmError::Pkcs11(format!("token `{}`: {e}", self.label)))
    }
}

impl Conn {
    /// The handle of master key `id` on this token, if it holds it.
    pub fn key(&mut self, id: &MasterKeyId) -> Result<Option<ObjectHandle>, Error> {
        if let Some(h) = self.handles.get(id) {
            return Ok(Some(*h));
        }
        let found = self.session.find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(id.as_str().as_bytes().to_vec()),
        ])?;
        let handle = found.first().copied();
        if let Some(h) = handle {
            self.handles.insert(id.clone(), h);
        }
        Ok(handle)
    }

    pub fn forget(&mut self, id: &MasterKeyId) {
        self.handles.remove(id);
    }
}
