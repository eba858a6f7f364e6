//! Master keys as the store records them, and the job that moves every working key from one
//! master key to the next.

use std::fmt;

use crate::clock::Timestamp;
use crate::error::EngineError;
use crate::ids::MasterKeyId;

/// Stored by code; see `stored_codes_never_change`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MasterKeyState {
    /// Wraps new working keys. Exactly one master key is active once the KMS is initialised.
    Active = 1,
    /// Replaced by a rotation whose rewrap job has not finished: still unwraps.
    Retiring = 2,
    /// Destroyed in every HSM token; nothing is wrapped under it any more.
    Destroyed = 3,
}

impl MasterKeyState {
    pub const ALL: &'static [MasterKeyState] = &[
        MasterKeyState::Active,
        MasterKeyState::Retiring,
        MasterKeyState::Destroyed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MasterKeyState::Active => "active",
            MasterKeyState::Retiring => "retiring",
            MasterKeyState::Destroyed => "destroyed",
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Result<Self, EngineError> {
        Self::ALL
            .iter()
            .copied()
            .find(|s| i64::from(s.code()) == code)
            .ok_or(EngineError::CorruptRecord("unknown master key state code"))
    }
}

/// How a master key came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MasterKeyOrigin {
    /// Generated inside the HSM; it has never existed outside it.
    Generated = 1,
    /// Formed from custodians' components (XOR); the same components load it into another token.
    Components = 2,
}

impl MasterKeyOrigin {
    pub fn name(self) -> &'static str {
        match self {
            MasterKeyOrigin::Generated => "generated",
            MasterKeyOrigin::Components => "components",
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Result<Self, EngineError> {
        [MasterKeyOrigin::Generated, MasterKeyOrigin::Components]
            .into_iter()
            .find(|o| i64::from(o.code()) == code)
            .ok_or(EngineError::CorruptRecord("unknown master key origin code"))
    }
}

/// A key check value: the first three bytes of AES-ECB(key, 0^128), as six upper-case hex digits.
/// Custodians compare it with the one printed next to their component; it reveals nothing usable
/// about the key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Kcv(String);

impl Kcv {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EngineError> {
        if bytes.len() != 3 {
            return Err(EngineError::InvalidArgument("a KCV is three bytes".into()));
        }
        Ok(Self(bytes.iter().map(|b| format!("{b:02X}")).collect()))
    }

    pub fn parse(text: &str) -> Result<Self, EngineError> {
        if text.len() == 6 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(text.to_ascii_uppercase()))
        } else {
            Err(EngineError::InvalidArgument(
                "a KCV is six hex digits".into(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Kcv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Kcv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kcv({})", self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterKeyRecord {
    pub id: MasterKeyId,
    pub kcv: Kcv,
    pub origin: MasterKeyOrigin,
    pub state: MasterKeyState,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Stored by code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RotationState {
    /// Rewrapping working-key versions from the old master key to the new one.
    Running = 1,
    /// Every version is wrapped under the new key (committed); the old key is being destroyed.
    Rewrapped = 2,
    /// The old master key is destroyed.
    Done = 3,
}

impl RotationState {
    pub fn name(self) -> &'static str {
        match self {
            RotationState::Running => "running",
            RotationState::Rewrapped => "rewrapped",
            RotationState::Done => "done",
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Result<Self, EngineError> {
        [
            RotationState::Running,
            RotationState::Rewrapped,
            RotationState::Done,
        ]
        .into_iter()
        .find(|s| i64::from(s.code()) == code)
        .ok_or(EngineError::CorruptRecord("unknown rotation state code"))
    }
}

/// A master-key rotation's rewrap job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationJob {
    pub id: i64,
    pub from: MasterKeyId,
    pub to: MasterKeyId,
    pub state: RotationState,
    /// Versions rewrapped so far.
    pub rewrapped: u64,
    pub started_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_codes_never_change() {
        assert_eq!(
            MasterKeyState::ALL
                .iter()
                .map(|s| s.code())
                .collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(MasterKeyOrigin::Generated.code(), 1);
        assert_eq!(MasterKeyOrigin::Components.code(), 2);
        assert_eq!(RotationState::Running.code(), 1);
        assert_eq!(RotationState::Rewrapped.code(), 2);
        assert_eq!(RotationState::Done.code(), 3);
        for code in 1..=3 {
            assert_eq!(MasterKeyState::from_code(code).unwrap().code() as i64, code);
            assert_eq!(RotationState::from_code(code).unwrap().code() as i64, code);
        }
        assert!(MasterKeyState::from_code(4).is_err());
    }

    #[test]
    fn kcvs_are_six_upper_case_hex_digits() {
        assert_eq!(
            Kcv::from_bytes(&[0x3b, 0x2d, 0x27]).unwrap().as_str(),
            "3B2D27"
        );
        assert_eq!(Kcv::parse("3b2d27").unwrap().as_str(), "3B2D27");
        assert!(Kcv::parse("3B2D2").is_err());
        assert!(Kcv::from_bytes(&[1, 2]).is_err());
    }
}
