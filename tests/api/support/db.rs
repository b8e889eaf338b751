//! A fresh database per test: a SQLite file, or a new PostgreSQL / MariaDB database created
//! from `TEST_POSTGRES_URL` / `TEST_MYSQL_URL` and dropped afterwards.

use sea_orm::{ConnectionTrait, Database};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    fn env(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => "TEST_POSTGRES_URL",
            Backend::MySql => "TEST_MYSQL_URL",
        }
    }
}

pub struct TestDb {
    pub backend: Backend,
    /// The test's own database.
    pub url: String,
    server_url: String,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

/// `TEST_REQUIRE_BACKENDS=1` (set by CI) turns a missing backend URL into a failure.
fn required() -> bool {
    std::env::var("TEST_REQUIRE_BACKENDS").is_ok_and(|v| v == "1")
}

impl TestDb {
    /// `None` when the backend is not configured (the test then says it skipped).
    pub async fn new(backend: Backend) -> Option<Self> {
        if backend == Backend::Sqlite {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/tacker.sqlite?mode=rwc", dir.path().display());
            return Some(Self {
                backend,
                url,
                server_url: String::new(),
                name: String::new(),
                _dir: Some(dir),
            });
        }
        let Some(server_url) = std::env::var(backend.env()).ok().filter(|u| !u.is_empty()) else {
            assert!(
                !required(),
                "{} is required (TEST_REQUIRE_BACKENDS=1)",
                backend.env()
            );
            eprintln!("SKIPPED on {backend:?}: {} is not set", backend.env());
            return None;
        };
        let name = format!("tv_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&server_url)
            .await
            .expect("test database server");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        admin.close().await.unwrap();
        let base = server_url.rsplit_once('/').map(|(b, _)| b).unwrap();
        Some(Self {
            backend,
            url: format!("{base}/{name}"),
            server_url,
            name,
            _dir: None,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.backend == Backend::Sqlite {
            return;
        }
        let (server_url, name, backend) =
            (self.server_url.clone(), self.name.clone(), self.backend);
        // Drop runs outside async: a short-lived runtime on its own thread does the cleanup.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = Database::connect(&server_url).await {
                    let sql = match backend {
                        Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                        _ => format!("DROP DATABASE IF EXISTS {name}"),
                    };
                    let _ = admin.execute_unprepared(&sql).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}
