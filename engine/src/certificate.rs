//! Client-certificate identities: an app may be bound to the SHA-256 fingerprint of a
//! certificate (its DER encoding). Pinning the whole certificate, rather than a subject name,
//! means a CA that issues a second certificate with the same name cannot impersonate the app,
//! and a renewed certificate is bound explicitly (docs/access-control.md).

use sha2::{Digest, Sha256};

/// SHA-256 of a certificate's DER encoding. Not secret: it is printed as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertFingerprint([u8; 32]);

impl CertFingerprint {
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// 64 hex digits, either case, optionally in colon-separated pairs (as `openssl x509
    /// -fingerprint -sha256` prints them, after its `sha256 Fingerprint=` prefix).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let digits: String = if text.contains(':') {
            let pairs: Vec<&str> = text.split(':').collect();
            if pairs.iter().any(|p| p.len() != 2) {
                return Err("a colon-separated fingerprint has two hex digits per byte".into());
            }
            pairs.concat()
        } else {
            text.to_owned()
        };
        if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(
                "a certificate fingerprint is the SHA-256 of its DER encoding: 64 hex digits"
                    .into(),
            );
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let pair = digits.get(2 * i..2 * i + 2).unwrap_or("00");
            *byte = u8::from_str_radix(pair, 16).map_err(|e| e.to_string())?;
        }
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CertFingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_colon_hex_and_refuses_the_rest() {
        let fp = CertFingerprint::of_der(b"not really DER");
        let hex = fp.to_string();
        assert_eq!(hex.len(), 64);
        assert_eq!(CertFingerprint::parse(&hex).unwrap(), fp);
        assert_eq!(CertFingerprint::parse(&hex.to_uppercase()).unwrap(), fp);
        let colons: Vec<String> = fp.as_bytes().iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(CertFingerprint::parse(&colons.join(":")).unwrap(), fp);
        assert!(CertFingerprint::parse(&hex[..62]).is_err());
        assert!(CertFingerprint::parse(&format!("{}zz", &hex[..62])).is_err());
        assert!(CertFingerprint::parse("ab:c:de").is_err());
        assert!(CertFingerprint::parse("").is_err());
    }
}
