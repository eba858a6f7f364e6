//! Time-based one-time passwords (RFC 6238): HMAC-SHA1, 30-second steps, six digits, as every
//! authenticator app does by default. A code is accepted for the current step and one step either
//! side (clock drift), and only for a step later than the last one accepted, so a code works once.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// 160 bits, as RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;

/// A new random secret.
pub fn generate_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_LEN];
    rand::fill(secret.as_mut_slice());
    secret
}

/// The time step that `unix_ms` falls in.
pub fn step_at(unix_ms: i64) -> u64 {
    u64::try_from(unix_ms.div_euclid(1000) / STEP_SECONDS).unwrap_or(0)
}

/// The code for `step`, `digits` long (RFC 4226 dynamic truncation).
pub fn code_with(secret: &[u8], step: u64, digits: u32) -> String {
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        h[offset] & 0x7f,
        h[offset + 1],
        h[offset + 2],
        h[offset + 3],
    ]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(digits),
        width = digits as usize
    )
}

/// The six-digit code for `step`.
pub fn code(secret: &[u8], step: u64) -> String {
    code_with(secret, step, DIGITS)
}

/// The step `code` belongs to, if it is valid at `now_ms` and newer than `last_step`.
pub fn verify(secret: &[u8], code: &str, now_ms: i64, last_step: u64) -> Option<u64> {
    let now = step_at(now_ms);
    let mut found = None;
    // Check every candidate, so the time taken does not say which one matched.
    for step in [now.saturating_sub(1), now, now + 1] {
        let ok: bool = self::code(secret, step)
            .as_bytes()
            .ct_eq(code.as_bytes())
            .into();
        if ok && step > last_step && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes [`base32`] (case-insensitive, padding and spaces ignored).
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app scans.
pub fn uri(issuer: &str, user: &str, secret: &[u8]) -> String {
    let label = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        label(issuer),
        label(user),
        base32(secret),
        label(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 seed, eight digits.
    #[test]
    fn matches_the_rfc_6238_test_vectors() {
        let seed = b"12345678901234567890";
        for (time, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                code_with(seed, step_at(time * 1000), 8),
                expected,
                "t={time}"
            );
        }
    }

    #[test]
    fn a_code_is_good_within_one_step_and_only_once() {
        let secret = generate_secret();
        let now = 1_700_000_000_000;
        let step = step_at(now);
        let c = code(&secret, step);
        assert_eq!(verify(&secret, &c, now, 0), Some(step));
        assert_eq!(verify(&secret, &c, now + 30_000, 0), Some(step));
        assert_eq!(verify(&secret, &c, now + 90_000, 0), None, "two steps late");
        assert_eq!(verify(&secret, &c, now, step), None, "replayed");
        assert_eq!(verify(&secret, "000000x", now, 0), None);
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        let s = generate_secret();
        assert_eq!(from_base32(&base32(&s)).unwrap(), s);
        assert_eq!(from_base32("mzxw 6ytb oi==").unwrap(), b"foobar");
        assert!(from_base32("1").is_none());
    }
}
