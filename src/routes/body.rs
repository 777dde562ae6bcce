//! JSON request bodies with errors that say what is wrong (the default extractor's messages are vague).

use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::startup::AppState;

/// Parses a JSON body; a syntax or type error is a 400 naming the line, column and problem.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request("invalid_body", format!("invalid JSON body: {e}")))
}

/// Reads a request body of at most `http.max_body_bytes` (a chunked body included) within
/// `http.body_timeout_seconds`: larger bodies are a 413, slower ones a 408, so a slow sender holds nothing for long.
pub async fn read_limited(
    payload: actix_web::web::Payload,
    state: &AppState,
) -> Result<actix_web::web::Bytes, ApiError> {
    let seconds = state.body_timeout.as_secs();
    tokio::time::timeout(state.body_timeout, read_at_most(payload, state.max_body_bytes))
        .await
        .map_err(|_| ApiError::RequestTimeout(seconds))?
}

async fn read_at_most(mut payload: actix_web::web::Payload, limit: usize) -> Result<actix_web::web::Bytes, ApiError> {
    use futures_util::StreamExt as _;
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("invalid_body", format!("cannot read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
