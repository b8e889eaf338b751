//! HTTP: routes, the middleware every request passes, and the mapping of errors to Tacker's
//! envelope. Handlers parse and render; the `vims` domain does the rest.

mod body;
pub mod error;
mod versions;
mod vims;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::AppState;
use crate::error::Error;
use body::BodyLimit;

pub const REQUEST_ID_HEADER: &str = "x-openstack-request-id";

/// Every (method, path) the service serves, in axum's path syntax: the contract test checks
/// openapi.yaml against this table.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/v1.0/vims"),
    ("POST", "/v1.0/vims"),
    ("GET", "/v1.0/vims.json"),
    ("POST", "/v1.0/vims.json"),
    ("GET", "/v1.0/vims/{vim_id}"),
    ("PUT", "/v1.0/vims/{vim_id}"),
    ("DELETE", "/v1.0/vims/{vim_id}"),
];

/// The whole application, ready to serve or to drive in-process.
pub fn build_app(state: AppState) -> Router {
    let config = state.config.clone();
    Router::new()
        .route("/", get(versions::show_versions))
        .merge(vims::router())
        .fallback(|| async { Error::RouteNotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(config.max_request_body_size))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked");
                error::envelope(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "HTTPInternalServerError",
                    error::INTERNAL_MESSAGE,
                )
            },
        ))
        .layer(middleware::from_fn_with_state(
            (config.request_timeout, config.max_request_body_size),
            limit_time,
        ))
        .layer(middleware::from_fn(observe))
        .with_state(state)
}

/// Answers 408 in Tacker's envelope when a request runs past `[DEFAULT] api_request_timeout`.
/// Writing flows run in their own tasks, so what they started still finishes consistently.
async fn limit_time(
    State((timeout, body_limit)): State<(Duration, usize)>,
    mut request: Request,
    next: Next,
) -> Response {
    request.extensions_mut().insert(BodyLimit(body_limit));
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Timeout.into_response(),
    }
}

/// One log line per request, and `X-Openstack-Request-Id: req-<uuid4>` on every response.
async fn observe(request: Request, next: Next) -> Response {
    let request_id = format!("req-{}", uuid::Uuid::new_v4());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!("request", id = %request_id);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1e3;
    span.in_scope(|| {
        tracing::info!(%method, %path, status, latency_ms = format!("{latency_ms:.2}"), "request");
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}
