//! The public contract that is not a VIM flow: version discovery and request ids.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, TestApp, TestDb};

#[tokio::test]
async fn version_discovery() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let app = TestApp::new(&db).await;
    let reply = app.request(Method::GET, "/", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({"versions": [{"id": "v1.0", "status": "CURRENT",
            "links": [{"rel": "self", "href": "http://localhost:9890/v1.0"}]}]})
    );
    let a = reply.headers["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let b = app.request(Method::GET, "/", None).await.headers["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(a, b, "a new id per request");
}
