//! Conversions between column values and engine types, shared by both backends. A value that does
//! not convert is a corrupt row, reported as such rather than skipped.

use kms_engine::clock::Timestamp;
use kms_engine::ids::{AppId, KeyId, KeyVersion};
use kms_engine::store::{Revision, StoreError};

pub fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub fn key_id(bytes: &[u8]) -> Result<KeyId, StoreError> {
    <[u8; 16]>::try_from(bytes)
        .map(KeyId::from_bytes)
        .map_err(|_| corrupt("key id is not 16 bytes"))
}

pub fn app_id(bytes: &[u8]) -> Result<AppId, StoreError> {
    <[u8; 16]>::try_from(bytes)
        .map(AppId::from_bytes)
        .map_err(|_| corrupt("app id is not 16 bytes"))
}

pub fn version(v: i64) -> Result<KeyVersion, StoreError> {
    u32::try_from(v)
        .map_err(|_| corrupt("version out of range"))
        .and_then(|v| KeyVersion::new(v).map_err(corrupt))
}

pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

pub fn revision(r: i64) -> Result<Revision, StoreError> {
    Revision::try_from(r).map_err(|_| corrupt("negative revision"))
}

pub fn to_i64(r: Revision) -> i64 {
    i64::try_from(r).unwrap_or(i64::MAX)
}
