//! Unauthenticated system endpoints: liveness, seal status and unsealing. Like Vault's, unseal
//! needs no token: the unseal shares are themselves the credential. Initialisation is a master-key
//! ceremony (`/v1/hsm/ceremonies`), approved by a quorum of custodians.

pub mod health;
pub mod metrics;
pub mod openapi;
pub mod ready;
pub mod seal_status;
pub mod unseal;
