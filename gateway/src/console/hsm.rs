//! `GET /ui/hsm`: HSM tokens with their health, master keys with their KCVs, master-key rotations
//! in progress and, for custodians (security administrators and operators, who act through their
//! session), the ceremonies: master-key ceremonies with who approved and what the quorum still
//! needs, and the open rekey and root-token generation with who submitted a share. A custodian
//! who has not taken their step yet is offered it (`hsm_steps.rs` posts it to the API's handler,
//! which decides and audits).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::call;
use super::html::{auto_table, csrf_field, esc, need_session, page, pre, refusal, t, text, url};
use super::session::Viewer;
use crate::api::hsm as hsm_api;
use crate::error::ApiError;
use crate::state::AppState;

/// `2 security_admin, 1 operator`: the approvals each role still owes the quorum (distinct
/// custodians per role, as `Quorum::is_met` counts them), and the components still to enter.
pub fn still_needed(c: &Value) -> String {
    let mut given: HashMap<String, u64> = HashMap::new();
    for a in c["approvals"].as_array().into_iter().flatten() {
        *given.entry(text(&a["role"])).or_default() += 1;
    }
    let mut required: Vec<(&String, &Value)> =
        c["required"].as_object().into_iter().flatten().collect();
    required.sort_by_key(|(role, _)| *role);
    let mut owed: Vec<String> = required
        .into_iter()
        .filter_map(|(role, n)| {
            let left = n
                .as_u64()?
                .saturating_sub(given.get(role).copied().unwrap_or(0));
            (left > 0).then(|| format!("{left} {role}"))
        })
        .collect();
    let components = c["components_required"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(c["components_received"].as_u64().unwrap_or(0));
    if components > 0 {
        owed.push(format!("{components} component(s)"));
    }
    if owed.is_empty() {
        "nothing".to_owned()
    } else {
        owed.join(", ")
    }
}

/// One open master-key ceremony, with the approve form when the viewer has not approved yet.
fn ceremony(viewer: &Viewer, c: &Value) -> String {
    let id = text(&c["id"]);
    let approved = c["approvals"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x["custodian"] == viewer.actor.as_str()));
    let form = if approved || c["state"] != "open" {
        String::new()
    } else {
        let wants = c["components_required"].as_u64() > c["components_received"].as_u64();
        let component = if wants {
            r#"<input name="component" type="password" autocomplete="off" placeholder="your component (64 hex digits)" required>"#
        } else {
            ""
        };
        format!(
            r#"<form method="post" action="/ui/hsm/ceremonies/{u}/approve" class="inline" id="approve-{e}">{csrf}{component}<button>Approve as custodian</button></form>"#,
            u = url(&id),
            e = esc(&id),
            csrf = csrf_field(viewer),
        )
    };
    let empty = Vec::new();
    format!(
        r#"<section class="ceremony" id="ceremony-{e}" data-state="{st}"><h3>{op} <code>{e}</code></h3><dl class="facts"><dt>State</dt><dd class="state">{st}</dd><dt>Master key</dt><dd>{mk}</dd><dt>Source</dt><dd>{src}</dd><dt>Started by</dt><dd>{by}</dd><dt>Expires</dt><dd>{exp}</dd><dt>Quorum</dt><dd>{req}</dd><dt>Still needed</dt><dd class="needed">{needed}</dd></dl>{approvals}{form}</section>"#,
        e = esc(&id),
        st = t(&c["state"]),
        op = t(&c["operation"]),
        mk = t(&c["master_key_id"]),
        src = t(&c["source"]),
        by = t(&c["started_by"]),
        exp = t(&c["expires_at"]),
        req = t(&c["required"]),
        needed = esc(&still_needed(c)),
        approvals = auto_table(c["approvals"].as_array().unwrap_or(&empty), "approvals"),
    )
}

/// The master-key ceremonies: open ones with their forms, then those that ended lately.
async fn ceremonies(viewer: &Viewer, answer: Result<HttpResponse, ApiError>) -> String {
    let all = match call::json(answer).await {
        Ok((_, v)) => v["ceremonies"].as_array().cloned().unwrap_or_default(),
        Err(e) => return format!("<p>{}: {}</p>", esc(e.code), esc(&e.message)),
    };
    let (open, ended): (Vec<&Value>, Vec<&Value>) = all
        .iter()
        .partition(|c| c["state"] == "open" || c["state"] == "executing");
    let open: String = open.iter().map(|c| ceremony(viewer, c)).collect();
    let open = if open.is_empty() {
        r#"<p class="empty" id="no-ceremonies">None open.</p>"#.to_owned()
    } else {
        open
    };
    let ended: Vec<Value> = ended
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c["id"], "operation": c["operation"], "state": c["state"],
                "started_by": c["started_by"], "approvals": c["approvals"].as_array().map_or(0, Vec::len),
                "error": c["error"]["code"],
            })
        })
        .collect();
    format!(
        "<h2>Master-key ceremonies in progress</h2>{open}<h3>Ended in the last day</h3>{}",
        auto_table(&ended, "ended-ceremonies")
    )
}

/// An open share ceremony (`rekey` or `generate-root`): its state, and the viewer's share form
/// until they have submitted one; "none" for the API's 404.
async fn shares(
    viewer: &Viewer,
    kind: &str,
    title: &str,
    answer: Result<HttpResponse, ApiError>,
) -> String {
    let shown = match call::json(answer).await {
        Ok((_, v)) => {
            let submitted = v["submitted_by"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x == viewer.actor.as_str()));
            let form = if submitted {
                String::new()
            } else {
                format!(
                    r#"<form method="post" action="/ui/hsm/{kind}/update" class="inline" id="{kind}-submit">{}<input type="hidden" name="nonce" value="{}"><input name="share" type="password" autocomplete="off" placeholder="your current unseal share" required><button>Submit my share</button></form>"#,
                    csrf_field(viewer),
                    t(&v["nonce"]),
                )
            };
            format!(
                r#"<p id="{kind}-progress">{} of {} shares; submitted by: {}</p>{}{form}"#,
                t(&v["progress"]),
                t(&v["required"]),
                esc(&v["submitted_by"]
                    .as_array()
                    .map(|s| s.iter().map(text).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()),
                pre(&v),
            )
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            r#"<p class="empty">None open.</p>"#.to_owned()
        }
        Err(e) => format!("<p>{}: {}</p>", esc(e.code), esc(&e.message)),
    };
    format!("<h2>{title}</h2>{shown}")
}

/// The page, with `shown` (a step's outcome) at the top.
pub async fn render(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: &Viewer,
    shown: &str,
) -> HttpResponse {
    let status = match call::json(hsm_api::status::handle(state.clone(), req.clone()).await).await {
        Ok((_, v)) => v,
        Err(e) => return refusal(Some(viewer), &e),
    };
    let empty = Vec::new();
    let mut body = format!(
        "{shown}<h2>Tokens</h2>{}<h2>Master keys</h2>{}",
        auto_table(status["tokens"].as_array().unwrap_or(&empty), "tokens"),
        auto_table(
            status["master_keys"].as_array().unwrap_or(&empty),
            "master_keys"
        ),
    );
    if let Ok((_, v)) =
        call::json(hsm_api::rotations::handle(state.clone(), req.clone()).await).await
    {
        let rows = v["rotations"].as_array().cloned().unwrap_or_default();
        body.push_str(&format!(
            "<h2>Master-key rotations in progress</h2>{}",
            auto_table(&rows, "rotations")
        ));
    }
    // The ceremonies are the custodians' (the API shows them to custodians only).
    if viewer.custodian() {
        let list = hsm_api::list::handle(state.clone(), req.clone()).await;
        body.push_str(&ceremonies(viewer, list).await);
        let rekey = hsm_api::rekey::status::handle(state.clone(), req.clone()).await;
        body.push_str(
            &shares(
                viewer,
                "rekey",
                "Rekey of the unseal shares in progress",
                rekey,
            )
            .await,
        );
        let root = hsm_api::generate_root::status::handle(state.clone(), req.clone()).await;
        body.push_str(
            &shares(
                viewer,
                "generate-root",
                "Root token generation in progress",
                root,
            )
            .await,
        );
    }
    page(viewer, "HSM", &body)
}

pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let viewer = match need_session(&state, &req) {
        Ok(v) => v,
        Err(to_login) => return *to_login,
    };
    render(state, req, &viewer, "").await
}
