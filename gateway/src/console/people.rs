//! `GET /ui/people`: people with their roles and state (enrolled, disabled, locked), for who may
//! list them; `POST /ui/people` (`name`, a `role_<name>` box per role) creates a person,
//! `POST /ui/people/{name}/roles` sets their roles, `POST /ui/people/{name}/{change}` (`disable`,
//! `enable`, `reset`) changes their state. Each goes through the API's handler: the root token's
//! creation answers the whole enrolment token (shown once); a person's is filed for approval, and
//! the enrolment token is then split between the requester (who collects their half in the
//! inbox) and the approver whose vote runs it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::role::Role;
use serde_json::{Value, json};

use super::call;
use super::html::{
    Fields, csrf_field, esc, field, need_form, need_session, page, refusal, t, text, url,
};
use super::outcome::notice_for;
use super::session::Viewer;
use crate::api::admin::users;
use crate::error::ApiError;
use crate::state::AppState;

/// The roles ticked in the form (its boxes are `role_<name>`).
fn ticked(form: &Fields) -> Vec<&'static str> {
    Role::ALL
        .iter()
        .map(|r| r.name())
        .filter(|n| form.contains_key(&format!("role_{n}")))
        .collect()
}

/// A box per role, ticked for `held`.
fn role_boxes(held: &[Value], prefix: &str) -> String {
    Role::ALL
        .iter()
        .map(|r| {
            let n = r.name();
            let checked = if held.iter().any(|h| h == n) {
                " checked"
            } else {
                ""
            };
            format!(
                r#"<label class="check"><input type="checkbox" name="role_{n}" id="{prefix}-{n}"{checked}>{n}</label>"#
            )
        })
        .collect()
}

fn state_of(u: &Value) -> String {
    let mut parts = Vec::new();
    parts.push(if u["disabled"] == true {
        "disabled"
    } else {
        "active"
    });
    if u["enrolled"] != true {
        parts.push("not enrolled");
    }
    let mut shown = parts.join(", ");
    if !u["locked_until"].is_null() {
        shown.push_str(&format!(", locked until {}", text(&u["locked_until"])));
    }
    shown
}

/// The forms one person's row offers the viewer.
fn actions(viewer: &Viewer, u: &Value) -> String {
    let name = text(&u["name"]);
    let (n, csrf) = (url(&name), csrf_field(viewer));
    let mut out = String::new();
    if viewer.can("set_user_roles") {
        let held = u["roles"].as_array().cloned().unwrap_or_default();
        out.push_str(&format!(
            r#"<form method="post" action="/ui/people/{n}/roles" class="inline" id="roles-{id}">{csrf}{boxes}<button>Set roles</button></form>"#,
            id = esc(&name),
            boxes = role_boxes(&held, &format!("roles-{}", esc(&name))),
        ));
    }
    let change = if u["disabled"] == true {
        ("enable", "Enable", "enable_user")
    } else {
        ("disable", "Disable", "disable_user")
    };
    for (what, label, action) in [change, ("reset", "Reset credentials", "reset_user")] {
        if viewer.can(action) {
            out.push_str(&format!(
                r#"<form method="post" action="/ui/people/{n}/{what}" class="inline" id="{what}-{id}">{csrf}<button>{label}</button></form>"#,
                id = esc(&name),
            ));
        }
    }
    out
}

async fn render(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: &Viewer,
    shown: &str,
) -> HttpResponse {
    let people = match call::json(users::list::list(state, req).await).await {
        Ok((_, v)) => v["users"].as_array().cloned().unwrap_or_default(),
        Err(e) => return refusal(Some(viewer), &e),
    };
    let rows: String = people
        .iter()
        .map(|u| {
            let roles = u["roles"]
                .as_array()
                .map(|r| r.iter().map(text).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            format!(
                r#"<tr data-person="{n}"><td>{n}</td><td class="roles">{r}</td><td class="state">{s}</td><td>{c}</td><td>{a}</td></tr>"#,
                n = t(&u["name"]),
                r = esc(&roles),
                s = esc(&state_of(u)),
                c = t(&u["created_at"]),
                a = actions(viewer, u),
            )
        })
        .collect();
    let create = if viewer.can("create_user") {
        format!(
            r#"<h2>New person</h2><form method="post" action="/ui/people" id="create-person">{}<label>Name <input name="name" id="new-person-name" required></label>{}<button id="create-person-button">Create</button></form><p>They set their own password and TOTP with the enrolment token (<a href="/ui/enrol">/ui/enrol</a>); nobody who creates an account can sign in as it.</p>"#,
            csrf_field(viewer),
            role_boxes(&[], "new-person"),
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"{shown}<table id="people"><thead><tr><th>Name</th><th>Roles</th><th>State</th><th>Created</th><th></th></tr></thead><tbody>{rows}</tbody></table>{create}"#
    );
    page(viewer, "People", &body)
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let viewer = match need_session(&state, &req) {
        Ok(v) => v,
        Err(to_login) => return *to_login,
    };
    render(state, req, &viewer, "").await
}

/// An enrolment token in an answer (the root token's whole one), shown once.
fn enrolment(answer: &Value, name: &str) -> String {
    let e = &answer["enrolment"];
    if e["token"].is_null() {
        return String::new();
    }
    format!(
        r#"<p>Enrolment token for {} ({}, until {}), shown this once: <code id="enrolment-token">{}</code></p>"#,
        esc(name),
        t(&e["part"]),
        t(&e["expires_at"]),
        t(&e["token"]),
    )
}

/// Shows the people again with the outcome of a change, or the API's refusal.
async fn after(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: &Viewer,
    answer: Result<(StatusCode, Value), ApiError>,
    done: &str,
    name: &str,
    collect: Option<&str>,
) -> HttpResponse {
    match answer {
        Ok((status, v)) => {
            let shown = notice_for(status, &v, done, collect) + &enrolment(&v, name);
            render(state, req, viewer, &shown).await
        }
        Err(e) => refusal(Some(viewer), &e),
    }
}

const HALF: &str = "the first half of the enrolment token (the approver whose vote runs it is shown the second; the person needs both)";

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Fields>,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, field(&form, "csrf")).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let name = field(&form, "name").trim().to_owned();
    let answer = match call::body(json!({ "name": name, "roles": ticked(&form) })) {
        Ok(body) => {
            let (s, r) = (state.clone(), req.clone());
            call::json(users::create::handle(s, r, web::Json(body)).await).await
        }
        Err(e) => Err(e),
    };
    let done = format!("{name} created: hand them the enrolment token below.");
    after(state, req, &viewer, answer, &done, &name, Some(HALF)).await
}

pub async fn roles(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, field(&form, "csrf")).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let name = name.into_inner();
    let roles = ticked(&form);
    let answer = match call::body(json!({ "roles": roles })) {
        Ok(body) => {
            let (s, r, p) = (state.clone(), req.clone(), web::Path::from(name.clone()));
            call::json(users::roles::handle(s, r, p, web::Json(body)).await).await
        }
        Err(e) => Err(e),
    };
    let done = format!("{name} now holds: {}.", roles.join(", "));
    after(state, req, &viewer, answer, &done, &name, None).await
}

pub async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, field(&form, "csrf")).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let (name, what) = path.into_inner();
    let (s, r, p) = (state.clone(), req.clone(), web::Path::from(name.clone()));
    let (answer, collect) = match what.as_str() {
        "disable" => (users::status::disable(s, r, p).await, None),
        "enable" => (users::status::enable(s, r, p).await, None),
        "reset" => (users::reset::handle(s, r, p).await, Some(HALF)),
        _ => (
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such change",
            )),
            None,
        ),
    };
    let done = format!("{name}: {what} done.");
    after(
        state,
        req,
        &viewer,
        call::json(answer).await,
        &done,
        &name,
        collect,
    )
    .await
}
