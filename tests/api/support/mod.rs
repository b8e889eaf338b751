//! Test support: a database per test, the app in-process, and VIM stubs.

pub mod contract;
mod db;
pub mod nodes;
mod stubs;

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tacker_vim::AppState;
use tacker_vim::config::{Config, normalize_database_url};
use tower::ServiceExt;

pub use db::{Backend, TestDb};
pub use stubs::{Keystone, Kubernetes};

/// How a node of the test cluster keeps its keys.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyMode {
    /// `[vim_keys] default_secret_key = default.key`.
    Default,
    /// No default key: a key file per VIM.
    Legacy,
}

/// One instance of the service on a test database, driven in-process.
pub struct TestApp {
    pub router: Router,
    pub vims: tacker_vim::vims::VimService,
    pub key_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub raw: String,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.raw)
    }
}

impl Reply {
    /// The error envelope's `(type, message)`.
    pub fn error(&self) -> (String, String) {
        let e = &self.body["TackerError"];
        assert_eq!(e["detail"], "", "{self:?}");
        (
            e["type"].as_str().unwrap_or_default().to_owned(),
            e["message"].as_str().unwrap_or_default().to_owned(),
        )
    }

    pub fn vim(&self) -> &Value {
        &self.body["vim"]
    }

    pub fn id(&self) -> String {
        self.body["vim"]["id"]
            .as_str()
            .expect("a vim id")
            .to_owned()
    }
}

pub fn test_config(db: &TestDb, key_dir: &Path, mode: KeyMode) -> Config {
    Config {
        bind_host: "127.0.0.1".into(),
        bind_port: 0,
        state_path: key_dir.to_owned(),
        request_timeout: Duration::from_secs(30),
        max_request_body_size: 114_688,
        database: normalize_database_url(&db.url).unwrap(),
        max_pool_size: 5,
        key_dir: key_dir.to_owned(),
        default_secret_key: (mode == KeyMode::Default).then(|| "default.key".to_owned()),
        key_sweep_interval: None,
        validate_vim: true,
        validation_timeout: Duration::from_secs(5),
    }
}

/// A temporary key directory for one node; in default mode it holds `shared_key`.
fn node_key_dir(mode: KeyMode, shared_key: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key_dir = dir.path().join("fernet_keys");
    if mode == KeyMode::Default {
        std::fs::create_dir_all(&key_dir).unwrap();
        tacker_vim::keys::write_key_file(&key_dir.join("default.key"), shared_key, false).unwrap();
    }
    (dir, key_dir)
}

impl TestApp {
    /// A node with its own key directory; in default mode it holds `shared_key`.
    pub async fn node(db: &TestDb, mode: KeyMode, shared_key: &str) -> Self {
        let (dir, key_dir) = node_key_dir(mode, shared_key);
        let mut app = Self::with_config(test_config(db, &key_dir, mode)).await;
        app._dir = Some(dir);
        app
    }

    /// A single node in default-key mode.
    pub async fn new(db: &TestDb) -> Self {
        Self::node(db, KeyMode::Default, &tacker_vim::keys::generate_key()).await
    }

    pub async fn with_config(config: Config) -> Self {
        tacker_vim::telemetry::init_for_tests();
        let key_dir = config.key_dir.clone();
        let state = AppState::build(config).await.expect("app state");
        Self::from_state(state, key_dir)
    }

    /// A single node in default-key mode whose database statements are recorded.
    pub async fn counting(db: &TestDb) -> (Self, StatementLog) {
        tacker_vim::telemetry::init_for_tests();
        let (dir, key_dir) = node_key_dir(KeyMode::Default, &tacker_vim::keys::generate_key());
        let config = test_config(db, &key_dir, KeyMode::Default);
        let mut connection = tacker_vim::db::connect(&config).await.expect("database");
        let log = StatementLog::default();
        let recorder = log.clone();
        connection.set_metric_callback(move |info| recorder.record(&info.statement.sql));
        let state = AppState::with_database(config, connection)
            .await
            .expect("app state");
        let mut app = Self::from_state(state, key_dir);
        app._dir = Some(dir);
        (app, log)
    }

    fn from_state(state: AppState, key_dir: PathBuf) -> Self {
        Self {
            vims: state.vims.clone(),
            router: tacker_vim::build_app(state),
            key_dir,
            _dir: None,
        }
    }

    pub async fn request(&self, method: Method, uri: &str, body: Option<&str>) -> Reply {
        let request = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header("content-type", "application/json")
            .body(
                body.map(|b| Body::from(b.to_owned()))
                    .unwrap_or_else(Body::empty),
            )
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let raw = String::from_utf8(bytes.to_vec()).unwrap();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw).unwrap_or(Value::Null)
        };
        contract::check_response(method.as_str(), uri, status.as_u16(), &body, &raw);
        Reply {
            status,
            headers,
            body,
            raw,
        }
    }

    pub async fn create(&self, body: &Value) -> Reply {
        self.request(Method::POST, "/v1.0/vims", Some(&body.to_string()))
            .await
    }

    pub async fn show(&self, id: &str) -> Reply {
        self.request(Method::GET, &format!("/v1.0/vims/{id}"), None)
            .await
    }

    pub async fn list(&self, query: &str) -> Reply {
        self.request(Method::GET, &format!("/v1.0/vims?{query}"), None)
            .await
    }

    pub async fn update(&self, id: &str, body: &Value) -> Reply {
        self.request(
            Method::PUT,
            &format!("/v1.0/vims/{id}"),
            Some(&body.to_string()),
        )
        .await
    }

    pub async fn delete(&self, id: &str) -> Reply {
        self.request(Method::DELETE, &format!("/v1.0/vims/{id}"), None)
            .await
    }

    /// Names of the files in this node's key directory, sorted.
    pub fn key_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.key_dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// The statements a connection ran, each as its verb and tables: `"SELECT vims, vimauths"`.
#[derive(Clone, Default)]
pub struct StatementLog(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl StatementLog {
    fn record(&self, sql: &str) {
        self.0.lock().unwrap().push(summarize_sql(sql));
    }

    /// What ran since the last call.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// `SELECT "vims"."id" … FROM "vims" LEFT JOIN "vimauths" …` -> `SELECT vims, vimauths`.
fn summarize_sql(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let verb = words
        .first()
        .map(|w| w.to_ascii_uppercase())
        .unwrap_or_default();
    let mut tables: Vec<&str> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let names_a_table = (i == 0 && verb == "UPDATE")
            || matches!(word.to_ascii_uppercase().as_str(), "FROM" | "JOIN" | "INTO");
        if let (true, Some(next)) = (names_a_table, words.get(i + 1)) {
            let table = next.trim_matches(['"', '`', '(']);
            if !tables.contains(&table) {
                tables.push(table);
            }
        }
    }
    format!("{verb} {}", tables.join(", "))
}

/// Gives a process of the service `home` as HOME and none of the caller's settings (`OS_*`,
/// `XDG_STATE_HOME`, `TACKER_VIM_CONFIG_FILE`, `RUST_LOG`), so a developer's environment
/// cannot change what a test sees.
pub fn isolate(command: &mut std::process::Command, home: &Path) {
    command
        .env("HOME", home)
        .env_remove("XDG_STATE_HOME")
        .env_remove("TACKER_VIM_CONFIG_FILE")
        .env_remove("RUST_LOG");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OS_") {
            command.env_remove(&name);
        }
    }
}

/// A valid OpenStack VIM for `keystone`.
pub fn openstack_vim(keystone: &Keystone, tenant: &str, name: &str) -> Value {
    json!({"vim": {
        "tenant_id": tenant,
        "name": name,
        "type": "openstack",
        "auth_url": keystone.auth_url(),
        "vim_project": {"name": "nfv", "project_domain_name": "Default"},
        "auth_cred": {"username": "nfv_user", "password": "s3cret-pw",
            "user_domain_name": "Default", "cert_verify": "True"},
        "description": "",
        "is_default": false,
    }})
}

/// Runs `body` once per backend, skipping (and saying so) backends without a URL.
#[macro_export]
macro_rules! on_every_backend {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(db) =
                    $crate::support::TestDb::new($crate::support::Backend::Sqlite).await
                {
                    $body(db).await
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) =
                    $crate::support::TestDb::new($crate::support::Backend::Postgres).await
                {
                    $body(db).await
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                if let Some(db) =
                    $crate::support::TestDb::new($crate::support::Backend::MySql).await
                {
                    $body(db).await
                }
            }
        }
    };
}
