//! Unauthenticated system endpoints: liveness, seal status, initialisation and unsealing. Like
//! Vault's, init and unseal need no token: the unseal shares are themselves the credential, and
//! init works only once.

pub mod health;
pub mod init;
pub mod seal_status;
pub mod unseal;
