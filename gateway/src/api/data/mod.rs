//! Data-plane endpoints: what applications call, under `/v1/keys/{name}/`, and `/v1/random`.
//! Each file declares its request; this module runs it: the grant, whether the key's algorithm
//! can do it, the batch, the crypto workers, and one rendering of every kind of result.

pub mod datakey;
pub mod decrypt;
pub mod encrypt;
pub mod hmac;
pub mod hmac_verify;
pub mod public_key;
pub mod random;
pub mod rewrap;
pub mod sign;
pub mod verify;

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::{decode_b64, encode_b64};
use kms_engine::crypto::SignScheme;
use kms_engine::keyring::Purpose;
use kms_engine::pool::{Done, Item};

use crate::api::batch::{self, JsonOut, Shape};
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

/// The optional base64 `context` of an item; absent means empty.
fn context(field: Option<String>) -> Result<Vec<u8>, EngineError> {
    field.map_or_else(|| Ok(Vec::new()), |c| decode_b64("context", &c))
}

/// The optional `scheme` of a sign or verify item.
fn scheme(field: Option<&str>) -> Result<Option<SignScheme>, EngineError> {
    field.map(SignScheme::parse).transpose()
}

/// Every kind of result, as it goes out in JSON. Its strings are all made by the KMS: `kms:`
/// headers with base64 bodies, and base64 (see [`JsonOut`]).
// Serialize only for the test that checks `write_json` against serde_json.
#[cfg_attr(test, derive(serde::Serialize))]
#[cfg_attr(test, serde(untagged))]
enum Rendered {
    Ciphertext {
        ciphertext: String,
        key_version: u32,
        #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
        plaintext: Option<String>,
    },
    Plaintext {
        plaintext: String,
    },
    Signature {
        signature: String,
        key_version: u32,
    },
    Hmac {
        hmac: String,
        key_version: u32,
    },
    Valid {
        valid: bool,
    },
}

impl JsonOut for Rendered {
    fn write_json(&self, out: &mut Vec<u8>) {
        // Strings from the KMS's own alphabet: quoted as they are (see `JsonOut`).
        fn field(out: &mut Vec<u8>, first: bool, name: &str, value: &str) {
            out.extend_from_slice(if first { b"{\"" } else { b",\"" });
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":\"");
            out.extend_from_slice(value.as_bytes());
            out.push(b'"');
        }
        fn version(out: &mut Vec<u8>, v: u32) {
            out.extend_from_slice(b",\"key_version\":");
            out.extend_from_slice(v.to_string().as_bytes());
        }
        match self {
            Rendered::Ciphertext {
                ciphertext,
                key_version,
                plaintext,
            } => {
                field(out, true, "ciphertext", ciphertext);
                version(out, *key_version);
                if let Some(p) = plaintext {
                    field(out, false, "plaintext", p);
                }
            }
            Rendered::Plaintext { plaintext } => field(out, true, "plaintext", plaintext),
            Rendered::Signature {
                signature,
                key_version,
            } => {
                field(out, true, "signature", signature);
                version(out, *key_version);
            }
            Rendered::Hmac { hmac, key_version } => {
                field(out, true, "hmac", hmac);
                version(out, *key_version);
            }
            Rendered::Valid { valid } => {
                out.extend_from_slice(if *valid {
                    b"{\"valid\":true"
                } else {
                    b"{\"valid\":false"
                });
            }
        }
        out.push(b'}');
    }
}

fn render(done: Done) -> Rendered {
    match done {
        Done::Ciphertext {
            ciphertext,
            version,
        } => Rendered::Ciphertext {
            ciphertext,
            key_version: version.get(),
            plaintext: None,
        },
        Done::Plaintext { plaintext, .. } => Rendered::Plaintext {
            plaintext: encode_b64(&plaintext),
        },
        Done::DataKey {
            ciphertext,
            version,
            plaintext,
        } => Rendered::Ciphertext {
            ciphertext,
            key_version: version.get(),
            plaintext: plaintext.map(|p| encode_b64(&p)),
        },
        Done::Signature { signature, version } => Rendered::Signature {
            signature,
            key_version: version.get(),
        },
        Done::Hmac { hmac, version } => Rendered::Hmac {
            hmac,
            key_version: version.get(),
        },
        Done::Valid { valid, .. } => Rendered::Valid { valid },
        // Password items never come from these endpoints (`run` refuses password keys); if one
        // did, it would render as the nearest shape, never with a password in it.
        Done::Protected { protected, version } => Rendered::Ciphertext {
            ciphertext: protected,
            key_version: version.get(),
            plaintext: None,
        },
        Done::PasswordMatch { matched, .. } => Rendered::Valid { valid: matched },
    }
}

/// Runs one data-plane request: the caller's grant for `op` on the key, the algorithm's support
/// for it, then each item through the crypto workers.
pub async fn run<T>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    name: &str,
    op: Operation,
    shape: Shape<T>,
    parse: impl Fn(T) -> Result<Item, EngineError>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let items = match &shape {
        Shape::Single(_) => 1,
        Shape::Batch(items) => items.len(),
    };
    let mut known = false;
    let result = async {
        let (caller, key) = auth::authorize_key_n(state, req, name, op, items).await?;
        known = true;
        // A password key's private half decrypts passwords only, through /v1/passwords.
        if !key.algorithm.supports(op) || key.settings.purpose != Purpose::General {
            return Err(EngineError::OperationNotSupported(op.name()).into());
        }
        let who = caller.actor_shared();
        batch::run(
            shape,
            parse,
            |items| state.pool.run_coalesced(key, who, items),
            render,
        )
        .await
    }
    .await;
    let outcome = result.as_ref().map_or_else(|e| e.code, |_| "ok");
    crate::metrics::request(op, if known { name } else { "" }, outcome, items, started);
    result
}

/// Single or batch, from a body's top-level item (if any of its fields were sent) and `items`.
pub fn shape<T>(
    state: &AppState,
    single: Option<T>,
    items: Option<Vec<T>>,
    stray: bool,
    required: &'static str,
) -> Result<Shape<T>, ApiError> {
    batch::shape(single, items, stray, required, &state.limits)
}

/// A handler's signature, for the route table.
pub type Path = web::Path<String>;

/// The body of `decrypt` and `rewrap`: a ciphertext and its context, or `items` of those.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiphertextRequest {
    ciphertext: Option<String>,
    context: Option<String>,
    items: Option<Vec<CiphertextItem>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiphertextItem {
    ciphertext: String,
    context: Option<String>,
}

/// Runs `decrypt` or `rewrap`: `make` turns a ciphertext and its context into the work item.
pub async fn ciphertext_op(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    name: &str,
    body: CiphertextRequest,
    op: Operation,
    make: fn(String, Vec<u8>) -> Item,
) -> Result<HttpResponse, ApiError> {
    let stray = body.items.is_some() && body.context.is_some();
    let single = body.ciphertext.map(|ciphertext| CiphertextItem {
        ciphertext,
        context: body.context,
    });
    let shape = shape(state, single, body.items, stray, "ciphertext")?;
    run(state, req, name, op, shape, |item| {
        Ok(make(item.ciphertext, context(item.context)?))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `write_json` writes is what serde_json would have written, for every kind of result.
    #[test]
    fn hand_written_json_matches_serde() {
        let ct =
            "kms:00007:tSPnMN+OEXgMiMdbehi6H1kg0/zm4/Aiith2qc+Xn2E9htaeRKL2ewT/BmA=".to_owned();
        let all = [
            Rendered::Ciphertext {
                ciphertext: ct.clone(),
                key_version: 7,
                plaintext: None,
            },
            Rendered::Ciphertext {
                ciphertext: ct.clone(),
                key_version: 4_294_967_295,
                plaintext: Some("q0vJ7m5d8x+/=".into()),
            },
            Rendered::Plaintext {
                plaintext: "NDExMTExMTExMTExMTExMQ==".into(),
            },
            Rendered::Signature {
                signature: ct.clone(),
                key_version: 1,
            },
            Rendered::Hmac {
                hmac: ct,
                key_version: 2,
            },
            Rendered::Valid { valid: true },
            Rendered::Valid { valid: false },
        ];
        for r in all {
            let mut out = Vec::new();
            r.write_json(&mut out);
            let ours: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(ours, serde_json::to_value(&r).unwrap());
        }
    }
}
