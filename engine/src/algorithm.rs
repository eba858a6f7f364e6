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
}

impl Algorithm {
    pub const ALL: &'static [Algorithm] = &[Algorithm::Aes256Gcm];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Aes256Gcm => "aes-256-gcm",
        }
    }

    pub fn parse(name: &str) -> Result<Self, EngineError> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.name() == name)
            .ok_or_else(|| EngineError::UnsupportedAlgorithm(name.to_owned()))
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

    /// Length in bytes of one version's secret material.
    pub fn key_len(self) -> usize {
        match self {
            Algorithm::Aes256Gcm => 32,
        }
    }

    /// Whether keys of this algorithm can do `op` at all (a grant is needed as well).
    pub fn supports(self, op: Operation) -> bool {
        match self {
            Algorithm::Aes256Gcm => matches!(op, Operation::Encrypt | Operation::Decrypt),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operation an application may be granted on a key. The names are the data-plane endpoint
/// names, so a grant reads the same as the URL it allows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[repr(u8)]
pub enum Operation {
    Encrypt = 1,
    Decrypt = 2,
}

impl Operation {
    pub const ALL: &'static [Operation] = &[Operation::Encrypt, Operation::Decrypt];

    pub fn name(self) -> &'static str {
        match self {
            Operation::Encrypt => "encrypt",
            Operation::Decrypt => "decrypt",
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
        assert_eq!(Algorithm::Aes256Gcm.code(), 1);
        assert_eq!(Operation::Encrypt.code(), 1);
        assert_eq!(Operation::Decrypt.code(), 2);
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
    fn operation_sets() {
        let set: OperationSet = [Operation::Decrypt].into_iter().collect();
        assert!(set.contains(Operation::Decrypt));
        assert!(!set.contains(Operation::Encrypt));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![Operation::Decrypt]);
        assert!(OperationSet::default().is_empty());
    }
}
