//! `POST /v1/auth/login` `{"user","password","totp"}` → `{"token","expires_at","user","roles"}`.
//!
//! Every admin login needs the second factor. A wrong name, password or code answers the same
//! 401 `invalid_credentials`; after `max_failed_logins` consecutive failures the account is
//! locked (423 `account_locked`) for `lockout`, even for the right password. A TOTP code works
//! once. Every attempt is audited.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::audit::Outcome;
use kms_engine::clock::Timestamp;
use kms_engine::people::{LoginState, Session};
use kms_engine::secret::SecretString;
use kms_engine::store::StoreError;
use kms_engine::token::{self, TokenHash};
use serde::{Deserialize, Serialize};

use crate::api::admin::users;
use crate::error::ApiError;
use crate::state::AppState;
use crate::{custodians, system_keys, totp};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    user: String,
    password: String,
    totp: String,
}

#[derive(Serialize)]
struct Response {
    token: String,
    expires_at: String,
    user: String,
    roles: Vec<&'static str>,
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn invalid() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "unknown user, wrong password or wrong TOTP code",
    )
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let remote = req.peer_addr().map(|a| a.ip().to_string());
    let name = body.user.clone();
    let st = state.clone().into_inner();
    let outcome = state
        .io(async move { attempt(&st, body, remote).await })
        .await;
    match outcome {
        Ok(response) => Ok(HttpResponse::Ok().json(response)),
        Err(e) => {
            tracing::info!(user = %name, code = e.code, "login refused");
            Err(e)
        }
    }
}

async fn attempt(
    state: &AppState,
    mut body: Request,
    remote: Option<String>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let user = state.store.user(&body.user).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = SecretString::new(std::mem::take(&mut body.password));
    let password_ok = tokio::task::spawn_blocking(move || {
        custodians::verify_password(hash.as_deref(), password.expose())
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    // A name that could not be a user's (any length, any bytes) is not copied into the log.
    let actor = if users::check_name(&body.user).is_ok() {
        format!("user:{}", body.user)
    } else {
        "anonymous".to_owned()
    };
    let audit = |outcome: Outcome, code: Option<&str>, detail: Option<String>| {
        let mut event = state.event(actor.clone(), "login", None, outcome);
        event.remote.clone_from(&remote);
        event.code = code.map(str::to_owned);
        event.detail = detail;
        event
    };
    let Some(user) = user else {
        state
            .audit
            .record(audit(Outcome::Denied, Some("invalid_credentials"), None))
            .await;
        return Err(invalid());
    };
    if user.disabled {
        state
            .audit
            .record(audit(Outcome::Denied, Some("account_disabled"), None))
            .await;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "this account is disabled",
        ));
    }
    if let Some(until) = user.login.locked_until.filter(|u| now < *u) {
        state
            .audit
            .record(audit(Outcome::Denied, Some("account_locked"), None))
            .await;
        return Err(ApiError::new(
            StatusCode::LOCKED,
            "account_locked",
            format!("too many failed logins: locked until {}", until.rfc3339()),
        ));
    }
    let step = if password_ok {
        let secret = system_keys::open_totp(state, &user.name, &user.totp_sealed).await?;
        totp::verify(
            &secret,
            body.totp.trim(),
            now.millis(),
            user.login.totp_last_step,
        )
    } else {
        None
    };
    let Some(step) = step else {
        let failed = user.login.failed_logins + 1;
        let lock = failed >= state.access.max_failed_logins;
        let login = LoginState {
            failed_logins: if lock { 0 } else { failed },
            locked_until: lock
                .then(|| Timestamp::from_millis(now.millis() + millis(state.access.lockout))),
            totp_last_step: user.login.totp_last_step,
        };
        let detail = Some(if lock {
            format!("failure {failed}: account locked")
        } else {
            format!("failure {failed}")
        });
        let event = audit(Outcome::Denied, Some("invalid_credentials"), detail);
        state
            .store
            .record_login(&user.name, &login, None, &event)
            .await?;
        return Err(invalid());
    };
    let token = token::generate();
    let session = Session {
        hash: TokenHash::of(token.expose()),
        user: user.name.clone(),
        created_at: now,
        expires_at: Timestamp::from_millis(now.millis() + millis(state.access.session_ttl)),
    };
    let login = LoginState {
        failed_logins: 0,
        locked_until: None,
        totp_last_step: step,
    };
    let event = audit(Outcome::Success, None, None);
    match state
        .store
        .record_login(&user.name, &login, Some(&session), &event)
        .await
    {
        Ok(revision) => state.synced(revision).await,
        // A concurrent login used the same code first.
        Err(StoreError::Conflict(_)) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    }
    Ok(Response {
        token: token.expose().to_owned(),
        expires_at: session.expires_at.rfc3339(),
        user: user.name,
        roles: user.roles.names(),
    })
}
