//! Source address ranges for usage policies.

use std::fmt;
use std::net::IpAddr;

use crate::error::EngineError;

/// An address range: `10.0.0.0/8`, `2001:db8::/32`, or one address (`/32`, `/128`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address: host bits are zero.
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses a range. Host bits must be zero (`10.1.2.3/8` is refused: it is probably a typo,
    /// and silently widening it would be worse).
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| {
            EngineError::invalid_policy(format!("`{text}` is not an IP address or CIDR range"))
        })?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                EngineError::invalid_policy(format!("`{text}`: the prefix must be 0 to {max}"))
            })?,
        };
        let cidr = Self { network, prefix };
        if cidr.masked(network) != Some(network) {
            let fixed = Self {
                network: cidr.masked(network).unwrap_or(network),
                prefix,
            };
            return Err(EngineError::invalid_policy(format!(
                "`{text}` has host bits set; did you mean `{fixed}`?"
            )));
        }
        Ok(cidr)
    }

    /// `addr` with this range's prefix applied, if it is of the same family.
    fn masked(&self, addr: IpAddr) -> Option<IpAddr> {
        match (self.network, addr) {
            (IpAddr::V4(_), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                Some(IpAddr::V4((u32::from(a) & mask).into()))
            }
            (IpAddr::V6(_), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                Some(IpAddr::V6((u128::from(a) & mask).into()))
            }
            _ => None,
        }
    }

    /// Whether every address of this range is in `other`.
    pub fn within(&self, other: &Cidr) -> bool {
        self.prefix >= other.prefix && other.contains(self.network)
    }

    /// Whether `addr` is in the range. An IPv4 address that arrives as IPv6 (`::ffff:a.b.c.d`, on
    /// a dual-stack socket) counts as the IPv4 address.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.masked(addr.to_canonical()) == Some(self.network)
    }

    /// Whether `addr` is in any of `ranges` (a key's `allowed_cidrs`, trusted proxies, who may
    /// read the metrics).
    pub fn any_contains(ranges: &[Cidr], addr: IpAddr) -> bool {
        ranges.iter().any(|c| c.contains(addr))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl fmt::Debug for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cidr({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_ranges_parse_and_match() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.255.1.2")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(!net.contains(ip("::1")));
        // IPv4 seen through a dual-stack socket.
        assert!(net.contains(ip("::ffff:10.1.2.3")));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("2001:db9::5")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("fe80::1")));
        assert_eq!(Cidr::parse("::1").unwrap().to_string(), "::1/128");

        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/",
            "10.0.0/8",
            "abc",
            "::/129",
            "10.0.0.0/8/8",
        ] {
            assert!(
                matches!(Cidr::parse(bad), Err(EngineError::InvalidPolicy(_))),
                "{bad}"
            );
        }
        let Err(EngineError::InvalidPolicy(msg)) = Cidr::parse("10.1.2.3/8") else {
            panic!("host bits accepted");
        };
        assert!(msg.contains("10.0.0.0/8"), "{msg}");
    }
}
