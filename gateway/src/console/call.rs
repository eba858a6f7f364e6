//! Calling the API's own handlers in process: the console's pages are their clients, with the
//! person's session (see `cookie::bearer`), so every rule and audit record is theirs.

use actix_web::HttpResponse;
use actix_web::body::to_bytes;
use actix_web::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// A handler's answer as its status and JSON body (`null` for an empty one), or its refusal.
pub async fn json(answer: Result<HttpResponse, ApiError>) -> Result<(StatusCode, Value), ApiError> {
    let response = answer?;
    let status = response.status();
    let bytes = to_bytes(response.into_body())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if bytes.is_empty() {
        return Ok((status, Value::Null));
    }
    let value = serde_json::from_slice(&bytes).map_err(|e| ApiError::internal(&e))?;
    Ok((status, value))
}

/// A handler's request body built from the form's fields, so that it is checked by the
/// handler's own rules (unknown fields refused as over the wire).
pub fn body<T: DeserializeOwned>(fields: Value) -> Result<T, ApiError> {
    serde_json::from_value(fields)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("invalid request: {e}")))
}
