//! The software HSM's unseal shares after `init`, as Vault handles its own: `rekey` re-splits the
//! unseal key with a quorum of the current shares, `generate-root` makes a new root token with a
//! quorum of them. Both are for custodians (kms.toml's, or people holding `security_admin` or
//! `operator`, authenticated as for ceremonies, so every step is audited under a name), and both
//! need as many distinct current shares as the threshold, one per custodian ([`attempt`]).
//! A PKCS#11 HSM has no shares: both answer `400 not_supported`.
//!
//! Files: `attempt.rs` (the registry of an open attempt), `plans.rs` (what each will do),
//! `ops.rs` (the two slots the ceremony registry holds), `steps.rs` (checks, audit, and the
//! start, cancel and submit steps shared by both), `deliver.rs` (shares out, encrypted),
//! `rekey.rs` and `generate_root.rs` (what each does).

pub mod attempt;
pub mod deliver;
pub mod generate_root;
pub mod ops;
pub mod plans;
pub mod rekey;
pub mod steps;
