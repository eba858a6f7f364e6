//! `/v1/hsm/rekey/...` (custodians): re-split the software HSM's unseal key once a quorum of the
//! current shares is in (docs/hsm.md, "Rekey and generate-root"). A PKCS#11 HSM answers
//! `400 not_supported`.

pub mod cancel;
pub mod init;
pub mod status;
pub mod update;
