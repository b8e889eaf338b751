//! The database connection and migrations.

use std::os::unix::fs::DirBuilderExt;
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::{Config, database_url::Backend};

pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let url = &config.database;
    if url.backend() == Backend::Sqlite {
        create_sqlite_dir(url.expose())?;
    }
    let mut options = ConnectOptions::new(url.expose().to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        // sqlx pings every connection it hands out by default: a second round trip on every
        // request. Pinging only connections idle for a while still catches ones the database
        // dropped (a restart, an idle timeout).
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
    // SQLite stays on sea-orm's one connection: a single writer, no SQLITE_BUSY.
    if url.backend() != Backend::Sqlite {
        options.max_connections(config.max_pool_size);
    }
    Database::connect(options).await.with_context(|| {
        format!(
            "could not connect to [database] connection = {} within 10 s: is the database \
             running, reachable and accepting these credentials?",
            url.redacted()
        )
    })
}

/// The embedded database lives under the state directory; the first run creates it (0700).
fn create_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating the state directory {}", dir.display()))?;
    }
    Ok(())
}

/// Runs the migrations under a database lock, so that instances starting together on one
/// empty database do not race (sea-orm's migrator takes no lock of its own).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            // Transactional DDL: the lock and every migration commit together.
            let txn = db.begin().await?;
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(7289340215)")
                .await?;
            Migrator::up(&txn, None).await?;
            txn.commit().await
        }
        DbBackend::MySql => {
            // MySQL DDL commits implicitly; a named lock held by this one connection (the
            // transaction pins it) serializes the instances instead.
            let txn = db.begin().await?;
            let locked = txn
                .query_one_raw(sea_orm::Statement::from_string(
                    DbBackend::MySql,
                    "SELECT GET_LOCK('tacker_vim_migrations', 120) AS locked",
                ))
                .await?
                .and_then(|row| row.try_get::<Option<i64>>("", "locked").ok().flatten());
            if locked != Some(1) {
                return Err(sea_orm::DbErr::Custom(
                    "timed out waiting for another instance's migrations".into(),
                ));
            }
            let result = Migrator::up(&txn, None).await;
            txn.execute_unprepared("SELECT RELEASE_LOCK('tacker_vim_migrations')")
                .await?;
            txn.commit().await?;
            result
        }
        _ => {
            // SQLite: an IMMEDIATE transaction holds the write lock from BEGIN, so a second
            // process on the same file waits (busy timeout) and then finds the work done.
            let txn = db
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await?;
            Migrator::up(&txn, None).await?;
            txn.commit().await
        }
    }
}
