//! Secret values the client holds: an app's token and the plaintext half of a data key. Neither
//! has `Debug`, `Clone` or `Serialize`; both are zeroized when dropped.

use zeroize::Zeroizing;

/// An app's bearer token.
pub struct Token(Zeroizing<String>);

impl Token {
    pub fn new(token: impl Into<String>) -> Self {
        Self(Zeroizing::new(token.into()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

/// The plaintext of a data key from `datakey` with `return_plaintext`: 16 or 32 bytes the
/// application encrypts with locally and then drops. Zeroized on drop.
pub struct DataKeyPlaintext(Zeroizing<Vec<u8>>);

impl DataKeyPlaintext {
    pub(crate) fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    /// The key bytes. Do not copy them into memory that outlives this value.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}
