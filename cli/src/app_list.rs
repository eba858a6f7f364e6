//! `kms app list` and `kms app show NAME`: apps with their tokens (by id, never the token) and
//! bound certificates, as administrators see them.

use serde_json::Value;

use crate::client::CliError;
use crate::output::{Common, Output, get, s};

/// How many of an app's tokens (or certificates) are in each state, e.g. `1 active, 2 revoked`.
fn states(items: &Value) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for item in items.as_array().into_iter().flatten() {
        let state = s(&item["state"]);
        match counts.iter_mut().find(|(s, _)| *s == state) {
            Some((_, n)) => *n += 1,
            None => counts.push((state, 1)),
        }
    }
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

pub fn list(common: &Common) -> Result<(), CliError> {
    let answer = get(common, "/v1/admin/apps")?;
    if let Output::Json = common.output {
        json(&answer);
        return Ok(());
    }
    println!(
        "{:<24} {:<25} {:<32} CERTIFICATES",
        "NAME", "CREATED", "TOKENS"
    );
    for app in answer["apps"].as_array().into_iter().flatten() {
        println!(
            "{:<24} {:<25} {:<32} {}",
            s(&app["name"]),
            s(&app["created_at"]),
            states(&app["tokens"]),
            states(&app["certificates"])
        );
    }
    Ok(())
}

pub fn show(name: &str, common: &Common) -> Result<(), CliError> {
    let app = get(common, &format!("/v1/admin/apps/{name}"))?;
    if let Output::Json = common.output {
        json(&app);
        return Ok(());
    }
    println!("App:      {} ({})", s(&app["name"]), s(&app["id"]));
    println!("Created:  {}", s(&app["created_at"]));
    println!(
        "\nTOKEN                  STATE      CREATED                   EXPIRES                   REVOKED"
    );
    for t in app["tokens"].as_array().into_iter().flatten() {
        println!(
            "{:<22} {:<10} {:<25} {:<25} {}",
            s(&t["id"]),
            s(&t["state"]),
            s(&t["created_at"]),
            s(&t["expires_at"]),
            s(&t["revoked_at"])
        );
    }
    println!(
        "\nCERTIFICATE (SHA-256)                                             STATE      CREATED"
    );
    for c in app["certificates"].as_array().into_iter().flatten() {
        println!(
            "{:<65} {:<10} {}",
            s(&c["fingerprint"]),
            s(&c["state"]),
            s(&c["created_at"])
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_states_are_counted_in_the_order_they_appear() {
        let tokens = serde_json::json!([
            {"state": "active"}, {"state": "revoked"}, {"state": "revoked"}
        ]);
        assert_eq!(states(&tokens), "1 active, 2 revoked");
        assert_eq!(states(&serde_json::json!([])), "none");
        assert_eq!(states(&Value::Null), "none");
    }
}
