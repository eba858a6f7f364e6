//! The trust settings of kms.toml, parsed: `[server] trusted_proxies` (whose `X-Forwarded-For`
//! the public listener believes) and, on the store, `[internal] manage_nodes` and
//! `[internal.zone_nodes]` (which internal certificate is which node; docs/deployment.md).

use kms_engine::certificate::CertFingerprint;
use kms_engine::policy::Cidr;
use kms_gateway::api::internal::nodes::InternalNodes;
use kms_gateway::metrics_access::MetricsAccess;
use kms_gateway::proxies::TrustedProxies;

use crate::config::{ConfigError, ConfigFile, InternalSection};

/// `[server] trusted_proxies`: CIDR ranges (`10.1.0.10/32`, `10.1.0.0/24`, `2001:db8::/64`).
pub fn trusted_proxies(file: &ConfigFile) -> Result<TrustedProxies, ConfigError> {
    let ranges = cidrs("trusted_proxies", &file.server.trusted_proxies)?;
    Ok(TrustedProxies::new(ranges))
}

/// A `[server]` list of CIDR ranges, each checked (`what` names the setting in errors).
fn cidrs(what: &str, texts: &[String]) -> Result<Vec<Cidr>, ConfigError> {
    texts
        .iter()
        .map(|text| {
            Cidr::parse(text)
                .map_err(|e| ConfigError::Invalid(format!("[server] {what}: `{text}`: {e}")))
        })
        .collect()
}

/// `[server] metrics_from`: who may read `/metrics` (default: loopback only).
pub fn metrics_from(file: &ConfigFile) -> Result<MetricsAccess, ConfigError> {
    let Some(texts) = &file.server.metrics_from else {
        return Ok(MetricsAccess::default());
    };
    Ok(MetricsAccess::new(cidrs("metrics_from", texts)?))
}

/// `[internal] manage_nodes = ["<sha256>", ...]` and `[internal.zone_nodes] <zone> = [...]`:
/// SHA-256 fingerprints of node certificates (as `openssl x509 -noout -fingerprint -sha256`
/// prints them, or plain hex).
pub fn internal_nodes(section: &InternalSection) -> Result<InternalNodes, ConfigError> {
    let parse = |what: &str, text: &String| {
        CertFingerprint::parse(text)
            .map_err(|e| ConfigError::Invalid(format!("[internal] {what}: `{text}`: {e}")))
    };
    let manage = section
        .manage_nodes
        .iter()
        .map(|t| parse("manage_nodes", t))
        .collect::<Result<Vec<_>, _>>()?;
    let zones = section
        .zone_nodes
        .iter()
        .map(|(zone, certs)| {
            let certs = certs
                .iter()
                .map(|t| parse(&format!("zone_nodes.{zone}"), t))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((zone.clone(), certs))
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    InternalNodes::new(manage, zones).map_err(|e| ConfigError::Invalid(format!("[internal] {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Result<ConfigFile, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn pins_and_proxies_parse_and_mistakes_are_named() {
        let fp = CertFingerprint::of_der(b"node");
        let text = format!(
            "[server]\ntrusted_proxies = [\"10.1.0.10/32\", \"10.2.0.0/24\"]\n\
             [internal]\ncert = \"a\"\nkey = \"b\"\nca = \"c\"\nmanage_nodes = [\"{fp}\"]\n\
             [internal.zone_nodes]\nzone-a = [\"{fp}\"]\n"
        );
        let parsed = file(&text).unwrap();
        trusted_proxies(&parsed).unwrap();
        let nodes = internal_nodes(parsed.internal.as_ref().unwrap()).unwrap();
        let node = nodes.node(fp);
        assert!(node.manage);
        assert_eq!(node.zone.as_deref(), Some("zone-a"));

        let bad = file("[server]\ntrusted_proxies = [\"10.1.0.10/8\"]\n").unwrap();
        let e = trusted_proxies(&bad).unwrap_err().to_string();
        assert!(
            e.contains("trusted_proxies") && e.contains("10.1.0.10/8"),
            "{e}"
        );
        let two_zones = format!(
            "[internal]\ncert = \"a\"\nkey = \"b\"\nca = \"c\"\n\
             [internal.zone_nodes]\nzone-a = [\"{fp}\"]\nzone-b = [\"{fp}\"]\n"
        );
        let e = internal_nodes(file(&two_zones).unwrap().internal.as_ref().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("zone-a") && e.contains("zone-b"), "{e}");
        let typo =
            "[internal]\ncert = \"a\"\nkey = \"b\"\nca = \"c\"\nmanage_nodes = [\"ab:cd\"]\n";
        let e = internal_nodes(file(typo).unwrap().internal.as_ref().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("manage_nodes"), "{e}");
    }
}
