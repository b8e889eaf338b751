//! Keystone v3 and Kubernetes API stubs on 127.0.0.1, recording what they were sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}

#[derive(Clone, Default)]
struct KeystoneState {
    auths: Arc<Mutex<Vec<Value>>>,
    delay_ms: Arc<AtomicU64>,
}

/// Keystone at `<base>/identity/v3`. The password `wrong` is rejected with a 401.
pub struct Keystone {
    base: String,
    state: KeystoneState,
}

impl Keystone {
    pub async fn start() -> Self {
        let state = KeystoneState::default();
        let router = Router::new()
            .route("/identity/v3", get(version))
            .route("/identity/v3/", get(version))
            .route("/identity/v3/auth/tokens", post(tokens))
            .route("/identity/v3/regions", get(regions))
            .with_state(state.clone());
        Self {
            base: serve(router).await,
            state,
        }
    }

    /// What an operator registers; the service appends `/v3`.
    pub fn auth_url(&self) -> String {
        format!("{}/identity", self.base)
    }

    /// A live HTTP server that is not a Keystone.
    pub fn not_keystone_url(&self) -> String {
        format!("{}/elsewhere", self.base)
    }

    /// The `auth` objects of every token request so far.
    pub fn auths(&self) -> Vec<Value> {
        self.state.auths.lock().unwrap().clone()
    }

    /// The last password Keystone was sent, and the project scope it was asked for.
    pub fn last_auth(&self) -> (String, Value) {
        let auth = self.auths().last().cloned().expect("an authentication");
        (
            auth.pointer("/identity/password/user/password")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            auth.pointer("/scope/project")
                .cloned()
                .unwrap_or(Value::Null),
        )
    }

    /// Delays every token request, for timeout tests.
    pub fn delay(&self, delay: Duration) {
        self.state
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }
}

async fn version() -> Json<Value> {
    Json(json!({"version": {"id": "v3.14", "status": "stable", "links": []}}))
}

async fn tokens(State(state): State<KeystoneState>, Json(body): Json<Value>) -> Response {
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let auth = body["auth"].clone();
    state.auths.lock().unwrap().push(auth.clone());
    let password = auth
        .pointer("/identity/password/user/password")
        .and_then(Value::as_str);
    if password == Some("wrong") || password.is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": 401, "title": "Unauthorized",
                "message": "The request you have made requires authentication."}})),
        )
            .into_response();
    }
    (
        StatusCode::CREATED,
        [("X-Subject-Token", "stub-token")],
        Json(json!({"token": {"methods": ["password"], "catalog": []}})),
    )
        .into_response()
}

async fn regions(headers: HeaderMap) -> Response {
    if headers.get("X-Auth-Token").and_then(|t| t.to_str().ok()) != Some("stub-token") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"regions": [{"id": "RegionOne"}, {"id": "RegionTwo"}], "links": {}}))
        .into_response()
}

/// A Kubernetes API accepting `Bearer good-token` or basic `admin:admin-pw`.
pub struct Kubernetes {
    base: String,
}

impl Kubernetes {
    pub async fn start() -> Self {
        let router = Router::new()
            .route("/api/", get(api_versions))
            .route("/api/v1/namespaces", get(namespaces));
        Self {
            base: serve(router).await,
        }
    }

    pub fn url(&self) -> String {
        self.base.clone()
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    let auth = headers
        .get("Authorization")
        .and_then(|t| t.to_str().ok())
        .unwrap_or_default();
    // base64("admin:admin-pw")
    auth == "Bearer good-token" || auth == "Basic YWRtaW46YWRtaW4tcHc="
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(
            json!({"kind": "Status", "status": "Failure", "message": "Unauthorized",
            "reason": "Unauthorized", "code": 401}),
        ),
    )
        .into_response()
}

async fn api_versions(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    Json(json!({"kind": "APIVersions", "versions": ["v1"]})).into_response()
}

async fn namespaces(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    Json(json!({"kind": "NamespaceList", "items": [
        {"metadata": {"name": "default"}}, {"metadata": {"name": "kube-system"}}]}))
    .into_response()
}
