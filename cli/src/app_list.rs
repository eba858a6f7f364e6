//! `kms app list` and `kms app show NAME`: apps with their tokens (by id, never the token) and
//! bound certificates, as administrators see them.

use serde_json::Value;

use crate::client::CliError;
use crate::output::{Common, Output, get, print_json, s, table};

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

pub fn list(common: &Common) -> Result<(), CliError> {
    let answer = get(common, "/v1/admin/apps")?;
    if let Output::Json = common.output {
        print_json(&answer);
        return Ok(());
    }
    table(
        &[
            ("NAME", 24),
            ("CREATED", 25),
            ("TOKENS", 32),
            ("CERTIFICATES", 0),
        ],
        answer["apps"].as_array().into_iter().flatten().map(|app| {
            vec![
                s(&app["name"]),
                s(&app["created_at"]),
                states(&app["tokens"]),
                states(&app["certificates"]),
            ]
        }),
    );
    Ok(())
}

pub fn show(name: &str, common: &Common) -> Result<(), CliError> {
    let app = get(common, &format!("/v1/admin/apps/{name}"))?;
    if let Output::Json = common.output {
        print_json(&app);
        return Ok(());
    }
    println!("App:      {} ({})", s(&app["name"]), s(&app["id"]));
    println!("Created:  {}", s(&app["created_at"]));
    println!();
    table(
        &[
            ("TOKEN", 22),
            ("STATE", 10),
            ("CREATED", 25),
            ("EXPIRES", 25),
            ("REVOKED", 0),
        ],
        app["tokens"].as_array().into_iter().flatten().map(|t| {
            vec![
                s(&t["id"]),
                s(&t["state"]),
                s(&t["created_at"]),
                s(&t["expires_at"]),
                s(&t["revoked_at"]),
            ]
        }),
    );
    println!();
    table(
        &[("CERTIFICATE (SHA-256)", 65), ("STATE", 10), ("CREATED", 0)],
        app["certificates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| vec![s(&c["fingerprint"]), s(&c["state"]), s(&c["created_at"])]),
    );
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
