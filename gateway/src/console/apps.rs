//! `GET /ui/apps`: apps with their tokens and certificates (states and dates; never a token),
//! grants being on each key's page; `POST /ui/apps` (`name`) creates one through the API's
//! `create_app` handler and shows its token, once. Each app's row offers rotating its token and
//! revoking its tokens (`app_tokens.rs` handles them).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::call;
use super::html::{
    csrf_field, esc, need_form, need_session, notice, page_with, refusal, t, text, url,
};
use super::session::Viewer;
use crate::api::admin;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Create {
    #[serde(default)]
    csrf: String,
    name: String,
}

/// `2 active, 1 revoked`: how many of `items` are in each state.
fn states(items: &Value) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for item in items.as_array().into_iter().flatten() {
        *counts.entry(text(&item["state"])).or_default() += 1;
    }
    counts
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) async fn render(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: &Viewer,
    shown: &str,
) -> HttpResponse {
    let apps = match call::json(admin::list_apps::handle(state, req).await).await {
        Ok((_, v)) => v["apps"].as_array().cloned().unwrap_or_default(),
        Err(e) => return refusal(Some(viewer), &e),
    };
    let rows: String = apps
        .iter()
        .map(|a| {
            format!(
                r#"<tr data-app="{n}"><td>{n}</td><td><code>{id}</code></td><td>{c}</td><td>{tok}</td><td>{cert}</td><td>{acts}</td></tr>"#,
                n = t(&a["name"]),
                id = t(&a["id"]),
                c = t(&a["created_at"]),
                tok = esc(&states(&a["tokens"])),
                cert = esc(&states(&a["certificates"])),
                acts = token_forms(viewer, a),
            )
        })
        .collect();
    let create = if viewer.can("create_app") {
        format!(
            r#"<h2>New app</h2><form method="post" action="/ui/apps" id="create-app" class="inline">{}<input name="name" id="new-app-name" placeholder="name" required><button>Create</button></form>"#,
            csrf_field(viewer)
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"{shown}<table id="apps"><thead><tr><th>Name</th><th>Id</th><th>Created</th><th>Tokens</th><th>Certificates</th><th></th></tr></thead><tbody>{rows}</tbody></table><p>Grants are on each key's page.</p>{create}"#
    );
    page_with(StatusCode::OK, Some(viewer), "Apps", &body)
}

/// The forms of one app's row: rotate its token (with the overlap) and revoke its tokens.
fn token_forms(viewer: &Viewer, app: &Value) -> String {
    let name = text(&app["name"]);
    let (n, id, csrf) = (url(&name), esc(&name), csrf_field(viewer));
    let mut out = String::new();
    if viewer.can("rotate_app_token") {
        out.push_str(&format!(
            r#"<form method="post" action="/ui/apps/{n}/rotate-token" class="inline" id="rotate-token-{id}">{csrf}<input name="overlap_seconds" type="number" min="0" placeholder="overlap (s), default 1 day"><button>Rotate token</button></form>"#
        ));
    }
    if viewer.can("revoke_app") {
        out.push_str(&format!(
            r#"<form method="post" action="/ui/apps/{n}/revoke" class="inline" id="revoke-{id}">{csrf}<button>Revoke all its tokens</button></form>"#
        ));
    }
    out
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let viewer = match need_session(&state, &req) {
        Ok(v) => v,
        Err(to_login) => return *to_login,
    };
    render(state, req, &viewer, "").await
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
    let answer = match call::body(json!({ "name": form.name.trim() })) {
        Ok(body) => {
            call::json(admin::create_app::handle(state.clone(), req.clone(), web::Json(body)).await)
                .await
        }
        Err(e) => Err(e),
    };
    match answer {
        Ok((_, app)) => {
            let shown = format!(
                r#"{}<p>Token: <code id="new-app-token">{}</code></p>"#,
                notice(
                    "ok",
                    &format!(
                        "App {} created. Its token is shown this once: hand it to the application now.",
                        text(&app["name"])
                    )
                ),
                t(&app["token"])
            );
            render(state, req, &viewer, &shown).await
        }
        Err(e) => refusal(Some(&viewer), &e),
    }
}
