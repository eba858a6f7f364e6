//! `POST /v1/admin/users` `{"name","password","roles":[...]}` → 201 `{"user","totp_secret",
//! "totp_uri"}`. The TOTP secret is shown once (the store keeps it sealed under an HSM-wrapped
//! key); the password is kept as an argon2id hash and must be at least 12 characters.
//!
//! A user may not create an administrator directly: create the account with other roles (or
//! none), then request the roles, which needs approval. The root token may (bootstrap).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::directory::Principal;
use kms_engine::people::{LoginState, UserRecord};
use kms_engine::secret::SecretString;
use serde::{Deserialize, Serialize};

use super::{UserView, check_name, parse_roles};
use crate::api::admin::{run, success};
use crate::error::ApiError;
use crate::state::AppState;
use crate::{auth, custodians, system_keys, totp};

pub const MIN_PASSWORD: usize = 12;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    name: String,
    password: String,
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Serialize)]
struct Response {
    user: UserView,
    /// Base32, for an authenticator app; shown once.
    totp_secret: String,
    totp_uri: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.into_inner();
    let target = format!("user:{}", body.name);
    let caller = auth::require_admin(&state, &req, "create_user", Some(target.clone())).await?;
    check_name(&body.name)?;
    let roles = parse_roles(&body.roles)?;
    if body.password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::bad_request(
            "weak_password",
            format!("a password has at least {MIN_PASSWORD} characters"),
        ));
    }
    if roles.iter().any(|r| r.is_administrator())
        && !matches!(caller.principal(), Principal::Root { .. })
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "approval_required",
            "create the user without administrator roles, then request them with \
             POST /v1/admin/users/{name}/roles (which needs approval)",
        ));
    }
    let password = SecretString::new(std::mem::take(&mut body.password));
    let mut event = success(&state, &caller, "create_user", target.clone());
    event.detail = Some(format!("roles={}", roles.to_csv()));
    let name = body.name;
    let response = run(
        &state,
        &caller,
        "create_user",
        target,
        move |st| async move {
            let password_hash =
                tokio::task::spawn_blocking(move || custodians::hash_password(password.expose()))
                    .await
                    .map_err(|e| ApiError::internal(&e))?
                    .map_err(|e| ApiError::internal(&e))?;
            let secret = totp::generate_secret();
            let user = UserRecord {
                name: name.clone(),
                roles,
                password_hash,
                totp_sealed: system_keys::seal_totp(&st, &name, &secret).await?,
                login: LoginState::default(),
                disabled: false,
                created_at: st.clock.now(),
            };
            st.store.create_user(&user, &event).await?;
            Ok(Response {
                user: UserView::from(&user),
                totp_secret: totp::base32(&secret),
                totp_uri: totp::uri("kms", &name, &secret),
            })
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(response))
}
