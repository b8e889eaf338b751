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

/// A request past `api_request_timeout` gets a 408 envelope; the registration it started
/// still completes whole (row and key together), never half.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_vim_gets_a_408_and_the_flow_still_completes_whole() {
    use crate::support::{KeyMode, Keystone, openstack_vim, test_config};
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let keystone = Keystone::start().await;
    keystone.delay(std::time::Duration::from_millis(1500));
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&db, dir.path(), KeyMode::Legacy);
    config.request_timeout = std::time::Duration::from_millis(300);
    let app = TestApp::with_config(config).await;

    let reply = app.create(&openstack_vim(&keystone, "t", "SLOW")).await;
    assert_eq!(reply.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(reply.error().0, "HTTPRequestTimeout");

    let mut listed = json!([]);
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        listed = app.list("name=SLOW&fields=id").await.body["vims"].clone();
        if listed.as_array().is_some_and(|v| !v.is_empty()) {
            break;
        }
    }
    let id = listed[0]["id"]
        .as_str()
        .expect("the registration completed")
        .to_owned();
    assert_eq!(app.key_files(), [id]);
}
