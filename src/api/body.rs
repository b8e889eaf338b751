//! The request body as Tacker reads it: optional, JSON, whatever its `Content-Type`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value;

use crate::error::Error;

/// A JSON body, or `None` for an empty one (or `null`), which Tacker treats as "no body".
pub struct JsonBody(pub Option<Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.into_response().status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::BodyTooLarge {
                    limit: limit.unwrap_or_default(),
                }
            } else {
                Error::MalformedBody
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Null) => Ok(Self(None)),
            Ok(value) => Ok(Self(Some(value))),
            Err(_) => Err(Error::MalformedBody),
        }
    }
}

/// The configured body limit, for the 413 message.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);
