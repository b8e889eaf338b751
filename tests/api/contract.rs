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

/// Every route the router serves is in openapi.yaml, and every spec path is served.
#[test]
fn openapi_paths_are_exactly_the_routes() {
    use crate::support::contract::SPEC;
    use tacker_vim::api::ROUTES;
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in SPEC["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                // `{vim_id}.json` is served by the `{vim_id}` route (format suffix).
                documented.push((method.to_ascii_uppercase(), path.replace("}.json", "}")));
            }
        }
    }
    documented.sort();
    documented.dedup();
    let mut served: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    served.sort();
    assert_eq!(documented, served);
    assert!(SPEC["paths"].get("/v1.0/vims/{vim_id}.json").is_some());
}

/// The response check bites: a body the spec does not describe fails it.
#[test]
#[should_panic(expected = "does not fit openapi.yaml")]
fn a_body_off_the_spec_fails_the_check() {
    let body = json!({"vim": {"id": 5, "status": "ACTIVE"}});
    crate::support::contract::check_response(
        "GET",
        "/v1.0/vims/00000000-0000-4000-8000-000000000000.json",
        200,
        &body,
        &body.to_string(),
    );
}

#[test]
#[should_panic(expected = "does not document 418")]
fn an_undocumented_status_fails_the_check() {
    crate::support::contract::check_response("GET", "/v1.0/vims", 418, &json!({}), "{}");
}
