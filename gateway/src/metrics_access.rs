//! Who may scrape `/metrics` (`[server] metrics_from`): the metrics name keys, apps and
//! operations, so anonymous callers from elsewhere must not read them. The caller's address is
//! the one the usage policies see (behind a trusted proxy, the client's). Default: loopback only,
//! where a node's Prometheus agent runs.

use std::net::IpAddr;
use std::sync::Arc;

use kms_engine::policy::Cidr;

/// The ranges whose callers may read `/metrics`.
#[derive(Clone, Debug)]
pub struct MetricsAccess(Arc<[Cidr]>);

impl MetricsAccess {
    pub fn new(ranges: Vec<Cidr>) -> Self {
        Self(ranges.into())
    }

    /// Whether a caller at `ip` may read the metrics (an unknown address may not).
    pub fn allows(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some_and(|ip| Cidr::any_contains(&self.0, ip))
    }
}

impl Default for MetricsAccess {
    /// Loopback: `127.0.0.1/32` and `::1/128`.
    fn default() -> Self {
        let loopback = ["127.0.0.1/32", "::1/128"]
            .iter()
            .filter_map(|t| Cidr::parse(t).ok())
            .collect();
        Self::new(loopback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_by_default_and_nothing_else() {
        let access = MetricsAccess::default();
        assert!(access.allows(Some("127.0.0.1".parse().unwrap())));
        assert!(access.allows(Some("::1".parse().unwrap())));
        assert!(!access.allows(Some("127.0.0.5".parse().unwrap())));
        assert!(!access.allows(Some("10.1.2.3".parse().unwrap())));
        assert!(!access.allows(None));
    }
}
