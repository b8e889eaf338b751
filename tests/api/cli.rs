//! The `tacker-vim` binary as an operator meets it: `serve` with no set-up at all, with a
//! tacker.conf and environment overrides, start-up errors that say what to fix, `keys generate`
//! and `db upgrade`. Every test runs the real binary in a subprocess with its own HOME and
//! temporary directories; every process is killed on every path and every wait is bounded.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_tacker-vim");
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/// A running `tacker-vim` whose stdout and stderr are collected as they come (so a chatty
/// process never blocks on a full pipe). Dropping it kills the process.
struct Proc {
    child: Option<Child>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts the binary with `args`, HOME set to `home`, none of the caller's `OS_*`,
    /// `XDG_STATE_HOME`, `TACKER_VIM_CONFIG_FILE` or `RUST_LOG`, then `env` on top.
    fn spawn(args: &[&str], home: &Path, env: &[(&str, String)]) -> Proc {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::support::isolate(&mut command, home);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().expect("piped stdout"), stdout.clone()),
            collect(child.stderr.take().expect("piped stderr"), stderr.clone()),
        ];
        Proc {
            child: Some(child),
            stdout,
            stderr,
            readers,
            status: None,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("process not yet reaped").id()
    }

    /// The exit status if the process has ended.
    fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            self.status = Some(status);
            self.child = None;
            // The pipes close with the process; let the readers drain them.
            for reader in self.readers.drain(..) {
                let _ = reader.join();
            }
        }
        self.status
    }

    /// Waits at most `limit` for the process to end; `None` if it is still running.
    fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    fn stdout_bytes(&self) -> Vec<u8> {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

fn collect(mut pipe: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    })
}

/// A finished one-shot command.
struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs a command that must end by itself within `limit`.
fn run(args: &[&str], home: &Path, env: &[(&str, String)], limit: Duration) -> Finished {
    let mut proc = Proc::spawn(args, home, env);
    let Some(status) = proc.wait_for_exit(limit) else {
        let stderr = proc.stderr();
        drop(proc);
        panic!(
            "`tacker-vim {}` still running after {limit:?}; stderr:\n{stderr}",
            args.join(" ")
        );
    };
    Finished {
        status,
        stdout: proc.stdout_bytes(),
        stderr: proc.stderr(),
    }
}

fn run_ok(args: &[&str], home: &Path) -> Finished {
    let done = run(args, home, &[], Duration::from_secs(20));
    assert!(
        done.status.success(),
        "`tacker-vim {}` failed ({}); stderr:\n{}",
        args.join(" "),
        done.status,
        done.stderr
    );
    done
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding port 0");
    listener.local_addr().expect("local address").port()
}

fn client() -> reqwest::Client {
    // reqwest is built without a default TLS provider; plain HTTP still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("building the HTTP client")
}

/// Polls `GET /` every 50 ms until it answers, the process dies, or 30 s pass.
async fn wait_ready(proc: &mut Proc, client: &reqwest::Client, base: &str) -> reqwest::Response {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = proc.try_status() {
            panic!(
                "the service exited ({status}) before answering; stderr:\n{}",
                proc.stderr()
            );
        }
        if let Ok(response) = client.get(format!("{base}/")).send().await {
            return response;
        }
        if Instant::now() >= deadline {
            panic!(
                "the service did not answer on {base} within {READY_TIMEOUT:?}; stderr:\n{}",
                proc.stderr()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// SIGTERM, then the process must end successfully within 10 s.
fn stop_gracefully(proc: &mut Proc) {
    proc.sigterm();
    match proc.wait_for_exit(Duration::from_secs(10)) {
        Some(status) => assert!(
            status.success(),
            "exit after SIGTERM was {status}, not success; stderr:\n{}",
            proc.stderr()
        ),
        None => panic!(
            "still running 10 s after SIGTERM; stderr:\n{}",
            proc.stderr()
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn vim_body(name: &str, password: &str) -> Value {
    json!({"vim": {
        "tenant_id": "t1",
        "name": name,
        "type": "openstack",
        "auth_url": "http://127.0.0.1:9/identity",
        "vim_project": {"name": "nfv", "project_domain_name": "Default"},
        "auth_cred": {
            "username": "nfv_user",
            "password": password,
            "user_domain_name": "Default",
            "cert_verify": "True"
        }
    }})
}

/// Registers a VIM and returns its id; the answer must be 201.
async fn create_vim(proc: &Proc, client: &reqwest::Client, base: &str, body: &Value) -> String {
    let response = client
        .post(format!("{base}/v1.0/vims"))
        .json(body)
        .send()
        .await
        .expect("POST /v1.0/vims");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(
        status,
        201,
        "POST /v1.0/vims: {text}; stderr:\n{}",
        proc.stderr()
    );
    let created: Value = serde_json::from_str(&text).expect("a JSON body");
    created["vim"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no vim.id in {created}"))
        .to_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn is_fernet_key_text(text: &[u8]) -> bool {
    text.len() == 44
        && text[43] == b'='
        && text[..43]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

fn sqlite_url(path: &Path) -> String {
    // SQLAlchemy: three slashes, then the (here absolute) path.
    format!("sqlite:///{}", path.display())
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn first_run_needs_no_configuration() {
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut proc = Proc::spawn(
        &["serve"],
        home.path(),
        &[
            ("OS_DEFAULT__BIND_HOST", "127.0.0.1".into()),
            ("OS_DEFAULT__BIND_PORT", port.to_string()),
            ("OS_NFVO_VIM__VALIDATE_VIM", "false".into()),
        ],
    );
    let client = client();
    let base = format!("http://127.0.0.1:{port}");

    let versions = wait_ready(&mut proc, &client, &base).await;
    assert_eq!(versions.status().as_u16(), 200);
    let request_id = versions
        .headers()
        .get("x-openstack-request-id")
        .expect("an x-openstack-request-id header")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(request_id.starts_with("req-"), "request id {request_id:?}");
    let body: Value = versions.json().await.expect("a JSON versions document");
    assert_eq!(body["versions"][0]["id"], "v1.0", "GET / answered {body}");

    let vim_id = create_vim(&proc, &client, &base, &vim_body("VIM0", "pw-first-run")).await;

    let state = home.path().join(".local/state/tacker-vim");
    assert!(state.is_dir(), "no state directory {}", state.display());
    assert_eq!(mode(&state), 0o700, "state directory mode");
    assert!(
        state.join("tacker.sqlite").is_file(),
        "no tacker.sqlite in {}: {:?}",
        state.display(),
        names_in(&state)
    );
    let keys = state.join("fernet_keys");
    assert!(keys.is_dir(), "no key directory {}", keys.display());
    assert_eq!(mode(&keys), 0o700, "key directory mode");
    assert_eq!(
        names_in(&keys),
        vec![vim_id.clone()],
        "the key directory holds one key per VIM"
    );
    let key_file = keys.join(&vim_id);
    assert_eq!(mode(&key_file), 0o600, "per-VIM key file mode");
    let key = std::fs::read(&key_file).unwrap();
    assert!(
        is_fernet_key_text(&key),
        "per-VIM key file is not a bare 44-byte Fernet key: {:?}",
        String::from_utf8_lossy(&key)
    );

    stop_gracefully(&mut proc);
    let logs = proc.stderr();
    assert!(
        !logs.contains("pw-first-run"),
        "the password reached the logs:\n{logs}"
    );
    assert!(
        logs.lines().any(|line| line.contains("status=201")),
        "no request log line with status=201:\n{logs}"
    );
}

#[tokio::test]
async fn serve_reads_tacker_conf_and_env_overrides_it() {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let default_key = keys.join("default.key");
    run_ok(
        &["keys", "generate", "--file", path_str(&default_key)],
        home.path(),
    );
    let db = tmp.path().join("db.sqlite");
    let (port_a, port_b) = (free_port(), free_port());
    let conf = tmp.path().join("tacker.conf");
    write(
        &conf,
        &format!(
            "# an operator's tacker.conf, trimmed\n\
             [DEFAULT]\n\
             bind_host = 127.0.0.1\n\
             bind_port = {port_a}\n\
             debug = True\n\
             transport_url = rabbit://stackrabbit:secret@127.0.0.1:5672/\n\
             logging_exception_prefix = %(color)s%(asctime)s.%(msecs)03d TRACE %(name)s\n\
             \n\
             [database]\n\
             connection = {db_url}\n\
             max_overflow = 50\n\
             \n\
             [keystone_authtoken]\n\
             memcached_servers = localhost:11211\n\
             auth_type = password\n\
             \n\
             [vim_keys]\n\
             openstack = {keys}\n\
             default_secret_key = default.key\n\
             \n\
             [nfvo_vim]\n\
             validate_vim = False\n\
             vim_monitor_interval = 30\n\
             \n\
             [agent]\n\
             root_helper = sudo /usr/local/bin/tacker-rootwrap /etc/tacker/rootwrap.conf\n",
            db_url = sqlite_url(&db),
            keys = keys.display(),
        ),
    );

    let mut proc = Proc::spawn(
        &["serve", "--config-file", path_str(&conf)],
        home.path(),
        &[("OS_DEFAULT__BIND_PORT", port_b.to_string())],
    );
    let client = client();
    let base = format!("http://127.0.0.1:{port_b}");
    let versions = wait_ready(&mut proc, &client, &base).await;
    assert_eq!(
        versions.status().as_u16(),
        200,
        "GET / on the port from the environment"
    );

    create_vim(&proc, &client, &base, &vim_body("VIM-conf", "pw-conf")).await;
    assert!(
        db.is_file(),
        "the database from tacker.conf was not used: no {}",
        db.display()
    );
    assert_eq!(
        names_in(&keys),
        vec!["default.key".to_owned()],
        "with a default key no per-VIM key file may be written"
    );
    assert!(
        !home
            .path()
            .join(".local/state/tacker-vim/tacker.sqlite")
            .exists(),
        "the default state database was created although tacker.conf names one"
    );

    stop_gracefully(&mut proc);
}

/// A start-up that must fail: non-zero exit within 20 s, stderr naming the problem.
fn assert_start_fails(
    what: &str,
    args: &[&str],
    home: &Path,
    env: &[(&str, String)],
    must_contain: &[&str],
    must_not_contain: &[&str],
) {
    let done = run(args, home, env, Duration::from_secs(20));
    assert!(
        !done.status.success(),
        "{what}: `tacker-vim {}` succeeded; stderr:\n{}",
        args.join(" "),
        done.stderr
    );
    assert!(
        !done.stderr.contains("panicked"),
        "{what}: a panic:\n{}",
        done.stderr
    );
    for text in must_contain {
        assert!(
            done.stderr.contains(text),
            "{what}: stderr does not name {text:?}:\n{}",
            done.stderr
        );
    }
    for text in must_not_contain {
        assert!(
            !done.stderr.contains(text),
            "{what}: stderr shows {text:?}:\n{}",
            done.stderr
        );
    }
}

/// One start-up case: its own HOME and its own directory for tacker.conf, keys and database.
struct Case {
    home: tempfile::TempDir,
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        Case {
            home: tempfile::tempdir().unwrap(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes tacker.conf: `[DEFAULT]` lines, `[database]` lines, `[vim_keys]` lines. A free
    /// port and a temporary database are filled in unless the lines set them.
    fn conf(&self, default: &str, database: &str, vim_keys: &str) -> PathBuf {
        let conf = self.path("tacker.conf");
        let port = if default.contains("bind_port") {
            String::new()
        } else {
            format!("bind_port = {}\n", free_port())
        };
        let connection = if database.contains("connection") {
            String::new()
        } else {
            format!("connection = {}\n", sqlite_url(&self.path("db.sqlite")))
        };
        write(
            &conf,
            &format!(
                "[DEFAULT]\nbind_host = 127.0.0.1\n{port}{default}\n\
                 [database]\n{connection}{database}\n\
                 [vim_keys]\n{vim_keys}\n\
                 [nfvo_vim]\nvalidate_vim = False\n"
            ),
        );
        conf
    }
}

#[test]
fn start_up_errors_name_the_problem() {
    // The configured default key does not exist.
    {
        let case = Case::new();
        let keys = case.path("keys");
        std::fs::create_dir(&keys).unwrap();
        let conf = case.conf(
            "",
            "",
            &format!(
                "openstack = {}\ndefault_secret_key = default.key\n",
                keys.display()
            ),
        );
        let key_path = keys.join("default.key");
        assert_start_fails(
            "missing default key",
            &["serve", "--config-file", path_str(&conf)],
            case.home.path(),
            &[],
            &[path_str(&key_path)],
            &[],
        );
    }

    // The default key file holds something that is not a Fernet key.
    {
        let case = Case::new();
        let keys = case.path("keys");
        std::fs::create_dir(&keys).unwrap();
        let key_path = keys.join("default.key");
        write(&key_path, "this is not a fernet key at all\n");
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let conf = case.conf(
            "",
            "",
            &format!(
                "openstack = {}\ndefault_secret_key = default.key\n",
                keys.display()
            ),
        );
        assert_start_fails(
            "garbage default key",
            &["serve", "--config-file", path_str(&conf)],
            case.home.path(),
            &[],
            &[path_str(&key_path)],
            &["this is not a fernet key"],
        );
    }

    // Configuration errors stop `serve` and `db upgrade` alike. Each case: what it is, the
    // [DEFAULT] / [database] / [vim_keys] lines (or a missing file), what stderr must say,
    // and what it must never say.
    struct ConfCase {
        what: &'static str,
        default: &'static str,
        database: &'static str,
        vim_keys: &'static str,
        missing_file: bool,
        says: &'static [&'static str],
        never: &'static [&'static str],
    }
    let cases = [
        ConfCase {
            what: "bind_port = ninety",
            default: "bind_port = ninety\n",
            database: "",
            vim_keys: "",
            missing_file: false,
            says: &["[DEFAULT] bind_port"],
            never: &[],
        },
        ConfCase {
            what: "auth_strategy = keystone",
            default: "auth_strategy = keystone\n",
            database: "",
            vim_keys: "",
            missing_file: false,
            says: &["auth_strategy"],
            never: &[],
        },
        ConfCase {
            what: "use_barbican = True",
            default: "",
            database: "",
            vim_keys: "use_barbican = True\n",
            missing_file: false,
            says: &["use_barbican"],
            never: &[],
        },
        ConfCase {
            what: "--config-file /nonexistent.conf",
            default: "",
            database: "",
            vim_keys: "",
            missing_file: true,
            says: &["/nonexistent.conf"],
            never: &[],
        },
        ConfCase {
            // Port 1 on loopback: nothing listens, the connection is refused at once.
            what: "unreachable PostgreSQL",
            default: "",
            database: "connection = postgresql://u:SeCrEt@127.0.0.1:1/x\n",
            vim_keys: "",
            missing_file: false,
            says: &["***"],
            never: &["SeCrEt"],
        },
    ];
    for command in ["serve", "db"] {
        for c in &cases {
            let case = Case::new();
            let conf = if c.missing_file {
                PathBuf::from("/nonexistent.conf")
            } else {
                case.conf(c.default, c.database, c.vim_keys)
            };
            let mut args: Vec<&str> = match command {
                "serve" => vec!["serve"],
                _ => vec!["db", "upgrade"],
            };
            args.extend(["--config-file", path_str(&conf)]);
            let mut says = c.says.to_vec();
            if !c.missing_file && c.default.contains("bind_port") {
                says.push(path_str(&conf));
            }
            assert_start_fails(
                &format!("{command}: {}", c.what),
                &args,
                case.home.path(),
                &[],
                &says,
                c.never,
            );
        }
    }
}

#[test]
fn keys_generate() {
    let home = tempfile::tempdir().unwrap();

    // To stdout: the bare key, nothing else.
    let first = run_ok(&["keys", "generate"], home.path());
    assert!(
        is_fernet_key_text(&first.stdout),
        "stdout is not exactly a 44-byte urlsafe base64 key: {:?}",
        String::from_utf8_lossy(&first.stdout)
    );
    let second = run_ok(&["keys", "generate"], home.path());
    assert!(is_fernet_key_text(&second.stdout));
    assert_ne!(first.stdout, second.stdout, "two runs gave the same key");

    // To a file: 0600, the fingerprint (never the key) on stderr.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("k");
    let written = run_ok(
        &["keys", "generate", "--file", path_str(&file)],
        home.path(),
    );
    let key = std::fs::read(&file).unwrap();
    assert!(
        is_fernet_key_text(&key),
        "{} is not a bare 44-byte key: {:?}",
        file.display(),
        String::from_utf8_lossy(&key)
    );
    assert_eq!(mode(&file), 0o600, "key file mode");
    assert!(
        written.stderr.contains("fingerprint"),
        "no fingerprint on stderr:\n{}",
        written.stderr
    );
    let key_text = String::from_utf8(key.clone()).unwrap();
    assert!(
        !written.stderr.contains(&key_text),
        "the key was printed:\n{}",
        written.stderr
    );
    assert!(
        written.stdout.is_empty(),
        "stdout should be empty with --file"
    );

    // An existing file is kept unless --force.
    let refused = run(
        &["keys", "generate", "--file", path_str(&file)],
        home.path(),
        &[],
        Duration::from_secs(20),
    );
    assert!(
        !refused.status.success(),
        "overwrote an existing key without --force"
    );
    assert!(
        refused.stderr.contains("--force"),
        "the refusal does not mention --force:\n{}",
        refused.stderr
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        key,
        "the key file changed without --force"
    );

    run_ok(
        &["keys", "generate", "--file", path_str(&file), "--force"],
        home.path(),
    );
    let replaced = std::fs::read(&file).unwrap();
    assert!(is_fernet_key_text(&replaced));
    assert_ne!(replaced, key, "--force did not replace the key");
    assert_eq!(mode(&file), 0o600, "replaced key file mode");

    // A directory that does not exist: a clear error, no panic.
    let missing_dir = tmp.path().join("no/such/dir");
    let target = missing_dir.join("k");
    let failed = run(
        &["keys", "generate", "--file", path_str(&target)],
        home.path(),
        &[],
        Duration::from_secs(20),
    );
    assert!(!failed.status.success(), "wrote into a missing directory?");
    assert!(
        !failed.stderr.contains("panicked"),
        "a panic:\n{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains(path_str(&missing_dir)),
        "the error does not name the path:\n{}",
        failed.stderr
    );
    assert!(!target.exists());
}

#[tokio::test]
async fn db_upgrade_then_serve() {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("tacker.sqlite");
    let port = free_port();
    let conf = tmp.path().join("tacker.conf");
    write(
        &conf,
        &format!(
            "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\n\
             [database]\nconnection = {}\n\
             [vim_keys]\nopenstack = {}\n\
             [nfvo_vim]\nvalidate_vim = False\n",
            sqlite_url(&db),
            tmp.path().join("keys").display()
        ),
    );

    let upgrade = ["db", "upgrade", "--config-file", path_str(&conf)];
    run_ok(&upgrade, home.path());
    assert!(db.is_file(), "db upgrade did not create {}", db.display());
    run_ok(&upgrade, home.path());
    assert!(db.is_file());

    // The upgraded database serves as it is.
    let mut proc = Proc::spawn(
        &["serve", "--config-file", path_str(&conf)],
        home.path(),
        &[],
    );
    let client = client();
    let base = format!("http://127.0.0.1:{port}");
    let versions = wait_ready(&mut proc, &client, &base).await;
    assert_eq!(versions.status().as_u16(), 200);
    let listed = client
        .get(format!("{base}/v1.0/vims"))
        .send()
        .await
        .expect("GET /v1.0/vims");
    assert_eq!(listed.status().as_u16(), 200);
    let body: Value = listed.json().await.expect("a JSON list");
    assert_eq!(
        body["vims"],
        json!([]),
        "a fresh database lists no VIMs: {body}"
    );
    create_vim(
        &proc,
        &client,
        &base,
        &vim_body("VIM-upgraded", "pw-upgraded"),
    )
    .await;
    stop_gracefully(&mut proc);
}

#[tokio::test]
async fn a_trailing_newline_key_file_is_accepted() {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    std::fs::create_dir(&keys).unwrap();

    // `tacker-vim keys generate > default.key; echo >> default.key`, readable by everyone.
    let generated = run_ok(&["keys", "generate"], home.path());
    let mut text = generated.stdout.clone();
    text.push(b'\n');
    let key_path = keys.join("default.key");
    std::fs::write(&key_path, &text).unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();

    let port = free_port();
    let conf = tmp.path().join("tacker.conf");
    write(
        &conf,
        &format!(
            "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\n\
             [database]\nconnection = {}\n\
             [vim_keys]\nopenstack = {}\ndefault_secret_key = default.key\n\
             [nfvo_vim]\nvalidate_vim = False\n",
            sqlite_url(&tmp.path().join("db.sqlite")),
            keys.display()
        ),
    );

    let mut proc = Proc::spawn(
        &["serve", "--config-file", path_str(&conf)],
        home.path(),
        &[],
    );
    let client = client();
    let base = format!("http://127.0.0.1:{port}");
    let versions = wait_ready(&mut proc, &client, &base).await;
    assert_eq!(versions.status().as_u16(), 200);
    create_vim(
        &proc,
        &client,
        &base,
        &vim_body("VIM-newline", "pw-newline"),
    )
    .await;
    assert_eq!(
        names_in(&keys),
        vec!["default.key".to_owned()],
        "with a default key no per-VIM key file may be written"
    );
    assert_eq!(
        std::fs::read(&key_path).unwrap(),
        text,
        "the service rewrote the key file"
    );

    stop_gracefully(&mut proc);
    let logs = proc.stderr();
    assert!(
        logs.contains("chmod 600"),
        "no warning about a key file readable by group or others:\n{logs}"
    );
    let key = String::from_utf8(generated.stdout).unwrap();
    assert!(!logs.contains(&key), "the key reached the logs:\n{logs}");
}
