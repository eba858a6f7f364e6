//! `[server] trusted_proxies`: the caller's address behind a reverse proxy (nginx,
//! docs/deployment.md). `X-Forwarded-For` is believed only when the TCP peer is inside one of the
//! configured ranges; then the caller is the right-most address in the header that is not itself
//! a trusted proxy (each proxy appends the address it was called from, so everything left of that
//! is what the client or an untrusted hop said). Without ranges nothing is read: the peer address
//! is the caller, as before, at the cost of one emptiness check.

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use kms_engine::policy::Cidr;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The ranges whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<[Cidr]>);

impl TrustedProxies {
    pub fn new(ranges: Vec<Cidr>) -> Self {
        Self(ranges.into())
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        Cidr::any_contains(&self.0, ip)
    }

    /// The caller's address for a connection from `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if self.0.is_empty() || !self.trusts(peer) {
            return peer;
        }
        // Several headers are one list, in order (RFC 7230 §3.2.2).
        let mut client = peer;
        let hops = headers
            .get_all(X_FORWARDED_FOR)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .flat_map(|v| v.to_str().unwrap_or("").rsplit(','));
        for hop in hops {
            // Something that is not an address ends the walk: the last trusted hop stands for
            // the caller (a garbled header does not name anyone).
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                HeaderName::from_static(X_FORWARDED_FOR),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_trusted_peers_are_believed_and_the_right_most_untrusted_hop_is_the_caller() {
        let proxies = TrustedProxies::new(vec![Cidr::parse("10.0.0.0/24").unwrap()]);
        let nginx = ip("10.0.0.7");
        // An untrusted peer's header is ignored.
        let forged = headers(&["10.9.1.1"]);
        assert_eq!(proxies.client(ip("192.0.2.1"), &forged), ip("192.0.2.1"));
        // nginx appends the client's address: what the client wrote before it is not believed.
        let appended = headers(&["10.9.1.1, 192.0.2.1"]);
        assert_eq!(proxies.client(nginx, &appended), ip("192.0.2.1"));
        // Chained trusted proxies are skipped; several headers are one list.
        let chained = headers(&["10.9.1.1, 192.0.2.1", "10.0.0.3"]);
        assert_eq!(proxies.client(nginx, &chained), ip("192.0.2.1"));
        // A garbled entry stops the walk at the last trusted hop.
        let garbled = headers(&["192.0.2.1, not-an-address"]);
        assert_eq!(proxies.client(nginx, &garbled), nginx);
        // No header: the proxy itself.
        assert_eq!(proxies.client(nginx, &HeaderMap::new()), nginx);
        // Without ranges nothing is read.
        assert_eq!(TrustedProxies::default().client(nginx, &appended), nginx);
    }
}
