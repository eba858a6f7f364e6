//! The text form of a ciphertext: `kms:NNNNN:<base64(nonce ‖ ciphertext ‖ tag)>`.
//!
//! `NNNNN` is the key version, five digits, zero-padded. The ten header bytes (`kms:00003:`), the
//! 16 bytes of the key's id and the caller's context, in that order, are the AEAD's associated
//! data. Header and key id have fixed lengths, so the concatenation is unambiguous: a ciphertext
//! whose header is edited to another version, that is presented under another key, or with
//! another context, fails authentication. See docs/ciphertext.md.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::EngineError;
use crate::ids::{KeyId, KeyVersion};

pub const PREFIX: &str = "kms:";
/// `kms:` + five digits + `:`.
pub const HEADER_LEN: usize = 10;
pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;

/// Base64 that accepts input with or without padding; output is always padded.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes standard base64 (padding optional) from a named request field.
pub fn decode_b64(field: &'static str, text: &str) -> Result<Vec<u8>, EngineError> {
    LENIENT
        .decode(text)
        .map_err(|_| EngineError::InvalidBase64 { field })
}

pub fn encode_b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The header bytes for `version`.
pub fn header(version: KeyVersion) -> [u8; HEADER_LEN] {
    let mut h = *b"kms:00000:";
    let mut v = version.get();
    for slot in h[4..9].iter_mut().rev() {
        // `v % 10` is a digit, so the narrowing is exact.
        *slot = b'0' + u8::try_from(v % 10).unwrap_or(0);
        v /= 10;
    }
    h
}

/// Associated data: header ‖ key id ‖ context.
pub fn associated_data(header: &[u8; HEADER_LEN], key: &KeyId, context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(HEADER_LEN + 16 + context.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(key.as_bytes());
    aad.extend_from_slice(context);
    aad
}

/// Formats a sealed body (nonce ‖ ciphertext ‖ tag) under `version`.
pub fn format(version: KeyVersion, body: &[u8]) -> String {
    let mut out = String::with_capacity(HEADER_LEN + body.len().div_ceil(3) * 4);
    // The header is ASCII by construction.
    out.push_str(std::str::from_utf8(&header(version)).unwrap_or(PREFIX));
    STANDARD.encode_string(body, &mut out);
    out
}

/// A parsed ciphertext.
#[derive(Debug)]
pub struct Parsed {
    pub version: KeyVersion,
    pub header: [u8; HEADER_LEN],
    /// nonce ‖ ciphertext ‖ tag, at least `NONCE_LEN + TAG_LEN` bytes.
    pub body: Vec<u8>,
}

/// Which versioned value is being parsed: each has its own error codes.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Ciphertext,
    Signature,
    Hmac,
    /// A password key's protected value.
    Protected,
}

impl Kind {
    /// The error for a malformed value of this kind.
    pub fn malformed(self, why: &'static str) -> EngineError {
        match self {
            Kind::Ciphertext => EngineError::InvalidCiphertext(why),
            Kind::Signature => EngineError::InvalidSignature(why),
            Kind::Hmac => EngineError::InvalidHmac(why),
            Kind::Protected => EngineError::InvalidProtected(why),
        }
    }

    fn field(self) -> &'static str {
        match self {
            Kind::Ciphertext => "ciphertext",
            Kind::Signature => "signature",
            Kind::Hmac => "hmac",
            Kind::Protected => "protected",
        }
    }
}

/// Parses the text form of a ciphertext. Structural problems get their own errors; whether the
/// ciphertext is authentic is only known after decryption.
pub fn parse(text: &str) -> Result<Parsed, EngineError> {
    let parsed = parse_as(Kind::Ciphertext, text)?;
    if parsed.body.len() < NONCE_LEN + TAG_LEN {
        return Err(EngineError::CiphertextTruncated);
    }
    Ok(parsed)
}

/// Parses any `kms:NNNNN:<base64>` value (a ciphertext, a signature, a MAC).
pub fn parse_as(kind: Kind, text: &str) -> Result<Parsed, EngineError> {
    let bytes = text.as_bytes();
    if !text.starts_with(PREFIX) {
        return Err(kind.malformed("it must start with `kms:`"));
    }
    if bytes.len() < HEADER_LEN
        || bytes[HEADER_LEN - 1] != b':'
        || !bytes[4..9].iter().all(u8::is_ascii_digit)
    {
        return Err(
            kind.malformed("the header must be `kms:` followed by a five-digit version and `:`")
        );
    }
    let number = bytes[4..9]
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    let version =
        KeyVersion::new(number).map_err(|_| kind.malformed("version 00000 does not exist"))?;
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(&bytes[..HEADER_LEN]);
    let body = decode_b64(kind.field(), &text[HEADER_LEN..])?;
    Ok(Parsed {
        version,
        header,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: u32) -> KeyVersion {
        KeyVersion::new(n).unwrap()
    }

    #[test]
    fn headers_are_five_zero_padded_digits() {
        assert_eq!(&header(v(1)), b"kms:00001:");
        assert_eq!(&header(v(42)), b"kms:00042:");
        assert_eq!(&header(v(99_999)), b"kms:99999:");
    }

    #[test]
    fn format_then_parse_round_trips() {
        let body: Vec<u8> = (0u8..40).collect();
        let text = format(v(3), &body);
        assert!(text.starts_with("kms:00003:"));
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed.version, v(3));
        assert_eq!(&parsed.header, b"kms:00003:");
        assert_eq!(parsed.body, body);
    }

    #[test]
    fn malformed_inputs_get_their_own_errors() {
        let body = encode_b64(&[0u8; 28]);
        let cases = [
            ("vault:v1:abc".to_owned(), "InvalidCiphertext"),
            ("kms:0001:abc".to_owned(), "InvalidCiphertext"),
            ("kms:0000a:abc".to_owned(), "InvalidCiphertext"),
            (format!("kms:00000:{body}"), "InvalidCiphertext"),
            ("kms:00001".to_owned(), "InvalidCiphertext"),
            ("kms:00001:!!!!".to_owned(), "InvalidBase64"),
            (
                format!("kms:00001:{}", encode_b64(&[0u8; 27])),
                "CiphertextTruncated",
            ),
        ];
        for (text, want) in cases {
            let err = parse(&text).unwrap_err();
            assert!(format!("{err:?}").starts_with(want), "{text}: {err:?}");
        }
        assert!(parse(&format!("kms:00001:{body}")).is_ok());
    }

    #[test]
    fn base64_padding_is_optional_on_input() {
        assert_eq!(decode_b64("x", "aGk=").unwrap(), b"hi");
        assert_eq!(decode_b64("x", "aGk").unwrap(), b"hi");
        assert!(decode_b64("x", "a-k").is_err());
    }

    #[test]
    fn associated_data_layout() {
        let id = KeyId::from_bytes([7; 16]);
        let aad = associated_data(&header(v(2)), &id, b"ctx");
        assert_eq!(&aad[..10], b"kms:00002:");
        assert_eq!(&aad[10..26], &[7; 16]);
        assert_eq!(&aad[26..], b"ctx");
    }
}
