//! `/v1/hsm/generate-root/...` (custodians): a new root token once a quorum of the current unseal
//! shares is in, encrypted to the RSA key named at `init` (docs/hsm.md, "Rekey and
//! generate-root"). A PKCS#11 HSM answers `400 not_supported`.

pub mod cancel;
pub mod init;
pub mod status;
pub mod update;
