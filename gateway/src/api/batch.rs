//! Single and batch requests share one path: a request is either one item (fields at the top
//! level) or `{"items":[...]}`, answered by `{"results":[...]}` in the same order. In a batch a
//! user error is that item's result; an internal error fails the whole request.

use std::future::Future;

use actix_web::HttpResponse;
use kms_engine::EngineError;
use serde::Serialize;

use crate::error::ApiError;
use crate::state::Limits;

pub enum Shape<T> {
    Single(T),
    Batch(Vec<T>),
}

/// Decides the request's shape. `single` is the item built from top-level fields, if its
/// required field was sent; `stray_top_level` is true when other top-level item fields came along
/// with `items`.
pub fn shape<T>(
    single: Option<T>,
    items: Option<Vec<T>>,
    stray_top_level: bool,
    required: &'static str,
    limits: &Limits,
) -> Result<Shape<T>, ApiError> {
    match (single, items) {
        (None, Some(items)) if !stray_top_level => {
            if items.is_empty() {
                Err(ApiError::bad_request("invalid_request", "`items` is empty"))
            } else if items.len() > limits.batch_items {
                Err(ApiError::bad_request(
                    "batch_too_large",
                    format!("at most {} items per request", limits.batch_items),
                ))
            } else {
                Ok(Shape::Batch(items))
            }
        }
        (Some(item), None) => Ok(Shape::Single(item)),
        (None, None) if !stray_top_level => Err(ApiError::bad_request(
            "invalid_request",
            format!("`{required}` is required (or `items` for a batch)"),
        )),
        _ => Err(ApiError::bad_request(
            "invalid_request",
            "send either one item's fields or `items`, not both",
        )),
    }
}

/// An item's error, shaped like a whole request's: `{"error":{"code","message"}}`.
#[derive(Serialize)]
struct ItemError {
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct ItemResponse {
    error: ItemError,
}

/// A result that writes its own JSON. Serialising 100 ciphertexts through serde_json's string
/// escaping cost 8% of the CPU of a batch request, so results write themselves: every string in
/// them is made by the KMS from an alphabet that never needs escaping (`kms:NNNNN:` headers and
/// base64), which `write_json` may rely on. Errors, whose messages can hold anything, still go
/// through serde_json.
pub trait JsonOut {
    fn write_json(&self, out: &mut Vec<u8>);
}

fn json_response(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// Each parsed item's outcome, in order: items that failed to parse keep their place as errors;
/// the rest go to `engine` in one job. An error of the whole job (not an item's) is returned.
pub async fn outcomes<I, O, F, Fut>(
    parsed: Vec<Result<I, EngineError>>,
    engine: F,
) -> Result<Vec<Result<O, EngineError>>, ApiError>
where
    F: FnOnce(Vec<I>) -> Fut,
    Fut: Future<Output = Result<Vec<Result<O, EngineError>>, EngineError>>,
{
    let mut inputs = Vec::new();
    let mut slots = Vec::with_capacity(parsed.len());
    for p in parsed {
        match p {
            Ok(input) => {
                inputs.push(input);
                slots.push(None);
            }
            Err(e) => slots.push(Some(Err(e))),
        }
    }
    let mut outputs = if inputs.is_empty() {
        Vec::new()
    } else {
        engine(inputs).await?
    }
    .into_iter();
    slots
        .into_iter()
        .map(|slot| match slot {
            Some(parse_error) => Ok(parse_error),
            None => outputs
                .next()
                .ok_or_else(|| ApiError::internal(&"the engine returned too few results")),
        })
        .collect()
}

/// Parses each item, hands the valid ones to `engine` in one job, and renders the answer.
pub async fn run<T, I, O, R, F, Fut>(
    shape: Shape<T>,
    parse: impl Fn(T) -> Result<I, EngineError>,
    engine: F,
    render: impl Fn(O) -> R,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(Vec<I>) -> Fut,
    Fut: Future<Output = Result<Vec<Result<O, EngineError>>, EngineError>>,
    R: JsonOut,
{
    match shape {
        Shape::Single(item) => {
            let input = parse(item)?;
            let output = engine(vec![input])
                .await?
                .pop()
                .ok_or_else(|| ApiError::internal(&"the engine returned no result"))??;
            let mut body = Vec::with_capacity(128);
            render(output).write_json(&mut body);
            Ok(json_response(body))
        }
        Shape::Batch(items) => {
            let results = outcomes(items.into_iter().map(parse).collect(), engine).await?;
            let mut body = Vec::with_capacity(64 + 128 * results.len());
            body.extend_from_slice(b"{\"results\":[");
            for (i, result) in results.into_iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                match result {
                    Ok(o) => render(o).write_json(&mut body),
                    Err(e) if e.is_user_error() => {
                        let api = ApiError::from(e);
                        let item = ItemResponse {
                            error: ItemError {
                                code: api.code,
                                message: api.message,
                            },
                        };
                        serde_json::to_writer(&mut body, &item)
                            .map_err(|e| ApiError::internal(&e))?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            body.extend_from_slice(b"]}");
            Ok(json_response(body))
        }
    }
}
