//! `GET /ui/keys/{name}?range=24h|7d|30d`: the key's versions (state, creation, the reason of
//! their last change), their use over the range (per hour, per day for 30 days) as one line per
//! version and in total as bars, grants, policy and history, with the actions the person's roles
//! allow:
//! `POST /ui/keys/{name}/rotate`, `POST /ui/keys/{name}/rollback` and `POST /ui/keys/{name}/versions/{version}/{change}`
//! (`disable`, `enable`, `schedule-destruction`, `cancel-destruction`), each through the API's
//! handler, so a destruction asked for by a person becomes an approval request as over the API.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::html::{
    csrf_field, esc, need_form, need_session, notice, page_with, pre, refusal, t, table, url,
};
use super::session::Viewer;
use super::{call, chart};
use crate::api::admin;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Reason {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// The reason of the last change of `version` in the key's history.
fn last_reason(key: &Value, version: &Value) -> Value {
    key["history"]
        .as_array()
        .and_then(|h| h.iter().rev().find(|e| &e["version"] == version))
        .map_or(Value::Null, |e| e["reason"].clone())
}

/// The forms for one version's changes that its state and the person's roles allow.
fn version_actions(
    viewer: &Viewer,
    name: &str,
    version: &Value,
    state: &str,
    active: bool,
) -> String {
    let changes: &[(&str, &str, &str)] = match state {
        _ if active => &[],
        "decrypt_only" => &[
            ("disable", "Disable", "disable_version"),
            (
                "schedule-destruction",
                "Schedule destruction",
                "schedule_destruction_version",
            ),
        ],
        "disabled" => &[
            ("enable", "Enable", "enable_version"),
            (
                "schedule-destruction",
                "Schedule destruction",
                "schedule_destruction_version",
            ),
        ],
        "scheduled_for_destruction" => &[(
            "cancel-destruction",
            "Cancel destruction",
            "cancel_destruction_version",
        )],
        _ => &[],
    };
    let v = t(version);
    changes
        .iter()
        .filter(|(_, _, action)| viewer.can(action))
        .map(|(change, label, _)| {
            format!(
                r#"<form method="post" action="/ui/keys/{n}/versions/{v}/{change}" class="inline" id="v{v}-{change}">{csrf}<input name="reason" placeholder="reason" required><button>{label}</button></form>"#,
                n = url(name),
                csrf = csrf_field(viewer),
            )
        })
        .collect()
}

/// The ranges the key page offers, as `(range, since, bucket, label)`; the first is the default.
const RANGES: &[(&str, &str, &str, &str)] = &[
    ("24h", "24h", "hour", "last 24 h"),
    ("7d", "7d", "hour", "7 days"),
    ("30d", "30d", "day", "30 days"),
];

#[derive(Deserialize, Default)]
pub struct KeyPage {
    #[serde(default)]
    range: Option<String>,
}

/// The range asked for (an unknown one is the default).
fn range_of(asked: Option<&str>) -> (&'static str, &'static str, &'static str, &'static str) {
    RANGES
        .iter()
        .copied()
        .find(|r| Some(r.0) == asked)
        .unwrap_or(RANGES[0])
}

/// The range choice as plain links, the shown one marked.
fn range_links(name: &str, shown: &str) -> String {
    let links: String = RANGES
        .iter()
        .map(|(range, _, _, label)| {
            let current = if *range == shown {
                r#" aria-current="page" class="current""#
            } else {
                ""
            };
            format!(
                r#" <a href="/ui/keys/{}?range={range}" id="range-{range}"{current}>{label}</a>"#,
                url(name)
            )
        })
        .collect();
    format!(r#"<p class="ranges" id="usage-ranges">Range:{links}</p>"#)
}

/// The use over time: the chart of the usage API's answer, or what it refused.
fn usage_over_time(series: &Result<(StatusCode, Value), ApiError>) -> String {
    match series {
        Ok((_, view)) => chart::series(view),
        Err(e) => notice("refused", &format!("{}: {}", e.code, e.message)),
    }
}

fn render_key(
    viewer: &Viewer,
    name: &str,
    key: &Value,
    shown: &str,
    (range, series): (&str, &Result<(StatusCode, Value), ApiError>),
) -> String {
    let active = &key["active_version"];
    let versions: String = key["versions"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| {
                    let state = v["state"].as_str().unwrap_or_default();
                    let is_active = &v["version"] == active;
                    format!(
                        r#"<tr data-version="{n}" data-state="{st}"><td>{n}{a}</td><td class="state">{st}</td><td>{c}</td><td>{r}</td><td>{d}</td><td>{acts}</td></tr>"#,
                        n = t(&v["version"]),
                        a = if is_active { " (active)" } else { "" },
                        st = esc(state),
                        c = t(&v["created_at"]),
                        r = t(&last_reason(key, &v["version"])),
                        d = t(&v["destroy_at"]),
                        acts = version_actions(viewer, name, &v["version"], state, is_active),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut rotate = String::new();
    if viewer.can("rotate_key") {
        rotate.push_str(&format!(
            r#"<form method="post" action="/ui/keys/{}/rotate" id="rotate" class="inline">{}<input name="reason" id="rotate-reason" placeholder="reason" required><button id="rotate-button">Rotate</button></form>"#,
            url(name),
            csrf_field(viewer)
        ));
    }
    // Rolling back needs an earlier version to return to.
    if viewer.can("rollback_key") && active.as_u64().is_some_and(|v| v > 1) {
        rotate.push_str(&format!(
            r#"<form method="post" action="/ui/keys/{}/rollback" id="rollback" class="inline">{}<input name="reason" placeholder="reason" required><button>Roll back</button></form>"#,
            url(name),
            csrf_field(viewer)
        ));
    }
    rotate.push_str(&super::config_form::section(viewer, name, key));
    let empty = Vec::new();
    let usage = key["usage"].as_array().unwrap_or(&empty);
    format!(
        r#"{shown}<dl class="facts"><dt>Algorithm</dt><dd id="algorithm">{alg}</dd><dt>Active version</dt><dd id="active-version">{active}</dd><dt>Rotation period</dt><dd>{period}</dd><dt>Next rotation</dt><dd>{next}</dd><dt>Created</dt><dd>{created}</dd></dl>
{rotate}
<h2>Versions</h2><table id="versions"><thead><tr><th>Version</th><th>State</th><th>Created</th><th>Reason</th><th>Destroyed at</th><th></th></tr></thead><tbody>{versions}</tbody></table>
<h2>Use per version over time</h2>{ranges}{series}
<h2>Use per version</h2>{chart}{usage_table}
<h2>Grants</h2>{grants}
<h2>Usage policy</h2>{policy}
<h2>History</h2>{history}"#,
        alg = t(&key["algorithm"]),
        active = t(active),
        period = t(&key["rotation_period"]),
        next = t(&key["next_rotation_at"]),
        created = t(&key["created_at"]),
        ranges = range_links(name, range),
        series = usage_over_time(series),
        chart = chart::usage(usage),
        usage_table = table(
            usage,
            &[
                ("/version", "Version"),
                ("/caller", "Caller"),
                ("/operation", "Operation"),
                ("/count", "Count"),
                ("/last_used_at", "Last use")
            ],
            "usage"
        ),
        grants = table(
            key["grants"].as_array().unwrap_or(&empty),
            &[("/app", "App"), ("/operations", "Operations")],
            "grants"
        ) + &grant_form(viewer, name),
        policy = if key["policy"].is_null() {
            "<p>None.</p>".to_owned()
        } else {
            pre(&key["policy"])
        } + &policy_form(viewer, name, &key["policy"]),
        history = table(
            key["history"].as_array().unwrap_or(&empty),
            &[
                ("/at", "At"),
                ("/version", "Version"),
                ("/action", "Action"),
                ("/from_state", "From"),
                ("/to_state", "To"),
                ("/actor", "By"),
                ("/reason", "Reason")
            ],
            "history"
        ),
    )
}

/// The usage policy form (`policy.rs` handles it), for who may set it: the policy as JSON.
fn policy_form(viewer: &Viewer, key: &str, policy: &Value) -> String {
    if !viewer.can("set_key_policy") {
        return String::new();
    }
    let current = if policy.is_null() {
        "{}".to_owned()
    } else {
        serde_json::to_string_pretty(policy).unwrap_or_default()
    };
    format!(
        r#"<form method="post" action="/ui/keys/{}/policy" id="policy">{}<textarea name="policy" id="policy-json" rows="6" cols="60">{}</textarea><button>Set policy</button></form>"#,
        url(key),
        csrf_field(viewer),
        esc(&current)
    )
}

/// The grant form (`grants.rs` handles it), for who may grant.
fn grant_form(viewer: &Viewer, key: &str) -> String {
    if !viewer.can("grant") {
        return String::new();
    }
    format!(
        r#"<form method="post" action="/ui/keys/{}/grants" id="grant" class="inline">{}<input name="app" id="grant-app" placeholder="app" required><input name="operations" id="grant-operations" placeholder="encrypt, decrypt (empty: revoke)"><button>Set grant</button></form>"#,
        url(key),
        csrf_field(viewer)
    )
}

async fn render(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: &Viewer,
    name: &str,
    shown: &str,
    range: Option<&str>,
) -> HttpResponse {
    let path = web::Path::from(name.to_owned());
    let key = call::json(admin::get_key::handle(state.clone(), req.clone(), path).await).await;
    let (range, since, bucket, _) = range_of(range);
    let query = web::Query(admin::key_usage::Query {
        since: Some(since.to_owned()),
        until: None,
        bucket: Some(bucket.to_owned()),
    });
    let path = web::Path::from(name.to_owned());
    match key {
        Ok((_, key)) => {
            let series = call::json(admin::key_usage::handle(state, req, path, query).await).await;
            page_with(
                StatusCode::OK,
                Some(viewer),
                &format!("Key {name}"),
                &render_key(viewer, name, &key, shown, (range, &series)),
            )
        }
        Err(e) => refusal(Some(viewer), &e),
    }
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    page: web::Query<KeyPage>,
) -> HttpResponse {
    let viewer = match need_session(&state, &req) {
        Ok(v) => v,
        Err(to_login) => return *to_login,
    };
    render(
        state,
        req,
        &viewer,
        &name.into_inner(),
        "",
        page.range.as_deref(),
    )
    .await
}

/// What a change's answer says, for the notice: done, or filed for approval.
fn outcome(status: StatusCode, answer: &Value, done: &str) -> String {
    if status == StatusCode::ACCEPTED {
        notice(
            "pending",
            &format!(
                "Filed as approval request #{} ({}): it runs once {} approver(s) agree.",
                text(&answer["id"]),
                text(&answer["action"]),
                text(&answer["quorum"]),
            ),
        )
    } else {
        notice("ok", done)
    }
}

fn text(v: &Value) -> String {
    super::html::text(v)
}

/// Runs a change through its API handler and shows the key again with the outcome.
pub(super) async fn after(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: &Viewer,
    name: &str,
    answer: Result<(StatusCode, Value), ApiError>,
    done: &str,
) -> HttpResponse {
    match answer {
        Ok((status, v)) => render(state, req, viewer, name, &outcome(status, &v, done), None).await,
        Err(e) => refusal(Some(viewer), &e),
    }
}

/// Rotates or rolls back the key (`rotate_key`, `rollback_key`) through its API handler.
async fn whole_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    form: web::Form<Reason>,
    rollback: bool,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, &form.csrf).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let name = name.into_inner();
    let (s, r, p) = (state.clone(), req.clone(), web::Path::from(name.clone()));
    let fields = json!({ "reason": form.reason });
    let answer = if rollback {
        match call::body(fields) {
            Ok(body) => admin::rollback::handle(s, r, p, web::Json(body)).await,
            Err(e) => Err(e),
        }
    } else {
        match call::body(fields) {
            Ok(body) => admin::rotate::handle(s, r, p, web::Json(body)).await,
            Err(e) => Err(e),
        }
    };
    let done = if rollback { "Rolled back." } else { "Rotated." };
    after(state, req, &viewer, &name, call::json(answer).await, done).await
}

pub async fn rotate(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    form: web::Form<Reason>,
) -> HttpResponse {
    whole_key(state, req, name, form, false).await
}

pub async fn rollback(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    form: web::Form<Reason>,
) -> HttpResponse {
    whole_key(state, req, name, form, true).await
}

pub async fn change_version(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, u32, String)>,
    form: web::Form<Reason>,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, &form.csrf).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let (name, version, change) = path.into_inner();
    let body = match call::body(json!({ "reason": form.reason })) {
        Ok(b) => b,
        Err(e) => return refusal(Some(&viewer), &e),
    };
    let (s, r, p, b) = (
        state.clone(),
        req.clone(),
        web::Path::from((name.clone(), version)),
        web::Json(body),
    );
    let answer = match change.as_str() {
        "disable" => admin::versions::disable(s, r, p, b).await,
        "enable" => admin::versions::enable(s, r, p, b).await,
        "schedule-destruction" => admin::versions::schedule_destruction(s, r, p, b).await,
        "cancel-destruction" => admin::versions::cancel_destruction(s, r, p, b).await,
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such change",
        )),
    };
    let done = format!("Version {version}: {change} done.");
    after(state, req, &viewer, &name, call::json(answer).await, &done).await
}
