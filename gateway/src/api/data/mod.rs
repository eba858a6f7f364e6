//! Data-plane endpoints: what applications call, under `/v1/keys/{name}/`.

pub mod decrypt;
pub mod encrypt;
