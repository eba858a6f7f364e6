//! `POST /v1/hsm/ceremonies/{id}/approve` (custodian) `{"component":"<64 hex digits>"?}` →
//! `{"ceremony","component_kcv"}`; the approval that meets the quorum also runs the operation and
//! gets `"result"`, plus, for `create`, the unseal shares (software HSM) and the root token:
//! shown once, to that approver only.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_hsm::components;
use serde::Deserialize;
use serde_json::json;

use super::{audit_step, custodian};
use crate::ceremony::Approved;
use crate::error::ApiError;
use crate::master_keys;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    component: Option<String>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let target = format!("ceremony:{id}");
    let who = custodian(&state, &req, "ceremony_approve", Some(target.clone())).await?;
    let component = body
        .into_inner()
        .component
        .map(|c| components::parse(&c))
        .transpose()?;
    let (approved, kcv) = state
        .ceremonies
        .approve(&id, &who, component, state.clock.as_ref())?;
    audit_step(
        &state,
        &who,
        &req,
        "ceremony_approve",
        target,
        kcv.as_ref().map(|k| format!("component kcv={k}")),
    )
    .await;
    let kcv = kcv.map(|k| k.to_string());
    match approved {
        Approved::Pending(view) => Ok(HttpResponse::Ok().json(json!({
            "ceremony": view,
            "component_kcv": kcv,
        }))),
        Approved::Ready {
            plan,
            components,
            approvers,
        } => {
            let st = state.clone().into_inner();
            let ceremony = id.clone();
            let outcome = state
                .io(async move {
                    master_keys::execute(&st, &ceremony, &plan, components, &approvers).await
                })
                .await;
            match outcome {
                Ok(done) => {
                    let view = state.ceremonies.finish(&id, Ok(done.result.clone()))?;
                    Ok(HttpResponse::Ok().json(json!({
                        "ceremony": view,
                        "component_kcv": kcv,
                        "result": done.result,
                        "shares": done.shares.iter().map(|s| s.expose()).collect::<Vec<_>>(),
                        "root_token": done.root_token.as_ref().map(|t| t.expose()),
                    })))
                }
                Err(e) => {
                    state.ceremonies.finish(&id, Err(&e))?;
                    Err(e)
                }
            }
        }
    }
}
