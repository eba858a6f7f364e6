//! The nodes of the internal API on the zones page: under each zone its service nodes, then the
//! nodes of zones not registered yet and the manage nodes, from `GET /v1/admin/nodes`. A node
//! not heard from lately is marked (`class="node stale"`, and its status says `stale`).

use serde_json::Value;

use super::html::{esc, t};

const COLUMNS: &[(&str, &str)] = &[
    ("fingerprint", "Fingerprint"),
    ("kind", "Kind"),
    ("status", "Status"),
    ("last_seen", "Last seen"),
    ("seconds_since_contact", "Seconds since contact"),
    ("reported_status", "Reported readiness"),
    ("applied_revision", "Applied revision"),
    ("store_revision", "Store revision"),
    ("lag_revisions", "Lag (revisions)"),
];

/// `nodes` as a table (`id`), one row per node, its status as the row's class.
pub fn table(nodes: &[&Value], id: &str) -> String {
    if nodes.is_empty() {
        return r#"<p class="empty">None pinned.</p>"#.to_owned();
    }
    let head: String = COLUMNS
        .iter()
        .map(|(_, h)| format!("<th>{}</th>", esc(h)))
        .collect();
    let rows: String = nodes
        .iter()
        .map(|node| {
            let status = node["status"].as_str().unwrap_or("unknown");
            let status = if status.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                status
            } else {
                "unknown"
            };
            let cells: String = COLUMNS
                .iter()
                .map(|(field, _)| match *field {
                    "seconds_since_contact" => format!(
                        "<td>{}</td>",
                        node[*field]
                            .as_f64()
                            .map(|s| format!("{s:.1}"))
                            .unwrap_or_default()
                    ),
                    "status" if status == "stale" => {
                        "<td><strong>stale</strong></td>".to_owned()
                    }
                    _ => format!("<td>{}</td>", t(&node[*field])),
                })
                .collect();
            format!(
                r#"<tr class="node {status}" data-fingerprint="{}" data-status="{status}">{cells}</tr>"#,
                t(&node["fingerprint"])
            )
        })
        .collect();
    format!(r#"<table id="{id}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"#)
}

/// The zones with their nodes under each, then the nodes no registered zone holds.
pub fn zones_with_nodes(zones: &[Value], answer: Result<&Value, String>) -> String {
    let (nodes, note) = match answer {
        Ok(v) => (
            v["nodes"].as_array().cloned().unwrap_or_default(),
            format!(
                r#"<p class="empty" id="stale-after">A node not heard from for more than {} seconds is <strong>stale</strong>.</p>"#,
                t(&v["stale_after_seconds"])
            ),
        ),
        Err(message) => (Vec::new(), format!("<p>{}</p>", esc(&message))),
    };
    let mut out = note;
    let names: Vec<&str> = zones.iter().filter_map(|z| z["name"].as_str()).collect();
    for (i, name) in names.iter().enumerate() {
        let own: Vec<&Value> = nodes
            .iter()
            .filter(|n| n["zone"].as_str() == Some(name))
            .collect();
        out.push_str(&format!(
            "<h3>Service nodes of zone {}</h3>{}",
            esc(name),
            table(&own, &format!("nodes-{i}"))
        ));
    }
    let unregistered: Vec<&Value> = nodes
        .iter()
        .filter(|n| n["zone"].as_str().is_some_and(|z| !names.contains(&z)))
        .collect();
    if !unregistered.is_empty() {
        out.push_str(&format!(
            "<h3>Service nodes of zones not registered</h3>{}",
            table(&unregistered, "nodes-unregistered")
        ));
    }
    let manage: Vec<&Value> = nodes.iter().filter(|n| n["zone"].is_null()).collect();
    out.push_str(&format!(
        "<h3>Manage nodes</h3>{}",
        table(&manage, "nodes-manage")
    ));
    format!("<h2>Nodes</h2>{out}")
}
