//! `POST /v1/admin/keys/{name}/policy` `{"allowed_cidrs"?,"time_windows"?,"rate_limit"?}` →
//! `{"key","policy"}`: replaces the key's usage policy (see kms-engine `policy/`); `{}` removes
//! it. Served by the data plane before the call returns.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::policy::{PolicySpec, UsagePolicy};
use kms_engine::store::PolicyChange;
use serde::Serialize;

use super::key_view::key_id;
use super::{key_admin, run, success};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
struct Response {
    key: String,
    /// The canonical policy; `null` when the key has none.
    policy: Option<PolicySpec>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<PolicySpec>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "set_key_policy").await?;
    let policy = UsagePolicy::parse(&body)?;
    let policy = (!policy.is_empty()).then_some(policy);
    let mut event = success(&state, &caller, "set_key_policy", target.clone());
    event.detail = Some(
        policy
            .as_ref()
            .map_or_else(|| "removed".to_owned(), UsagePolicy::to_stored),
    );
    let actor = caller.actor();
    let key_name = name.clone();
    let shown = policy.as_ref().map(UsagePolicy::spec);
    run(&state, &caller, "set_key_policy", target, |st| async move {
        let change = PolicyChange {
            key: key_id(&st, &key_name).await?,
            policy,
            at: st.clock.now(),
            actor,
        };
        let revision = st.store.set_key_policy(&change, &event).await?;
        st.synced(revision).await;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(Response {
        key: name,
        policy: shown,
    }))
}
