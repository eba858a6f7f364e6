//! Typed calls, one file per family of the native data-plane API (docs/api.md): each turns its
//! arguments into one item's JSON, sends it through [`crate::Client`]'s item path (batched
//! where batching is on), and reads the answer into its type.

mod cipher;
mod datakey;
mod hmac;
mod passwords;
mod public_key;
mod random;
mod sign;
mod wire;

pub use datakey::DataKey;
pub use passwords::{PasswordChallenge, PasswordMatch, PasswordPublicKey};
pub use public_key::PublicKey;
pub use sign::{SignOptions, SignScheme};
pub use wire::{Ciphertext, Tagged};
