//! Master-key ceremonies: a master-key operation runs only once a quorum of distinct custodians
//! has approved it, each with their own password (or their session, for people holding
//! `security_admin` or `operator`).
//!
//! Ceremonies live in memory only: they are short (an hour by default) and a component ceremony
//! holds the custodians' components until it executes; those must never reach the disk. A
//! restart forgets open ceremonies, which then start over. A ceremony executes at most once.

pub mod custodian_login;
pub mod plan;
pub mod registry;
pub mod run;
