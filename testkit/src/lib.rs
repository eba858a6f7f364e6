//! Test fixtures shared by the HSM backend tests, the gateway's tests and the end-to-end tests.
#![forbid(unsafe_code)]
// Fixtures panic on failure by design: they run only inside tests.
#![allow(clippy::unwrap_used)]

pub mod openssl;
pub mod softhsm;
