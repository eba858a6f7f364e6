//! `POST /v1/hsm/ceremonies` (custodian) `{"operation":"create|rotate|load|destroy",
//! "source":"generate|components","components":3,"shares":5,"threshold":3,"master_key_id":"mk-…"}`
//! → `201` the ceremony, waiting for approvals.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{audit_step, custodian, user_custodians};
use crate::ceremony::{Plan, StartRequest};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<StartRequest>,
) -> Result<HttpResponse, ApiError> {
    let who = custodian(&state, &req, "ceremony_start", None).await?;
    let plan = Plan::from_request(body.into_inner())?;
    let op = plan.op;
    let users = user_custodians(&state).await?;
    let view = state
        .ceremonies
        .start(plan, &who, &users, state.clock.as_ref())?;
    audit_step(
        &state,
        &who,
        &req,
        "ceremony_start",
        format!("ceremony:{}", view.id),
        Some(format!("operation={}", op.action())),
    )
    .await;
    Ok(HttpResponse::Created().json(view))
}
