//! tacker-vim: OpenStack Tacker's NFVO VIM registry (`/v1.0/vims`), with credential keys that
//! several instances on one database can share.
//!
//! Data flows one way: [`api`] (HTTP) → [`vims`] (rules and flows) → [`keys`] / [`drivers`]
//! → `entity` (the database).

pub mod api;
pub mod config;
pub mod db;
pub mod drivers;
pub mod error;
pub mod keys;
pub mod telemetry;
pub mod vims;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::serve::ListenerExt;

pub use api::build_app;
use config::Config;
use drivers::Drivers;
use keys::FernetFileStore;
use sea_orm::DatabaseConnection;
use vims::VimService;

/// What every request handler shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub vims: VimService,
}

impl AppState {
    /// Connects and migrates the database and opens the key store: everything that can fail
    /// at start-up fails here, with a message an operator can act on.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // The key directory first: a local mistake is reported before a database time-out.
        let keys = open_key_store(&config)?;
        let db = db::connect(&config).await?;
        Self::assemble(config, keys, db).await
    }

    /// As [`AppState::build`], on a connection the caller made (tests count its statements).
    pub async fn with_database(config: Config, db: DatabaseConnection) -> anyhow::Result<Self> {
        let keys = open_key_store(&config)?;
        Self::assemble(config, keys, db).await
    }

    async fn assemble(
        config: Config,
        keys: FernetFileStore,
        db: DatabaseConnection,
    ) -> anyhow::Result<Self> {
        db::migrate(&db)
            .await
            .context("running the database migrations")?;
        let drivers = Drivers::new(config.validate_vim, config.validation_timeout)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if !config.validate_vim {
            tracing::warn!("[nfvo_vim] validate_vim = False: VIMs are registered unchecked");
        }
        Ok(Self {
            config: Arc::new(config),
            vims: VimService::new(db, Arc::new(keys), drivers),
        })
    }
}

fn open_key_store(config: &Config) -> anyhow::Result<FernetFileStore> {
    FernetFileStore::open(&config.key_dir, config.default_secret_key.as_deref()).with_context(
        || {
            format!(
                "[vim_keys] cannot use the key directory {}",
                config.key_dir.display()
            )
        },
    )
}

/// Binds first, then serves until SIGTERM or Ctrl-C, letting requests in flight finish.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = format!("{}:{}", config.bind_host, config.bind_port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding [DEFAULT] bind_host:bind_port = {addr}"))?;
    let state = AppState::build(config).await?;
    if let Some(interval) = state.config.key_sweep_interval {
        tokio::spawn(sweep_deleted_vim_keys(state.vims.clone(), interval));
    }
    let local: SocketAddr = listener.local_addr()?;
    tracing::info!(address = %local, "tacker-vim listening");
    // Responses are written whole; Nagle's delay would only hold them back.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, build_app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("tacker-vim stopped");
    Ok(())
}

/// At start-up, then every `interval`: no key material outlives its VIM on any node.
async fn sweep_deleted_vim_keys(vims: VimService, interval: std::time::Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        match vims.sweep_deleted_vim_keys().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed key files of VIMs deleted elsewhere"),
            Err(err) => tracing::warn!(error = %err, "key file sweep failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
