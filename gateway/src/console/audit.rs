//! `GET /ui/audit[?actor=&key=&action=&since=&until=&verify=1]`: the audit trail filtered by actor,
//! key, action and time (the API's `read_audit`), 200 entries a page, and, on request, the chain verified from its
//! first entry (`verify_audit`) with the result; `GET /ui/audit/export` downloads the same
//! entries as JSON.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::call;
use super::html::{esc, need_session, notice, page, pre, refusal, table, text, url};
use crate::api::admin;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Filter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    verify: Option<String>,
    /// Paging: the last `seq` of the previous page.
    #[serde(default)]
    after: Option<u64>,
}

/// Entries per page.
const PAGE: u32 = 200;
/// Entries per export (the API's largest page).
const EXPORT: u32 = 10_000;

const FIELDS: [&str; 5] = ["actor", "key", "action", "since", "until"];

impl Filter {
    fn fields(&self) -> [(&'static str, &str); 5] {
        let values = [
            &self.actor,
            &self.key,
            &self.action,
            &self.since,
            &self.until,
        ];
        let mut out = [("", ""); 5];
        for (i, (name, value)) in FIELDS.iter().zip(values).enumerate() {
            out[i] = (name, value.trim());
        }
        out
    }

    /// The API's query: the filled fields only, `limit` entries after `after`.
    fn query<T: serde::de::DeserializeOwned>(&self, limit: u32) -> Result<T, ApiError> {
        let mut map: Map<String, Value> = self
            .fields()
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        map.insert("limit".to_owned(), Value::from(limit));
        if let Some(after) = self.after {
            map.insert("after".to_owned(), Value::from(after));
        }
        call::body(Value::Object(map))
    }

    fn query_string(&self) -> String {
        self.fields()
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", url(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

async fn entries(
    state: web::Data<AppState>,
    req: HttpRequest,
    filter: &Filter,
    limit: u32,
) -> Result<Value, ApiError> {
    let q = filter.query(limit)?;
    let (_, v) = call::json(admin::audit::query::handle(state, req, web::Query(q)).await).await?;
    Ok(v)
}

fn verified(report: &Value) -> String {
    let ok = report["ok"] == Value::Bool(true);
    let summary = if ok {
        format!(
            "The chain verifies: {} entries, {} seals.",
            text(&report["entries"]),
            text(&report["seals"])
        )
    } else {
        format!(
            "The chain does NOT verify: first bad entry {} ({}).",
            text(&report["first_bad"]["seq"]),
            text(&report["first_bad"]["problem"])
        )
    };
    let kind = if ok { "ok" } else { "refused" };
    format!(
        r#"<div id="verify-result" data-ok="{ok}">{}{}</div>"#,
        notice(kind, &summary),
        pre(report)
    )
}

pub async fn page_handler(
    state: web::Data<AppState>,
    req: HttpRequest,
    filter: Filter,
) -> HttpResponse {
    let viewer = match need_session(&state, &req) {
        Ok(v) => v,
        Err(to_login) => return *to_login,
    };
    let found = match entries(state.clone(), req.clone(), &filter, PAGE).await {
        Ok(v) => v,
        Err(e) => return refusal(Some(&viewer), &e),
    };
    let verify = if filter.verify.is_some() {
        match call::json(admin::audit::verify::handle(state, req).await).await {
            Ok((_, report)) => verified(&report),
            Err(e) => return refusal(Some(&viewer), &e),
        }
    } else {
        String::new()
    };
    let inputs: String = filter
        .fields()
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<label>{k} <input name="{k}" id="filter-{k}" value="{}"></label>"#,
                esc(v)
            )
        })
        .collect();
    let empty = Vec::new();
    let rows = found["entries"].as_array().unwrap_or(&empty);
    let qs = filter.query_string();
    let body = format!(
        r#"{verify}<form method="get" action="/ui/audit" class="filter">{inputs}<button id="filter">Filter</button></form>
<form method="get" action="/ui/audit" class="inline"><input type="hidden" name="verify" value="1"><button id="verify">Verify the chain</button></form>
<p><a id="export" href="/ui/audit/export?{qs}" download="audit.json">Export as JSON</a> · {n} entries shown{next}</p>{table}"#,
        next = match found["next_after"].as_u64() {
            Some(after) if u64::try_from(rows.len()).unwrap_or(u64::MAX) >= u64::from(PAGE) => {
                let sep = if qs.is_empty() { "" } else { "&" };
                format!(r#" · <a id="next" href="/ui/audit?{qs}{sep}after={after}">Next page</a>"#)
            }
            _ => String::new(),
        },
        n = rows.len(),
        table = table(
            rows,
            &[
                ("/seq", "#"),
                ("/at", "At"),
                ("/actor", "Actor"),
                ("/action", "Action"),
                ("/target", "Target"),
                ("/outcome", "Outcome"),
                ("/code", "Code"),
                ("/remote", "From")
            ],
            "audit"
        ),
    );
    page(&viewer, "Audit", &body)
}

pub async fn page_route(
    state: web::Data<AppState>,
    req: HttpRequest,
    filter: web::Query<Filter>,
) -> HttpResponse {
    page_handler(state, req, filter.into_inner()).await
}

pub async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    filter: web::Query<Filter>,
) -> HttpResponse {
    let viewer = match need_session(&state, &req) {
        Ok(v) => v,
        Err(to_login) => return *to_login,
    };
    match entries(state, req, &filter, EXPORT).await {
        Ok(v) => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((
                "Content-Disposition",
                r#"attachment; filename="audit.json""#,
            ))
            .body(v.to_string()),
        Err(e) => refusal(Some(&viewer), &e),
    }
}
