//! `GET /ui/keys[?q=&algorithm=&state=]`: every key with its algorithm, the state of its active
//! version, the active version and the next scheduled rotation, filtered by name, algorithm and
//! the state of some version;
//! `POST /ui/keys`: create a key (the API's `create_key`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::call;
use super::html::{csrf_field, esc, need_form, need_session, page, refusal, t, url};
use super::session::{Viewer, redirect};
use crate::api::admin;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Filter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    algorithm: String,
    /// Keys with a version in this state (`disabled`, `scheduled_for_destruction`, ...).
    #[serde(default)]
    state: String,
}

/// Whether some version of the key is in `state`.
fn has_version_in(key: &Value, state: &str) -> bool {
    key["versions"]
        .as_array()
        .is_some_and(|vs| vs.iter().any(|v| v["state"] == state))
}

#[derive(Deserialize)]
pub struct Create {
    #[serde(default)]
    csrf: String,
    name: String,
    #[serde(default)]
    algorithm: String,
    #[serde(default)]
    rotation_period: String,
}

/// The state of a key's active version, from its description.
fn active_state(key: &Value) -> Value {
    let active = &key["active_version"];
    key["versions"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| &v["version"] == active))
        .map_or(Value::Null, |v| v["state"].clone())
}

async fn render(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: &Viewer,
    filter: &Filter,
) -> HttpResponse {
    let list = call::json(admin::list_keys::handle(state.clone(), req.clone()).await).await;
    let keys = match list {
        Ok((_, v)) => v["keys"].as_array().cloned().unwrap_or_default(),
        Err(e) => return refusal(Some(viewer), &e),
    };
    let q = filter.q.to_lowercase();
    let mut rows = String::new();
    for summary in &keys {
        let name = summary["name"].as_str().unwrap_or_default();
        let algorithm = summary["algorithm"].as_str().unwrap_or_default();
        if !name.to_lowercase().contains(&q)
            || (!filter.algorithm.is_empty() && algorithm != filter.algorithm)
        {
            continue;
        }
        let path = web::Path::from(name.to_owned());
        let detail = call::json(admin::get_key::handle(state.clone(), req.clone(), path).await)
            .await
            .map(|(_, v)| v)
            .unwrap_or(Value::Null);
        if !filter.state.is_empty() && !has_version_in(&detail, &filter.state) {
            continue;
        }
        rows.push_str(&format!(
            r#"<tr data-key="{n}"><td><a href="/ui/keys/{u}">{n}</a></td><td>{alg}</td><td class="state">{st}</td><td>{active}</td><td>{next}</td></tr>"#,
            n = esc(name),
            u = url(name),
            alg = esc(algorithm),
            st = t(&active_state(&detail)),
            active = t(&summary["active_version"]),
            next = t(&detail["next_rotation_at"]),
        ));
    }
    let create = if viewer.can("create_key") {
        format!(
            r#"<h2>New key</h2><form method="post" action="/ui/keys" id="create-key">{}
<label>Name <input name="name" id="new-key-name" required></label>
<label>Algorithm <input name="algorithm" id="new-key-algorithm" placeholder="aes-256-gcm"></label>
<label>Rotation period <input name="rotation_period" placeholder="90d"></label>
<button id="create">Create</button></form>"#,
            csrf_field(viewer)
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"<form method="get" action="/ui/keys" class="filter"><label>Name <input name="q" value="{q}"></label><label>Algorithm <input name="algorithm" value="{a}"></label><label>With a version <select name="state">{states}</select></label><button>Filter</button></form>
<table id="keys"><thead><tr><th>Name</th><th>Algorithm</th><th>State</th><th>Active version</th><th>Next rotation</th></tr></thead><tbody>{rows}</tbody></table>{create}"#,
        q = esc(&filter.q),
        a = esc(&filter.algorithm),
        states = [
            "",
            "active",
            "decrypt_only",
            "disabled",
            "scheduled_for_destruction",
            "destroyed"
        ]
        .iter()
        .map(|st| {
            let selected = if *st == filter.state { " selected" } else { "" };
            let label = if st.is_empty() { "in any state" } else { st };
            format!(r#"<option value="{st}"{selected}>{label}</option>"#)
        })
        .collect::<String>(),
    );
    page(viewer, "Keys", &body)
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    filter: web::Query<Filter>,
) -> HttpResponse {
    let viewer = match need_session(&state, &req) {
        Ok(v) => v,
        Err(to_login) => return *to_login,
    };
    render(state, req, &viewer, &filter).await
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Create>,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, &form.csrf).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let form = form.into_inner();
    let mut fields = json!({ "name": form.name });
    if !form.algorithm.trim().is_empty() {
        fields["algorithm"] = json!(form.algorithm.trim());
    }
    if !form.rotation_period.trim().is_empty() {
        fields["rotation_period"] = json!(form.rotation_period.trim());
    }
    let answer = match call::body(fields) {
        Ok(body) => {
            call::json(admin::create_key::handle(state.clone(), req.clone(), web::Json(body)).await)
                .await
        }
        Err(e) => Err(e),
    };
    match answer {
        Ok(_) => redirect(&format!("/ui/keys/{}", url(&form.name))),
        Err(e) => refusal(Some(&viewer), &e),
    }
}
