//! Vault's response envelope and error shape. A success is
//! `{"request_id","lease_id":"","renewable":false,"lease_duration":0,"data","wrap_info",
//! "warnings","auth"}`, as OpenBao answers (Vault adds `mount_type`; clients ignore it); an error is
//! `{"errors":["<code>: <message>"]}`, where `<code>` is the same stable code the native API
//! answers with (docs/api.md), so clients can still branch on it.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use kms_engine::EngineError;
use serde_json::{Value, json};

use crate::error::ApiError;

/// An [`ApiError`] rendered the way Vault renders errors.
#[derive(Debug)]
pub struct VaultError(pub ApiError);

impl VaultError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self(ApiError::bad_request(code, message))
    }

    /// The one line Vault clients see in `errors`.
    pub fn line(&self) -> String {
        line(&self.0)
    }
}

/// `<code>: <message>`: how an error reads in `errors` and in a batch item's `error`.
pub fn line(e: &ApiError) -> String {
    format!("{}: {}", e.code, e.message)
}

impl From<ApiError> for VaultError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<kms_control::error::ControlError> for VaultError {
    fn from(e: kms_control::error::ControlError) -> Self {
        Self(e.into())
    }
}

impl From<EngineError> for VaultError {
    fn from(e: EngineError) -> Self {
        Self(e.into())
    }
}

impl std::fmt::Display for VaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for VaultError {
    fn status_code(&self) -> StatusCode {
        // Vault answers a missing or unknown token with 403 ("permission denied"), not 401.
        if self.0.status == StatusCode::UNAUTHORIZED {
            StatusCode::FORBIDDEN
        } else {
            self.0.status
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(secs) = self.0.retry_after {
            response.insert_header((RETRY_AFTER, HeaderValue::from(secs)));
        }
        response.json(json!({ "errors": [self.line()] }))
    }
}

/// A random version-4 UUID, Vault's `request_id`, appended to `out`.
fn write_request_id(out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = [0u8; 16];
    rand::fill(&mut b[..]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[usize::from(byte >> 4)]);
        out.push(HEX[usize::from(byte & 0x0f)]);
    }
}

/// A random version-4 UUID, Vault's `request_id`.
fn request_id() -> String {
    let mut out = Vec::with_capacity(36);
    write_request_id(&mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// A 200 whose `data` object's members `write_data` writes (JSON, without the braces): the
/// envelope written straight into the body, for the hot path (Transit's single encrypt), where
/// building `serde_json::Value`s costs more than the encryption.
pub fn ok_written(write_data: impl FnOnce(&mut Vec<u8>)) -> HttpResponse {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"request_id\":\"");
    write_request_id(&mut out);
    out.extend_from_slice(
        b"\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,\"data\":{",
    );
    write_data(&mut out);
    out.extend_from_slice(b"},\"wrap_info\":null,\"warnings\":null,\"auth\":null}");
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .content_type(actix_web::http::header::ContentType::json())
        .body(out)
}

/// The envelope around `data`, with `status` (200, or Vault's 400 for a batch with failed items).
pub fn respond(status: StatusCode, data: Value, warnings: Vec<String>) -> HttpResponse {
    HttpResponse::build(status)
        // As Vault: answers may hold plaintext, which no cache should keep.
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(json!({
            "request_id": request_id(),
            "lease_id": "",
            "renewable": false,
            "lease_duration": 0,
            "data": data,
            "wrap_info": null,
            "warnings": if warnings.is_empty() { Value::Null } else { json!(warnings) },
            "auth": null,
        }))
}

pub fn ok(data: Value, warnings: Vec<String>) -> HttpResponse {
    respond(StatusCode::OK, data, warnings)
}

/// For paths under the mount that match no endpoint: Vault's 404 has an empty `errors`.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "errors": [] }))
}

/// Vault answers 404 only to a read of a missing key; every other call on a missing key is a 400
/// (clients map the two to different exceptions). The code stays `key_not_found`.
pub fn missing_is_400(e: ApiError) -> ApiError {
    if e.status == StatusCode::NOT_FOUND && e.code == "key_not_found" {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            ..e
        }
    } else {
        e
    }
}

impl VaultError {
    /// [`missing_is_400`] for a Transit error.
    pub fn missing_is_400(self) -> Self {
        Self(missing_is_400(self.0))
    }
}

/// For endpoints that do not take the request's method.
pub async fn method_not_allowed() -> Result<HttpResponse, VaultError> {
    Err(VaultError(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "unsupported operation",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_envelope_is_the_json_one() {
        use actix_web::body::MessageBody;
        let written = ok_written(|out| out.extend_from_slice(b"\"n\":1"));
        let body = written.into_body().try_into_bytes().unwrap();
        let mut got: Value = serde_json::from_slice(&body).unwrap();
        let built = ok(json!({ "n": 1 }), Vec::new());
        let mut want: Value =
            serde_json::from_slice(&built.into_body().try_into_bytes().unwrap()).unwrap();
        got["request_id"] = Value::Null;
        want["request_id"] = Value::Null;
        assert_eq!(got, want);
    }

    #[test]
    fn request_ids_are_version_4_uuids() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!("89ab".contains(&id[19..20]), "{id}");
        assert_ne!(id, request_id());
    }

    #[test]
    fn an_unknown_token_is_vaults_403_with_the_code_in_errors() {
        let e = VaultError(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "unknown or revoked token",
        ));
        assert_eq!(e.status_code(), StatusCode::FORBIDDEN);
        assert_eq!(e.line(), "invalid_token: unknown or revoked token");
    }
}
