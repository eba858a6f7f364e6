//! `POST /v1/admin/keys/{name}/policy` `{"allowed_cidrs"?,"time_windows"?,"rate_limit"?}` →
//! `{"key","policy"}`: replaces the key's usage policy (see kms-engine `policy/`); `{}` removes
//! it. Served by the data plane before the call returns. Loosening a policy (removing it, or a
//! new one that allows anything the old one refused) is, for a user, `202` an approval request.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::policy::{PolicySpec, UsagePolicy};
use kms_engine::store::PolicyChange;
use serde::{Deserialize, Serialize};

use super::key_admin;
use super::key_view::key_id;
use crate::approvals::{self, Invocation};
use crate::error::ApiError;
use crate::state::AppState;

/// What a policy change needs, as an approval request keeps it.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Params {
    name: String,
    policy: PolicySpec,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<PolicySpec>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "set_key_policy").await?;
    let new = UsagePolicy::parse(&body)?;
    let old = state
        .directory
        .load()
        .key(&name)
        .ok_or(EngineError::KeyNotFound)?
        .policy
        .as_ref()
        .map(|p| p.policy.clone())
        .unwrap_or_default();
    let loosens = !new.at_least_as_strict_as(&old);
    let params = Params {
        name,
        policy: new.spec(),
    };
    approvals::run_or_request(
        &state,
        &caller,
        "set_key_policy",
        target,
        &params,
        loosens,
        |st, invocation, params| async move { apply(&st, &invocation, params).await },
    )
    .await
}

/// Sets the policy (directly, or once approved).
pub async fn apply(
    state: &AppState,
    invocation: &Invocation,
    params: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let Params { name, policy } = approvals::params(params)?;
    let policy = UsagePolicy::parse(&policy)?;
    let policy = (!policy.is_empty()).then_some(policy);
    let event = invocation.event(
        state,
        "set_key_policy",
        format!("key:{name}"),
        policy
            .as_ref()
            .map_or_else(|| "removed".to_owned(), UsagePolicy::to_stored),
    );
    let shown = policy.as_ref().map(UsagePolicy::spec);
    let change = PolicyChange {
        key: key_id(state, &name).await?,
        policy,
        at: state.clock.now(),
        actor: invocation.actor.clone(),
    };
    let revision = state.store.set_key_policy(&change, &event).await?;
    state.synced(revision).await;
    Ok(serde_json::json!({ "key": name, "policy": shown }))
}
