//! HTML: escaping, the layout every page shares, and the pages for refusals. Every value that
//! comes from data goes through [`esc`]; pages carry no inline script or style (the CSP forbids
//! them).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::session::{Viewer, redirect};
use crate::error::ApiError;
use crate::state::AppState;

/// Escapes text for an element's content or a quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON value as text (strings without their quotes; `null` as empty).
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// [`text`], escaped.
pub fn t(v: &Value) -> String {
    esc(&text(v))
}

/// Escapes a value for a URL's path segment or query value.
pub fn url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The hidden field with the session's CSRF token, for every form that changes something.
pub fn csrf_field(viewer: &Viewer) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        esc(&viewer.csrf)
    )
}

/// The navigation: only the pages the person's roles may read.
fn nav(viewer: &Viewer) -> String {
    let pages = [
        ("/ui/keys", "Keys", "list_keys"),
        ("/ui/apps", "Apps", "list_apps"),
        ("/ui/people", "People", "list_users"),
        ("/ui/approvals", "Approvals", "list_approvals"),
        ("/ui/audit", "Audit", "read_audit"),
        ("/ui/zones", "Zones", "list_zones"),
        ("/ui/hsm", "HSM", "hsm_status"),
    ];
    let links: String = pages
        .iter()
        .filter(|(_, _, action)| viewer.can(action))
        .map(|(href, label, _)| format!(r#"<a href="{href}">{label}</a>"#))
        .collect();
    format!(
        r#"<nav><a class="brand" href="/ui">KMS console</a>{links}<span class="who" id="who">{} ({})</span><form method="post" action="/ui/logout">{}<button id="logout">Log out</button></form></nav>"#,
        esc(&viewer.actor),
        esc(&viewer.roles()),
        csrf_field(viewer),
    )
}

/// A whole page.
pub fn document(viewer: Option<&Viewer>, title: &str, body: &str) -> String {
    let nav = viewer.map(nav).unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · KMS console</title><link rel="stylesheet" href="/ui/static/console.css"><script src="/ui/static/console.js" defer></script></head>
<body><header>{nav}</header><main><h1>{title}</h1>
{body}
</main></body></html>"#,
        title = esc(title),
    )
}

/// A page answered with `status`.
pub fn page_with(
    status: StatusCode,
    viewer: Option<&Viewer>,
    title: &str,
    body: &str,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(document(viewer, title, body))
}

/// A page answered with 200.
pub fn page(viewer: &Viewer, title: &str, body: &str) -> HttpResponse {
    page_with(StatusCode::OK, Some(viewer), title, body)
}

/// A notice at the top of a page (`ok` or `refused`).
pub fn notice(kind: &str, message: &str) -> String {
    format!(
        r#"<p class="notice {kind}" id="notice" data-state="{kind}">{}</p>"#,
        esc(message)
    )
}

/// The API's refusal as a page with the API's status: its code and message, as the handler
/// answered them (and audited them). An ended session goes back to the login page.
pub fn refusal(viewer: Option<&Viewer>, e: &ApiError) -> HttpResponse {
    if e.status == StatusCode::UNAUTHORIZED {
        return redirect("/ui/login");
    }
    let title = if e.status == StatusCode::FORBIDDEN {
        "Not allowed"
    } else {
        "Refused"
    };
    let body = format!(
        r#"<p class="notice refused" id="refusal" data-status="{status}" data-code="{code}">The API answered <strong>{status} {code}</strong>: {message}</p><p><a href="/ui">Back</a></p>"#,
        status = e.status.as_u16(),
        code = esc(e.code),
        message = esc(&e.message),
    );
    page_with(e.status, viewer, title, &body)
}

/// A page needs a session: the redirect to the login page otherwise.
pub fn need_session(state: &AppState, req: &HttpRequest) -> Result<Viewer, Box<HttpResponse>> {
    Viewer::of(state, req).ok_or_else(|| Box::new(redirect("/ui/login")))
}

/// A submitted form's fields by name.
pub type Fields = std::collections::HashMap<String, String>;

/// A form field's value, trimmed; empty when the form lacks it.
pub fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map_or("", |v| v.trim())
}

/// A state-changing form's caller: their session, and the form's CSRF token and origin
/// (`csrf::check`); otherwise the login page, or the audited refusal.
pub async fn need_form(
    state: &AppState,
    req: &HttpRequest,
    csrf_token: &str,
) -> Result<Viewer, Box<HttpResponse>> {
    let viewer = need_session(state, req)?;
    match super::csrf::check(state, req, csrf_token).await {
        Ok(()) => Ok(viewer),
        Err(e) => Err(Box::new(refusal(Some(&viewer), &e))),
    }
}

/// An array of JSON objects as a table of the given columns (`(field, heading)`).
pub fn table(rows: &[Value], columns: &[(&str, &str)], id: &str) -> String {
    if rows.is_empty() {
        return r#"<p class="empty">None.</p>"#.to_owned();
    }
    let head: String = columns
        .iter()
        .map(|(_, h)| format!("<th>{}</th>", esc(h)))
        .collect();
    let body: String = rows
        .iter()
        .map(|row| {
            let cells: String = columns
                .iter()
                .map(|(field, _)| {
                    format!("<td>{}</td>", t(row.pointer(field).unwrap_or(&Value::Null)))
                })
                .collect();
            format!("<tr>{cells}</tr>")
        })
        .collect();
    format!(r#"<table id="{id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"#)
}

/// JSON, pretty-printed and escaped, in a `<pre>`.
pub fn pre(v: &Value) -> String {
    let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
    format!("<pre>{}</pre>", esc(&pretty))
}

/// Paths under `/ui` that match no page.
pub async fn not_found(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let viewer = Viewer::of(&state, &req);
    let e = ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such page");
    refusal(viewer.as_ref(), &e)
}

/// An array of JSON objects as a table whose columns are the first object's fields (nested
/// values shown as JSON).
pub fn auto_table(rows: &[Value], id: &str) -> String {
    let names: Vec<String> = rows
        .first()
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let columns: Vec<(String, &str)> = names
        .iter()
        .map(|n| (format!("/{n}"), n.as_str()))
        .collect();
    let columns: Vec<(&str, &str)> = columns.iter().map(|(p, n)| (p.as_str(), *n)).collect();
    table(rows, &columns, id)
}
