//! The envelope's self-describing header. Everything needed to decrypt, except the context and
//! the KMS's permission, travels with the data:
//!
//! ```text
//! "KMSE"              magic
//! u8                  format: 1 = one message, 2 = a stream of chunks
//! u8 + bytes          the KMS key's name (1 to 128 bytes)
//! u16 BE + bytes      the wrapped data key, `kms:NNNNN:<base64>` as `datakey` returned it
//! u32 BE              the KMS key version that wrapped it (the same as NNNNN)
//! ```
//!
//! then, for a message, a 12-byte nonce and AES-256-GCM ciphertext with its 16-byte tag; for a
//! stream, a u32 BE chunk size, a 32-byte salt and the chunks (stream.rs). The header and the
//! caller's context are the AEAD's associated data, so a swapped key name, data key, version or
//! context fails to decrypt.

use crate::error::{Error, Result};

pub const MAGIC: &[u8; 4] = b"KMSE";
pub const MESSAGE: u8 = 1;
pub const STREAM: u8 = 2;
pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;

/// A parsed header, borrowing from the envelope.
#[derive(Debug, PartialEq, Eq)]
pub struct Header<'a> {
    pub format: u8,
    pub key: &'a str,
    pub wrapped: &'a str,
    pub key_version: u32,
}

/// The version in a `kms:NNNNN:` prefix.
pub fn wrapped_version(wrapped: &str) -> Option<u32> {
    let rest = wrapped.strip_prefix("kms:")?;
    let (digits, body) = rest.split_at_checked(5)?;
    if !body.starts_with(':') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Appends the header.
pub fn write_header(out: &mut Vec<u8>, format: u8, key: &str, wrapped: &str) -> Result<()> {
    let version = wrapped_version(wrapped).ok_or(Error::MalformedEnvelope(
        "the data key is not a kms: ciphertext",
    ))?;
    let key_len = u8::try_from(key.len())
        .map_err(|_| Error::InvalidArgument("a key name is at most 128 bytes"))?;
    let wrapped_len = u16::try_from(wrapped.len())
        .map_err(|_| Error::MalformedEnvelope("the wrapped data key is too long"))?;
    out.extend_from_slice(MAGIC);
    out.push(format);
    out.push(key_len);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(wrapped.as_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    Ok(())
}

/// Reads the header at the start of `bytes`; answers it and its length.
pub fn parse_header(bytes: &[u8]) -> Result<(Header<'_>, usize)> {
    let short = Error::MalformedEnvelope("truncated header");
    if bytes.len() < 6 {
        return Err(short);
    }
    if &bytes[..4] != MAGIC {
        return Err(Error::MalformedEnvelope("not a KMS envelope"));
    }
    let format = bytes[4];
    if format != MESSAGE && format != STREAM {
        return Err(Error::MalformedEnvelope("unknown envelope format"));
    }
    let key_len = usize::from(bytes[5]);
    let mut at = 6;
    let key = bytes.get(at..at + key_len).ok_or(short.clone())?;
    at += key_len;
    let len = bytes.get(at..at + 2).ok_or(short.clone())?;
    let wrapped_len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    at += 2;
    let wrapped = bytes.get(at..at + wrapped_len).ok_or(short.clone())?;
    at += wrapped_len;
    let v = bytes.get(at..at + 4).ok_or(short)?;
    let key_version = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
    at += 4;
    let (Ok(key), Ok(wrapped)) = (std::str::from_utf8(key), std::str::from_utf8(wrapped)) else {
        return Err(Error::MalformedEnvelope("header text is not UTF-8"));
    };
    crate::client::check_key_name(key)
        .map_err(|_| Error::MalformedEnvelope("bad key name in the header"))?;
    if wrapped_version(wrapped) != Some(key_version) {
        return Err(Error::MalformedEnvelope(
            "the header's key version does not match its data key",
        ));
    }
    Ok((
        Header {
            format,
            key,
            wrapped,
            key_version,
        },
        at,
    ))
}

/// The associated data: the header, then the context's length and bytes.
pub fn associated_data(header: &[u8], context: Option<&[u8]>) -> Vec<u8> {
    let context = context.unwrap_or_default();
    let mut aad = Vec::with_capacity(header.len() + 4 + context.len());
    aad.extend_from_slice(header);
    // Contexts come from callers' memory; one over 4 GiB cannot be built here anyway.
    let len = u32::try_from(context.len()).unwrap_or(u32::MAX);
    aad.extend_from_slice(&len.to_be_bytes());
    aad.extend_from_slice(context);
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_every_inconsistency_is_refused() {
        let mut h = Vec::new();
        write_header(&mut h, MESSAGE, "cards", "kms:00003:QUJD").unwrap();
        h.extend_from_slice(b"rest");
        let (header, len) = parse_header(&h).unwrap();
        assert_eq!(
            header,
            Header {
                format: MESSAGE,
                key: "cards",
                wrapped: "kms:00003:QUJD",
                key_version: 3
            }
        );
        assert_eq!(&h[len..], b"rest");
        for cut in 0..len {
            assert!(parse_header(&h[..cut]).is_err(), "cut at {cut}");
        }
        let mut wrong_version = h.clone();
        wrong_version[len - 1] = 4;
        assert!(parse_header(&wrong_version).is_err());
        let mut wrong_magic = h.clone();
        wrong_magic[0] = b'X';
        assert!(parse_header(&wrong_magic).is_err());
        let mut wrong_format = h;
        wrong_format[4] = 9;
        assert!(parse_header(&wrong_format).is_err());
        assert!(write_header(&mut Vec::new(), MESSAGE, "k", "vault:v1:xx").is_err());
    }

    #[test]
    fn the_context_is_framed_in_the_associated_data() {
        // "ab" + context "c" must differ from "a" + context "bc": the length separates them.
        assert_ne!(
            associated_data(b"ab", Some(b"c")),
            associated_data(b"a", Some(b"bc"))
        );
        assert_eq!(
            associated_data(b"h", None),
            associated_data(b"h", Some(b""))
        );
    }
}
