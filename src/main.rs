//! `tacker-vim`: serve the VIM API, manage credential keys, migrate the database.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// glibc's allocator made malloc/free a tenth of the service's CPU and serialized its worker
// threads under load; with mimalloc, show throughput at 8 and 64 connections rose by a third
// and more (scripts/bench.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tacker_vim::config::Config;
use tacker_vim::keys::{generate_key, write_key_file};

#[derive(Parser)]
#[command(
    name = "tacker-vim",
    version,
    about = "OpenStack Tacker's VIM registry (/v1.0/vims)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (migrates the database first).
    Serve {
        /// An oslo-style tacker.conf; OS_<SECTION>__<OPTION> variables override it.
        #[arg(long, env = "TACKER_VIM_CONFIG_FILE")]
        config_file: Option<PathBuf>,
    },
    /// Credential keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Generate a Fernet key (Tacker's `tacker-db-manage generate_secret_key`). Without
    /// --file the key goes to stdout; with it, the fingerprint goes to stderr.
    Generate {
        /// Write the key to this file (mode 0600, atomically).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Replace an existing file (its VIM secrets become unreadable).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Apply the migrations and exit.
    Upgrade {
        #[arg(long, env = "TACKER_VIM_CONFIG_FILE")]
        config_file: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tacker_vim::telemetry::init();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tacker-vim: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Keys {
            command: KeysCommand::Generate { file, force },
        } => generate(file, force),
        Command::Serve { config_file } => {
            let config = Config::load(config_file.as_deref())?;
            runtime()?.block_on(tacker_vim::serve(config))
        }
        Command::Db {
            command: DbCommand::Upgrade { config_file },
        } => {
            let config = Config::load(config_file.as_deref())?;
            runtime()?.block_on(async {
                let db = tacker_vim::db::connect(&config).await?;
                tacker_vim::db::migrate(&db).await?;
                eprintln!("database {} is up to date", config.database.redacted());
                Ok(())
            })
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn generate(file: Option<PathBuf>, force: bool) -> anyhow::Result<()> {
    let key = generate_key();
    match file {
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout();
            stdout.write_all(key.as_bytes())?;
            stdout.flush()?;
        }
        Some(path) => {
            let fingerprint = write_key_file(&path, &key, force)?;
            eprintln!("wrote {} (fingerprint {fingerprint})", path.display());
        }
    }
    Ok(())
}
