//! `GET /ui/approvals[?all=1]`: the approvals inbox, each request with its full parameters, their
//! hash, what it would change, who asked and who voted; `POST /ui/approvals/{id}/approve` and
//! `.../reject` vote through the API's handler (naming the hash the page showed); `.../collect`
//! hands the requester what the run left for them alone (once); the vote that runs a request shows
//! its approver what the run left for them (`for_you`), once.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::call;
use super::html::{csrf_field, esc, need_form, need_session, notice, page, pre, refusal, t, text};
use super::session::Viewer;
use crate::api::admin;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Which {
    #[serde(default)]
    all: Option<String>,
}

#[derive(Deserialize)]
pub struct Ballot {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    params_hash: String,
}

fn votes(request: &Value) -> String {
    let list: String = request["votes"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| {
                    format!(
                        "<li>{} {} at {}</li>",
                        t(&v["user"]),
                        t(&v["decision"]),
                        t(&v["at"])
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if list.is_empty() {
        "<p>No votes yet.</p>".to_owned()
    } else {
        format!(r#"<ul class="votes">{list}</ul>"#)
    }
}

fn card(viewer: &Viewer, r: &Value) -> String {
    let id = text(&r["id"]);
    let pending = r["status"] == "pending";
    let mine = r["requester"].as_str() == Some(viewer.actor.as_str());
    let approvers: Vec<String> = r["approver_roles"]
        .as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default();
    let collect = if mine && r["private_result_pending"] == Value::Bool(true) {
        format!(
            r#"<form method="post" action="/ui/approvals/{id}/collect" class="inline" id="collect-{id}">{}<button>Collect the result left for you</button></form>"#,
            csrf_field(viewer)
        )
    } else {
        String::new()
    };
    // Offered only to who may vote on this request: not its requester, and one of its approver
    // roles (the API decides all the same).
    let forms = if pending && !mine && viewer.can("approve") && viewer.holds_any(&approvers) {
        let hash = esc(&text(&r["params_hash"]));
        let csrf = csrf_field(viewer);
        format!(
            r#"<form method="post" action="/ui/approvals/{id}/approve" class="inline" id="approve-{id}">{csrf}<input type="hidden" name="params_hash" value="{hash}"><button>Approve</button></form><form method="post" action="/ui/approvals/{id}/reject" class="inline" id="reject-{id}">{csrf}<input type="hidden" name="params_hash" value="{hash}"><button>Reject</button></form>"#
        )
    } else {
        String::new()
    };
    format!(
        r#"<section class="approval" id="approval-{id}" data-status="{status}"><h2>#{id} {action} on {target}</h2>
<dl class="facts"><dt>Status</dt><dd class="status">{status}</dd><dt>Asked by</dt><dd>{requester}</dd><dt>Approvals</dt><dd>{approvals} of {quorum} (from: {roles})</dd><dt>Created</dt><dd>{created}</dd><dt>Expires</dt><dd>{expires}</dd><dt>Parameters hash</dt><dd><code>{hash}</code></dd></dl>
<h3>Parameters</h3>{params}<h3>What it changes</h3>{details}<h3>Votes</h3>{votes}{result}{forms}{collect}</section>"#,
        status = t(&r["status"]),
        action = t(&r["action"]),
        target = t(&r["target"]),
        requester = t(&r["requester"]),
        approvals = t(&r["approvals"]),
        quorum = t(&r["quorum"]),
        roles = esc(&r["approver_roles"]
            .as_array()
            .map(|a| a.iter().map(text).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()),
        created = t(&r["created_at"]),
        expires = t(&r["expires_at"]),
        hash = t(&r["params_hash"]),
        params = pre(&r["params"]),
        details = pre(&r["details"]),
        votes = votes(r),
        result = if r["result"].is_null() {
            String::new()
        } else {
            format!("<h3>Result</h3>{}", pre(&r["result"]))
        },
    )
}

async fn render(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: &Viewer,
    all: bool,
    shown: &str,
) -> HttpResponse {
    let query = match call::body(json!({ "pending": !all })) {
        Ok(q) => q,
        Err(e) => return refusal(Some(viewer), &e),
    };
    match call::json(admin::approvals::list::list(state, req, web::Query(query)).await).await {
        Ok((_, v)) => {
            let cards: String = v["approvals"]
                .as_array()
                .map(|a| a.iter().map(|r| card(viewer, r)).collect())
                .unwrap_or_default();
            let cards = if cards.is_empty() {
                r#"<p class="empty" id="no-approvals">Nothing waiting.</p>"#.to_owned()
            } else {
                cards
            };
            let switch = if all {
                r#"<p><a href="/ui/approvals">Pending only</a></p>"#
            } else {
                r#"<p><a href="/ui/approvals?all=1">All requests</a></p>"#
            };
            page(viewer, "Approvals", &format!("{shown}{switch}{cards}"))
        }
        Err(e) => refusal(Some(viewer), &e),
    }
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    which: web::Query<Which>,
) -> HttpResponse {
    let viewer = match need_session(&state, &req) {
        Ok(v) => v,
        Err(to_login) => return *to_login,
    };
    render(state, req, &viewer, which.all.is_some(), "").await
}

pub async fn vote(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, String)>,
    form: web::Form<Ballot>,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, &form.csrf).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let (id, how) = path.into_inner();
    if how == "collect" {
        let answer =
            admin::approvals::collect::handle(state.clone(), req.clone(), web::Path::from(id))
                .await;
        return match call::json(answer).await {
            Ok((_, v)) => {
                let shown = format!(
                    r#"{}<div id="collected">{}</div>"#,
                    notice(
                        "ok",
                        &format!("Collected the result of #{id}: shown once, keep it now.")
                    ),
                    pre(&v)
                );
                render(state, req, &viewer, true, &shown).await
            }
            Err(e) => refusal(Some(&viewer), &e),
        };
    }
    let ballot = match call::body(json!({ "params_hash": form.params_hash })) {
        Ok(b) => Some(web::Json(b)),
        Err(e) => return refusal(Some(&viewer), &e),
    };
    let (s, r, p) = (state.clone(), req.clone(), web::Path::from(id));
    let answer = match how.as_str() {
        "approve" => admin::approvals::vote::approve(s, r, p, ballot).await,
        "reject" => admin::approvals::vote::reject(s, r, p, ballot).await,
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such vote",
        )),
    };
    match call::json(answer).await {
        Ok((_, v)) => {
            let shown = notice(
                "ok",
                &format!(
                    "Voted {how} on #{id}: now {} ({} of {}).",
                    text(&v["status"]),
                    text(&v["approvals"]),
                    text(&v["quorum"])
                ),
            );
            // The vote that ran the request may leave its approver something alone (the second
            // half of an enrolment token): the API answers it this once.
            let shown = if v["for_you"].is_null() {
                shown
            } else {
                format!(
                    r#"{shown}<p>Left for you alone by this run, shown this once:</p><div id="for-you">{}</div>"#,
                    pre(&v["for_you"])
                )
            };
            render(state, req, &viewer, true, &shown).await
        }
        Err(e) => refusal(Some(&viewer), &e),
    }
}
