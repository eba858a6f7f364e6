//! `POST /v1/sys/unseal` `{"share":"..."}` (or `{"reset":true}`) → the seal status. Each
//! custodian submits one share; the HSM unseals when the threshold is reached.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::audit::Outcome;
use kms_engine::secret::SecretString;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    share: Option<String>,
    #[serde(default)]
    reset: bool,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let Request { share, reset } = body.into_inner();
    let share = share.map(SecretString::new);
    // Anyone may reset (reset_throttle.rs), so a reset is throttled.
    let throttled = if reset {
        state
            .unseal_reset
            .take(u64::try_from(state.clock.now().millis()).unwrap_or(0))
            .err()
    } else {
        None
    };
    let st = state.clone().into_inner();
    let result = state
        .io(async move {
            if let Some(retry_after) = throttled {
                let mut e = ApiError::new(
                    actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                    "unseal_reset_throttled",
                    "the unseal progress was reset less than a minute ago; try again later",
                );
                e.retry_after = Some(retry_after);
                return Err(e);
            }
            Ok(match (share, reset) {
                (_, true) => st.control.hsm.reset_unseal().await?,
                (Some(share), false) => st.control.hsm.submit_share(share).await?,
                (None, false) => {
                    return Err(ApiError::bad_request(
                        "invalid_request",
                        "send `share`, or `reset: true`",
                    ));
                }
            })
        })
        .await;
    // Every unseal attempt is audited: who tried, and whether it worked (never the share).
    let outcome = if result.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    let mut event = state.event("anonymous".into(), "unseal", None, outcome);
    event.remote = crate::auth::remote(&state, &req).map(|ip| ip.to_string());
    match &result {
        Ok(status) => {
            event.detail = Some(format!(
                "progress={} sealed={}",
                status.progress, status.sealed
            ));
        }
        Err(e) => event.code = Some(e.code.to_owned()),
    }
    state.audit.record(event).await;
    Ok(HttpResponse::Ok().json(result?))
}
