//! Apps (machine identities): their tokens and certificates, and how administrators see them.

pub mod tokens;
pub mod view;
