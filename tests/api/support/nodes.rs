//! Real `tacker-vim serve` processes on one test database, as an operator runs them behind a
//! load balancer: each node has its own key directory, configuration file, port and log.
//!
//! A node runs in its own process group (under `faketime` the service is a child of the
//! wrapper), and dropping it kills that group. When a test fails, every node it started prints
//! its log as it is dropped, so the failure comes with what the service said.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::Value;

use super::{Reply, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_tacker-vim");
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);
/// Another process may take the port between our probe and the node's bind; try again then.
const LAUNCH_ATTEMPTS: usize = 3;

/// How one node is set up.
#[derive(Clone, Debug, Default)]
pub struct NodeSpec {
    /// Written to `<key dir>/default.key` and configured as `[vim_keys] default_secret_key`.
    /// `None`: a key file per VIM (Tacker's legacy mode).
    pub default_key: Option<String>,
    /// `[vim_keys] sweep_interval` in seconds; 0 (the default here) turns the sweep off.
    pub sweep_interval: u64,
    /// Runs the node under `faketime -f <offset>`, e.g. `+10m`.
    pub clock_offset: Option<String>,
}

impl NodeSpec {
    pub fn default_key(key: &str) -> Self {
        Self {
            default_key: Some(key.to_owned()),
            ..Self::default()
        }
    }

    pub fn legacy() -> Self {
        Self::default()
    }

    pub fn sweep_every(mut self, seconds: u64) -> Self {
        self.sweep_interval = seconds;
        self
    }

    pub fn clock(mut self, offset: &str) -> Self {
        self.clock_offset = Some(offset.to_owned());
        self
    }
}

/// One running `tacker-vim serve`.
pub struct Node {
    pub label: String,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub key_dir: PathBuf,
    spec: NodeSpec,
    db_url: String,
    config_file: PathBuf,
    log_file: PathBuf,
    child: Option<Child>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Starts every node at once (they migrate the fresh database concurrently, as a
    /// cluster's first start does) and waits until each answers `GET /`.
    pub async fn start_all(db: &TestDb, specs: &[NodeSpec]) -> Vec<Node> {
        let mut nodes: Vec<Node> = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| Node::spawn(db, &format!("node{i}"), spec.clone()))
            .collect();
        for node in &mut nodes {
            node.wait_ready().await;
        }
        nodes
    }

    /// Writes the node's key directory and starts it; [`Node::wait_ready`] waits for it.
    pub fn spawn(db: &TestDb, label: &str, spec: NodeSpec) -> Node {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let key_dir = dir.path().join("fernet_keys");
        std::fs::create_dir(&key_dir).unwrap();
        if let Some(key) = &spec.default_key {
            tacker_vim::keys::write_key_file(&key_dir.join("default.key"), key, false)
                .expect("writing default.key");
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        let mut node = Node {
            label: label.to_owned(),
            base: String::new(),
            key_dir,
            spec,
            db_url: db.url.clone(),
            config_file: dir.path().join("tacker.conf"),
            log_file: dir.path().join("stderr.log"),
            child: None,
            client,
            _dir: dir,
        };
        node.launch();
        node
    }

    fn launch(&mut self) {
        let port = free_port();
        self.base = format!("http://127.0.0.1:{port}");
        let mut conf = format!(
            "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\nstate_path = {state}\n\n\
             [database]\nconnection = {url}\nmax_pool_size = 5\n\n\
             [vim_keys]\nopenstack = {keys}\nsweep_interval = {sweep}\n",
            state = self._dir.path().display(),
            url = self.db_url,
            keys = self.key_dir.display(),
            sweep = self.spec.sweep_interval,
        );
        if self.spec.default_key.is_some() {
            conf.push_str("default_secret_key = default.key\n");
        }
        conf.push_str("\n[nfvo_vim]\nvalidation_timeout = 5\n");
        std::fs::write(&self.config_file, conf).expect("writing tacker.conf");

        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .expect("the node's log file");
        let serve: [&std::ffi::OsStr; 4] = [
            BIN.as_ref(),
            "serve".as_ref(),
            "--config-file".as_ref(),
            self.config_file.as_os_str(),
        ];
        let mut command = match &self.spec.clock_offset {
            Some(offset) => {
                let mut c = Command::new(faketime().expect("faketime on PATH"));
                c.arg("-f").arg(offset).args(serve);
                c
            }
            None => {
                let mut c = Command::new(BIN);
                c.args(&serve[1..]);
                c
            }
        };
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        super::isolate(&mut command, self._dir.path());
        self.child = Some(
            command
                .spawn()
                .unwrap_or_else(|e| panic!("{}: cannot start {BIN}: {e}", self.label)),
        );
    }

    /// Polls `GET /` until it answers 200, at most 30 s; the node must not exit meanwhile.
    pub async fn wait_ready(&mut self) {
        for attempt in 1..=LAUNCH_ATTEMPTS {
            let deadline = Instant::now() + READY_TIMEOUT;
            loop {
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    self.child = None;
                    let log = self.log();
                    if log.contains("binding [DEFAULT]") && attempt < LAUNCH_ATTEMPTS {
                        self.launch();
                        break;
                    }
                    panic!(
                        "{} exited ({status}) before answering on {}; its log:\n{log}",
                        self.label, self.base
                    );
                }
                if let Ok(response) = self.client.get(format!("{}/", self.base)).send().await
                    && response.status() == StatusCode::OK
                {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} did not answer GET / with 200 on {} within {READY_TIMEOUT:?}; its log:\n{}",
                    self.label,
                    self.base,
                    self.log()
                );
                tokio::time::sleep(POLL).await;
            }
        }
    }

    /// What the node wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log_file)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// Names of the files in this node's key directory, sorted.
    pub fn key_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.key_dir)
            .unwrap_or_else(|e| panic!("{}: {e}", self.key_dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// One request; a transport error is returned, not raised (load tests count them).
    pub async fn try_request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response.text().await?;
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw).unwrap_or(Value::Null)
        };
        Ok(Reply {
            status,
            headers,
            body,
            raw,
        })
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let what = format!("{} {method} {path}", self.label);
        self.try_request(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    pub async fn create(&self, body: &Value) -> Reply {
        self.request(Method::POST, "/v1.0/vims", Some(body)).await
    }

    pub async fn list(&self, query: &str) -> Reply {
        self.request(Method::GET, &format!("/v1.0/vims?{query}"), None)
            .await
    }

    pub async fn show(&self, id: &str) -> Reply {
        self.request(Method::GET, &format!("/v1.0/vims/{id}"), None)
            .await
    }

    pub async fn update(&self, id: &str, body: &Value) -> Reply {
        self.request(Method::PUT, &format!("/v1.0/vims/{id}"), Some(body))
            .await
    }

    pub async fn delete(&self, id: &str) -> Reply {
        self.request(Method::DELETE, &format!("/v1.0/vims/{id}"), None)
            .await
    }

    fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The group's id is the child's pid (process_group(0)); it holds the service and,
        // under faketime, the wrapper.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "----- {} ({}) log -----\n{}----- end of {} log -----",
                self.label,
                self.base,
                condensed(&self.log()),
                self.label
            );
        }
    }
}

/// A long log (a load test's) as its warnings and errors, then its last lines.
fn condensed(log: &str) -> String {
    const TAIL: usize = 60;
    let lines: Vec<&str> = log.lines().collect();
    if lines.len() <= 2 * TAIL {
        return log.to_owned();
    }
    let cut = lines.len() - TAIL;
    let mut out: Vec<&str> = lines[..cut]
        .iter()
        .copied()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    let note = format!(
        "[{} earlier lines without WARN/ERROR left out]",
        cut - out.len()
    );
    out.push(&note);
    out.extend_from_slice(&lines[cut..]);
    out.join("\n") + "\n"
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding port 0");
    listener.local_addr().expect("a local address").port()
}

/// `faketime` on PATH, if installed.
pub fn faketime() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("faketime"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `faketime`, or `None` after saying the test is skipped; with `TEST_REQUIRE_BACKENDS=1`
/// (CI) a missing `faketime` is a failure.
pub fn faketime_or_skip(test: &str) -> Option<PathBuf> {
    let found = faketime();
    if found.is_none() {
        assert!(
            std::env::var("TEST_REQUIRE_BACKENDS").as_deref() != Ok("1"),
            "{test}: faketime is required (TEST_REQUIRE_BACKENDS=1) but is not on PATH"
        );
        eprintln!("SKIPPED {test}: faketime is not on PATH");
    }
    found
}
