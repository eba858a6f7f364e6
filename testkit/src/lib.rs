//! Test fixtures shared by the HSM backend tests, several crates' unit tests and the end-to-end
//! tests (SoftHSM2 token directories, openssl-made certificates). Never a dependency of code
//! that ships.
#![forbid(unsafe_code)]
// Fixtures panic on failure by design: they run only inside tests.
#![allow(clippy::unwrap_used)]

pub mod openssl;
pub mod softhsm;
