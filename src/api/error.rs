//! The single map from [`Error`] to HTTP: status code, Tacker's error `type`, and the
//! `{"TackerError": {...}}` envelope. Internal details are logged here and never returned.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::Error;

/// Tacker's body for anything the client cannot fix.
pub const INTERNAL_MESSAGE: &str =
    "Request Failed: internal server error while processing your request.";

impl Error {
    /// Status and Tacker exception name: the api-ref's codes, not Tacker 16.0.0's 500s.
    pub fn status_and_type(&self) -> (StatusCode, &'static str) {
        match self {
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "HTTPBadRequest"),
            Error::BadBody(_) => (StatusCode::BAD_REQUEST, "BadRequest"),
            Error::MalformedBody => (StatusCode::BAD_REQUEST, "MalformedRequestBody"),
            Error::BodyTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "HTTPRequestEntityTooLarge")
            }
            Error::VimNotFound { .. } => (StatusCode::NOT_FOUND, "VimNotFoundException"),
            Error::DuplicateName => (StatusCode::CONFLICT, "DuplicateEntity"),
            Error::DefaultDuplicate { .. } => {
                (StatusCode::CONFLICT, "VimDefaultDuplicateException")
            }
            Error::VimUnauthorized(_) => (StatusCode::BAD_REQUEST, "VimUnauthorizedException"),
            Error::VimConnection(_) => (StatusCode::BAD_GATEWAY, "VimConnectionException"),
            Error::VimKeyNotFound { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "VimKeyNotFoundException")
            }
            Error::DefaultKeyNotFound(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "DefaultVimKeyNotFoundException",
            ),
            Error::RouteNotFound => (StatusCode::NOT_FOUND, "HTTPNotFound"),
            Error::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "HTTPMethodNotAllowed"),
            Error::Timeout => (StatusCode::REQUEST_TIMEOUT, "HTTPRequestTimeout"),
            Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "HTTPInternalServerError"),
        }
    }
}

pub fn envelope(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"TackerError": {"type": kind, "message": message, "detail": ""}})),
    )
        .into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_type();
        if let Error::Internal(err) = &self {
            tracing::error!(error = format!("{err:#}"), "internal error");
            return envelope(status, kind, INTERNAL_MESSAGE);
        }
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        envelope(status, kind, &self.to_string())
    }
}
