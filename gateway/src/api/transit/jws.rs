//! Vault's `marshaling_algorithm: jws` for ECDSA signatures: the fixed-size `r ‖ s` (32, 48 or
//! 66 bytes each for P-256, P-384 and P-521) in unpadded base64url, as JSON Web Signatures carry
//! them, instead of the default ASN.1 DER in base64. The crypto workers always make DER; these
//! convert at the edge.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kms_engine::EngineError;

/// Bytes of one scalar of each curve: P-256, P-384, P-521.
const SCALARS: [usize; 3] = [32, 48, 66];

/// Bytes of one scalar of an ECDSA key's curve.
pub fn scalar_len(algorithm: kms_engine::algorithm::Algorithm) -> usize {
    use kms_engine::algorithm::Algorithm;
    match algorithm {
        Algorithm::EcdsaP384 => 48,
        Algorithm::EcdsaP521 => 66,
        _ => 32,
    }
}

fn bad() -> EngineError {
    EngineError::InvalidSignature("not an ECDSA signature of this key's curve")
}

/// One DER INTEGER's content as a fixed-size big-endian scalar.
fn scalar(bytes: &[u8], size: usize) -> Result<Vec<u8>, EngineError> {
    let trimmed = match bytes {
        [0, rest @ ..] => rest,
        all => all,
    };
    if trimmed.len() > size {
        return Err(bad());
    }
    let mut out = vec![0u8; size];
    out[size - trimmed.len()..].copy_from_slice(trimmed);
    Ok(out)
}

/// Reads `0x02 len content` at the front of `der`; returns the content and the rest.
fn integer(der: &[u8]) -> Result<(&[u8], &[u8]), EngineError> {
    match der {
        [0x02, len, rest @ ..] if usize::from(*len) <= rest.len() => {
            Ok(rest.split_at(usize::from(*len)))
        }
        _ => Err(bad()),
    }
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` → `r ‖ s`, each `size` bytes. The sequence's length
/// is in the short form, or the long form of one byte (P-521's signatures pass 127 bytes).
pub fn der_to_raw(der: &[u8], size: usize) -> Result<Vec<u8>, EngineError> {
    let body = match der {
        [0x30, 0x81, len, body @ ..] if *len >= 0x80 && usize::from(*len) == body.len() => body,
        [0x30, len, body @ ..] if *len < 0x80 && usize::from(*len) == body.len() => body,
        _ => return Err(bad()),
    };
    let (r, rest) = integer(body)?;
    let (s, rest) = integer(rest)?;
    if !rest.is_empty() {
        return Err(bad());
    }
    let mut out = scalar(r, size)?;
    out.extend_from_slice(&scalar(s, size)?);
    Ok(out)
}

/// A scalar as a minimal DER INTEGER.
fn der_integer(scalar: &[u8], out: &mut Vec<u8>) {
    let first = scalar
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(scalar.len() - 1);
    let minimal = &scalar[first..];
    let pad = minimal[0] & 0x80 != 0;
    out.push(0x02);
    // At most 67 bytes: the length fits in one byte.
    out.push(u8::try_from(minimal.len() + usize::from(pad)).unwrap_or(0));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(minimal);
}

/// `r ‖ s` → DER `SEQUENCE { INTEGER r, INTEGER s }`.
pub fn raw_to_der(raw: &[u8]) -> Result<Vec<u8>, EngineError> {
    let size = raw.len() / 2;
    if !raw.len().is_multiple_of(2) || !SCALARS.contains(&size) {
        return Err(bad());
    }
    let mut body = Vec::with_capacity(2 * size + 6);
    der_integer(&raw[..size], &mut body);
    der_integer(&raw[size..], &mut body);
    let len = u8::try_from(body.len()).map_err(|_| bad())?;
    let mut out = if len < 0x80 {
        vec![0x30, len]
    } else {
        vec![0x30, 0x81, len]
    };
    out.extend_from_slice(&body);
    Ok(out)
}

/// Splits `vault:vN:<body>` into its header (with the final colon) and body.
fn split(text: &str) -> Result<(&str, &str), EngineError> {
    let at = text
        .strip_prefix("vault:v")
        .and_then(|rest| rest.find(':'))
        .map(|i| "vault:v".len() + i + 1)
        .ok_or(EngineError::InvalidSignature(
            "it must be `vault:v<version>:...`",
        ))?;
    Ok(text.split_at(at))
}

/// A signature as the workers made it (DER in base64) → the JWS form, scalars of `size` bytes.
pub fn to_jws(signature: &str, size: usize) -> Result<String, EngineError> {
    let (header, body) = split(signature)?;
    let der = STANDARD.decode(body).map_err(|_| bad())?;
    Ok(format!(
        "{header}{}",
        URL_SAFE_NO_PAD.encode(der_to_raw(&der, size)?)
    ))
}

/// A signature in the JWS form → DER in base64, as the workers verify it.
pub fn from_jws(signature: &str) -> Result<String, EngineError> {
    let (header, body) = split(signature)?;
    let raw = URL_SAFE_NO_PAD
        .decode(body.trim_end_matches('='))
        .map_err(|_| EngineError::InvalidBase64 { field: "signature" })?;
    Ok(format!("{header}{}", STANDARD.encode(raw_to_der(&raw)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_and_raw_convert_both_ways() {
        // High bits set (DER pads with 0x00) and leading zeros (DER drops them).
        let mut raw = vec![0x80; 32];
        raw.extend(std::iter::once(0).chain(std::iter::repeat_n(0x11, 31)));
        let der = raw_to_der(&raw).unwrap();
        assert_eq!(&der[..5], &[0x30, 0x44, 0x02, 0x21, 0x00]);
        assert_eq!(der[37..39], [0x02, 0x1f]);
        assert_eq!(der_to_raw(&der, 32).unwrap(), raw);
        let sig = format!("vault:v3:{}", STANDARD.encode(&der));
        let jws = to_jws(&sig, 32).unwrap();
        assert_eq!(jws, format!("vault:v3:{}", URL_SAFE_NO_PAD.encode(&raw)));
        assert_eq!(from_jws(&jws).unwrap(), sig);
        // P-521: the sequence's length takes the long form.
        let raw = vec![0x81; 132];
        let der = raw_to_der(&raw).unwrap();
        assert_eq!(&der[..3], &[0x30, 0x81, 0x8a]);
        assert_eq!(der_to_raw(&der, 66).unwrap(), raw);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        assert!(der_to_raw(&[0x30, 0x02, 0x02, 0x00], 32).is_err());
        assert!(raw_to_der(&[1; 63]).is_err());
        assert!(from_jws("vault:v1:AAAA").is_err());
        assert!(to_jws("kms:00001:AAAA", 32).is_err());
    }
}
