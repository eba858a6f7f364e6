//! What goes over a connection: methods, requests, answers, failures, and node addresses.

use std::time::Duration;

use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One request. The body holds plaintexts and is zeroized when the last attempt is done.
pub struct Request {
    pub method: Method,
    pub path: String,
    pub body: Zeroizing<Vec<u8>>,
}

/// One answer: status, body (zeroized on drop: it may hold plaintexts or data keys), and the
/// `Retry-After` of a 503 or 429.
pub struct Response {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
    pub retry_after: Option<Duration>,
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// No connection could be made (refused, unreachable, timed out).
    Connect,
    /// The TLS handshake failed (an unknown CA, a refused client certificate).
    Tls,
    /// The connection broke, or the node closed it.
    Io,
    /// The node answered with something that is not HTTP/1.1.
    Protocol,
}

#[derive(Debug, Clone)]
pub struct SendError {
    pub kind: FailureKind,
    /// Whether any byte of the request may have reached the node. `false` only when that is
    /// certain: then the request may be sent again whatever it does.
    pub sent: bool,
    pub detail: String,
}

impl SendError {
    pub fn unsent(kind: FailureKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            sent: false,
            detail: detail.into(),
        }
    }

    pub fn sent(kind: FailureKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            sent: true,
            detail: detail.into(),
        }
    }
}

/// Where a node listens: `http://host:port` or `https://host:port` (no path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub tls: bool,
    /// As written (an IPv6 address keeps its brackets), for connecting and for `Host:`.
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!(
                "{url}: the address must start with http:// or https://"
            ));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains('/') || authority.contains('@') {
            return Err(format!("{url}: expected scheme://host[:port] with no path"));
        }
        // `[v6]:port`, `[v6]`, `host:port`, `host`.
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                let port = authority[i + 1..]
                    .parse::<u16>()
                    .map_err(|_| format!("{url}: bad port"))?;
                (&authority[..i], port)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        Ok(Self {
            tls,
            host: host.to_owned(),
            port,
        })
    }

    /// The host without IPv6 brackets: for DNS/address resolution and the TLS server name.
    pub fn bare_host(&self) -> &str {
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host)
    }

    pub fn url(&self) -> String {
        format!(
            "{}://{}:{}",
            if self.tls { "https" } else { "http" },
            self.host,
            self.port
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_and_without_ports() {
        let e = Endpoint::parse("https://kms.internal:8200/").unwrap();
        assert_eq!(
            (e.tls, e.host.as_str(), e.port),
            (true, "kms.internal", 8200)
        );
        let e = Endpoint::parse("http://127.0.0.1").unwrap();
        assert_eq!((e.tls, e.port), (false, 80));
        let e = Endpoint::parse("https://[::1]:8443").unwrap();
        assert_eq!((e.bare_host(), e.port), ("::1", 8443));
        let e = Endpoint::parse("https://[::1]").unwrap();
        assert_eq!((e.bare_host(), e.port), ("::1", 443));
        assert!(Endpoint::parse("kms:8200").is_err());
        assert!(Endpoint::parse("http://kms:8200/v1").is_err());
        assert!(Endpoint::parse("http://kms:x").is_err());
    }
}
