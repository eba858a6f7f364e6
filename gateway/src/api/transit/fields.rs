//! A Transit request body, read the way Vault reads one: parameters by name, numbers and booleans
//! also as strings, `null` as absent, and parameters it does not know reported back as a warning
//! rather than refused (Vault clients send fields that some versions do not know).

use actix_web::web;
use kms_engine::EngineError;
use kms_engine::ciphertext::decode_b64;
use serde_json::{Map, Value};

use super::envelope::VaultError;
use crate::error::ApiError;
use crate::state::AppState;

/// A request body of at most `--max-body-bytes`.
pub async fn body(state: &AppState, payload: web::Payload) -> Result<web::Bytes, VaultError> {
    Ok(payload
        .to_bytes_limited(state.limits.body_bytes)
        .await
        .map_err(|_| crate::error::too_large(state.limits.body_bytes))?
        .map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))?)
}

/// The parameters not yet taken; whatever is left at the end was not understood.
pub struct Fields(Map<String, Value>);

fn invalid(name: &str, what: &str) -> EngineError {
    EngineError::InvalidArgument(format!("`{name}` must be {what}"))
}

impl Fields {
    /// Reads a body of at most `--max-body-bytes`; an empty body has no parameters.
    pub async fn read(state: &AppState, payload: web::Payload) -> Result<Self, VaultError> {
        Self::parse(&body(state, payload).await?)
    }

    /// The parameters of a body already read.
    pub fn parse(bytes: &[u8]) -> Result<Self, VaultError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Map::new()));
        }
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(VaultError::bad_request(
                "invalid_json",
                "the body must be a JSON object",
            )),
            Err(e) => Err(VaultError::bad_request("invalid_json", e.to_string())),
        }
    }

    /// A parameter's value, left in place.
    pub fn peek(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name).filter(|v| !v.is_null())
    }

    pub fn string(&mut self, name: &str) -> Result<Option<String>, EngineError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid(name, "a string")),
        }
    }

    /// A base64 parameter, decoded; absent or empty is empty.
    pub fn base64(&mut self, name: &'static str) -> Result<Vec<u8>, EngineError> {
        self.string(name)?
            .map_or_else(|| Ok(Vec::new()), |s| decode_b64(name, &s))
    }

    /// A parameter that may be a string or a number (a duration: `"24h"` or `86400`), as text.
    pub fn text(&mut self, name: &str) -> Result<Option<String>, EngineError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(invalid(name, "a string or a number")),
        }
    }

    pub fn bool(&mut self, name: &str) -> Result<Option<bool>, EngineError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::String(s)) => match s.as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(invalid(name, "a boolean")),
            },
            Some(_) => Err(invalid(name, "a boolean")),
        }
    }

    pub fn uint(&mut self, name: &str) -> Result<Option<u64>, EngineError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| invalid(name, "a number")),
            Some(Value::String(s)) => s.parse().map(Some).map_err(|_| invalid(name, "a number")),
            Some(_) => Err(invalid(name, "a number")),
        }
    }

    /// `batch_input`, if sent: its items (objects), each item's `reference`, and
    /// `partial_failure_response_code`.
    pub fn batch(&mut self, state: &AppState) -> Result<Option<Batch>, VaultError> {
        let Some(input) = self.take("batch_input") else {
            return Ok(None);
        };
        let Value::Array(input) = input else {
            return Err(invalid("batch_input", "a list of objects").into());
        };
        if input.is_empty() {
            return Err(VaultError::bad_request(
                "invalid_request",
                "missing batch input to process",
            ));
        }
        if input.len() > state.limits.batch_items {
            return Err(VaultError::bad_request(
                "batch_too_large",
                format!("at most {} items per request", state.limits.batch_items),
            ));
        }
        let mut items = Vec::with_capacity(input.len());
        let mut references = Vec::with_capacity(input.len());
        for item in input {
            let Value::Object(mut map) = item else {
                return Err(invalid("batch_input", "a list of objects").into());
            };
            references.push(map.remove("reference"));
            items.push(Fields(map));
        }
        let partial_code = self.uint("partial_failure_response_code")?;
        Ok(Some(Batch {
            items,
            references,
            partial_code,
        }))
    }

    /// Vault's warning for parameters it ignored, if any were sent.
    pub fn warnings(&self) -> Vec<String> {
        if self.0.is_empty() {
            return Vec::new();
        }
        let names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        vec![format!(
            "Endpoint ignored these unrecognized parameters: [{}]",
            names.join(" ")
        )]
    }
}

/// A `batch_input` request.
pub struct Batch {
    pub items: Vec<Fields>,
    /// Each item's `reference`, echoed in its result.
    pub references: Vec<Option<Value>>,
    /// The status for a batch where some items failed and some succeeded (Vault's
    /// `partial_failure_response_code`); 400 otherwise.
    pub partial_code: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        match v {
            Value::Object(m) => Fields(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn values_are_read_leniently_and_leftovers_are_warnings() {
        let mut f = fields(json!({
            "bits": "256", "exportable": "true", "derived": false, "context": null,
            "plaintext": "aGk", "mystery": 1
        }));
        assert_eq!(f.uint("bits").unwrap(), Some(256));
        assert_eq!(f.bool("exportable").unwrap(), Some(true));
        assert_eq!(f.bool("derived").unwrap(), Some(false));
        assert_eq!(f.string("context").unwrap(), None);
        assert_eq!(f.base64("plaintext").unwrap(), b"hi");
        let mut d = fields(json!({ "a": "24h", "b": 3600, "c": [] }));
        assert_eq!(d.text("a").unwrap().as_deref(), Some("24h"));
        assert_eq!(d.text("b").unwrap().as_deref(), Some("3600"));
        assert!(d.text("c").is_err());
        assert_eq!(
            f.warnings(),
            ["Endpoint ignored these unrecognized parameters: [mystery]"]
        );
        assert!(fields(json!({"bits": true})).uint("bits").is_err());
        assert!(
            fields(json!({"plaintext": "!!"}))
                .base64("plaintext")
                .is_err()
        );
    }
}
