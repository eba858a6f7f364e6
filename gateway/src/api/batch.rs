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
#[serde(untagged)]
enum ItemResponse<R> {
    Ok(R),
    Err { error: ItemError },
}

#[derive(Serialize)]
struct BatchResponse<R> {
    results: Vec<ItemResponse<R>>,
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
    R: Serialize,
{
    match shape {
        Shape::Single(item) => {
            let input = parse(item)?;
            let output = engine(vec![input])
                .await?
                .pop()
                .ok_or_else(|| ApiError::internal(&"the engine returned no result"))??;
            Ok(HttpResponse::Ok().json(render(output)))
        }
        Shape::Batch(items) => {
            // Items that fail to parse keep their place as errors; the rest go to the engine.
            let parsed: Vec<Result<I, EngineError>> = items.into_iter().map(parse).collect();
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
            let mut results = Vec::with_capacity(slots.len());
            for slot in slots {
                let result = match slot {
                    Some(parse_error) => parse_error,
                    None => outputs.next().ok_or_else(|| {
                        ApiError::internal(&"the engine returned too few results")
                    })?,
                };
                results.push(match result {
                    Ok(o) => ItemResponse::Ok(render(o)),
                    Err(e) if e.is_user_error() => {
                        let api = ApiError::from(e);
                        ItemResponse::Err {
                            error: ItemError {
                                code: api.code,
                                message: api.message,
                            },
                        }
                    }
                    Err(e) => return Err(e.into()),
                });
            }
            Ok(HttpResponse::Ok().json(BatchResponse { results }))
        }
    }
}
