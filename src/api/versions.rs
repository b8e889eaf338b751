//! `GET /`: version discovery.

use axum::Json;
use axum::http::HeaderMap;
use axum::http::header::HOST;
use serde_json::{Value, json};

pub async fn show_versions(headers: HeaderMap) -> Json<Value> {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost:9890");
    Json(json!({
        "versions": [{
            "id": "v1.0",
            "status": "CURRENT",
            "links": [{"rel": "self", "href": format!("http://{host}/v1.0")}],
        }]
    }))
}
