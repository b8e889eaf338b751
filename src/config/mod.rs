//! Typed configuration, layered as oslo.config does it: built-in defaults < the oslo-style INI
//! file (`tacker.conf`) < environment variables `OS_<SECTION>__<OPTION>`.
//!
//! Unknown sections and options are ignored (an operator's full tacker.conf loads as it is);
//! a value of the wrong type, or an option we cannot honour yet, stops start-up with a message
//! naming the file (or variable), the section and the option.

pub mod database_url;
mod oslo_ini;

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::{Figment, providers::Env};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use database_url::{DatabaseUrl, normalize_database_url};
pub use oslo_ini::OsloIni;

/// Options of `[DEFAULT]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DefaultSection {
    pub bind_host: String,
    pub bind_port: u16,
    /// Only `noauth` is served today; `keystone` is refused at start-up, not silently ignored.
    pub auth_strategy: String,
    /// Where the embedded SQLite database and, by default, the key directory live.
    pub state_path: Option<PathBuf>,
    /// Seconds a request may take before it is answered with 408.
    pub api_request_timeout: u64,
}

impl Default for DefaultSection {
    fn default() -> Self {
        Self {
            bind_host: "0.0.0.0".into(),
            bind_port: 9890,
            auth_strategy: "noauth".into(),
            state_path: None,
            api_request_timeout: 60,
        }
    }
}

/// Options of `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DatabaseSection {
    /// SQLAlchemy or sqlx URL; may hold a password, so it is never logged as given.
    pub connection: Option<SecretString>,
    pub max_pool_size: u32,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self {
            connection: None,
            max_pool_size: 10,
        }
    }
}

/// Options of `[vim_keys]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct VimKeysSection {
    /// The key directory (Tacker: "Dir.path to store fernet keys").
    pub openstack: Option<PathBuf>,
    /// File name, inside `openstack`, of the key shared by every node. Empty: a key per VIM.
    pub default_secret_key: String,
    pub use_barbican: bool,
    /// Seconds between sweeps removing key files of VIMs deleted through other nodes; 0 off.
    pub sweep_interval: u64,
}

impl Default for VimKeysSection {
    fn default() -> Self {
        Self {
            openstack: None,
            default_secret_key: String::new(),
            use_barbican: false,
            sweep_interval: 300,
        }
    }
}

/// Options of `[nfvo_vim]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct NfvoVimSection {
    /// Contact Keystone / the Kubernetes API on register and credential change. Off: nothing
    /// is contacted and `placement_attr.regions` stays empty.
    pub validate_vim: bool,
    /// Seconds for each request made to a VIM while validating it.
    pub validation_timeout: u64,
}

impl Default for NfvoVimSection {
    fn default() -> Self {
        Self {
            validate_vim: true,
            validation_timeout: 10,
        }
    }
}

/// Options of `[oslo_middleware]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OsloMiddlewareSection {
    /// Largest request body accepted, in bytes (oslo.middleware's default).
    pub max_request_body_size: usize,
}

impl Default for OsloMiddlewareSection {
    fn default() -> Self {
        Self {
            max_request_body_size: 114_688,
        }
    }
}

/// The options as read, before paths and URLs are resolved.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct RawConfig {
    default: DefaultSection,
    database: DatabaseSection,
    vim_keys: VimKeysSection,
    nfvo_vim: NfvoVimSection,
    oslo_middleware: OsloMiddlewareSection,
}

/// The validated configuration the service runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind_host: String,
    pub bind_port: u16,
    pub state_path: PathBuf,
    pub request_timeout: Duration,
    pub max_request_body_size: usize,
    pub database: DatabaseUrl,
    pub max_pool_size: u32,
    pub key_dir: PathBuf,
    /// File name of the shared default key inside `key_dir`, when one is configured.
    pub default_secret_key: Option<String>,
    /// How often to remove key files of VIMs deleted elsewhere; `None`: never.
    pub key_sweep_interval: Option<Duration>,
    pub validate_vim: bool,
    pub validation_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("cannot parse configuration file {path}: {reason}")]
    Unparsable { path: PathBuf, reason: String },
    #[error("invalid value for [{section}] {option} in {source_name}: {reason}")]
    InvalidValue {
        source_name: String,
        section: String,
        option: String,
        reason: String,
    },
    #[error("[{section}] {option}: {reason}")]
    Unsupported {
        section: &'static str,
        option: &'static str,
        reason: String,
    },
}

impl Config {
    /// Loads defaults < `file` < `OS_<SECTION>__<OPTION>` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, Env::prefixed("OS_"))
    }

    fn load_from(file: Option<&Path>, env: Env) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            figment = figment.merge(OsloIni::load(path)?);
        }
        // `OS_` also carries the OpenStack clients' variables (`OS_PASSWORD`, `OS_CLOUD`); only
        // `SECTION__OPTION` names are options, so the others never reach the extraction.
        figment = figment.merge(env.filter(|key| key.as_str().contains("__")).split("__"));
        let raw: RawConfig = figment.extract_lossy().map_err(from_figment)?;
        Self::resolve(raw)
    }

    fn resolve(raw: RawConfig) -> Result<Self, ConfigError> {
        if !raw.default.auth_strategy.eq_ignore_ascii_case("noauth") {
            return Err(ConfigError::Unsupported {
                section: "DEFAULT",
                option: "auth_strategy",
                reason: format!(
                    "'{}' is not supported yet; only 'noauth' is",
                    raw.default.auth_strategy
                ),
            });
        }
        if raw.vim_keys.use_barbican {
            return Err(ConfigError::Unsupported {
                section: "vim_keys",
                option: "use_barbican",
                reason: "Barbican is not supported yet; set it to False and use \
                         default_secret_key to share one key between nodes"
                    .into(),
            });
        }
        for (section, option, value) in [
            (
                "oslo_middleware",
                "max_request_body_size",
                raw.oslo_middleware.max_request_body_size as u64,
            ),
            (
                "DEFAULT",
                "api_request_timeout",
                raw.default.api_request_timeout,
            ),
            (
                "nfvo_vim",
                "validation_timeout",
                raw.nfvo_vim.validation_timeout,
            ),
            (
                "database",
                "max_pool_size",
                u64::from(raw.database.max_pool_size),
            ),
        ] {
            if value == 0 {
                return Err(invalid_option(section, option, "must be greater than 0"));
            }
        }
        let default_secret_key = match raw.vim_keys.default_secret_key.trim() {
            "" => None,
            name if name.contains('/') || name == "." || name == ".." => {
                return Err(invalid_option(
                    "vim_keys",
                    "default_secret_key",
                    "must be a file name inside [vim_keys] openstack, not a path",
                ));
            }
            name => Some(name.to_owned()),
        };

        let state_path = raw
            .default
            .state_path
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(default_state_path);
        let key_dir = raw
            .vim_keys
            .openstack
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| state_path.join("fernet_keys"));
        let database = match raw
            .database
            .connection
            .as_ref()
            .map(|c| c.expose_secret().trim())
            .filter(|c| !c.is_empty())
        {
            Some(url) => normalize_database_url(url)
                .map_err(|reason| invalid_option("database", "connection", reason))?,
            None => DatabaseUrl::sqlite_file(&state_path.join("tacker.sqlite")),
        };

        Ok(Config {
            bind_host: raw.default.bind_host,
            bind_port: raw.default.bind_port,
            state_path,
            request_timeout: Duration::from_secs(raw.default.api_request_timeout),
            max_request_body_size: raw.oslo_middleware.max_request_body_size,
            database,
            max_pool_size: raw.database.max_pool_size,
            key_dir,
            default_secret_key,
            key_sweep_interval: (raw.vim_keys.sweep_interval > 0)
                .then(|| Duration::from_secs(raw.vim_keys.sweep_interval)),
            validate_vim: raw.nfvo_vim.validate_vim,
            validation_timeout: Duration::from_secs(raw.nfvo_vim.validation_timeout),
        })
    }

    /// The shared default key's path, when one is configured.
    pub fn default_key_path(&self) -> Option<PathBuf> {
        self.default_secret_key
            .as_ref()
            .map(|name| self.key_dir.join(name))
    }
}

/// `$XDG_STATE_HOME/tacker-vim`, else `$HOME/.local/state/tacker-vim`: writable by the user
/// who runs the service, so the first run needs no set-up and no root.
pub fn default_state_path() -> PathBuf {
    let from_env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(state) = from_env("XDG_STATE_HOME") {
        return PathBuf::from(state).join("tacker-vim");
    }
    match from_env("HOME") {
        Some(home) => PathBuf::from(home).join(".local/state/tacker-vim"),
        None => PathBuf::from(".tacker-vim"),
    }
}

fn invalid_option(section: &str, option: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        source_name: "configuration".into(),
        section: section.into(),
        option: option.into(),
        reason: reason.into(),
    }
}

/// Names the file or variable, section and option of a value that did not fit its type.
fn from_figment(err: figment::Error) -> ConfigError {
    let source_name = err
        .metadata
        .as_ref()
        .map(|md| match &md.source {
            Some(figment::Source::File(path)) => path.display().to_string(),
            // figment's own name for an environment value is not the variable's name.
            _ if md.name.contains("environment") => format!(
                "environment variable OS_{}",
                err.path
                    .iter()
                    .map(|p| p.to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join("__")
            ),
            _ => md.name.to_string(),
        })
        .unwrap_or_else(|| "configuration".into());
    let section = match err.path.first().map(String::as_str) {
        Some("default") | None => "DEFAULT".to_owned(),
        Some(section) => section.to_owned(),
    };
    let option = err.path.get(1..).map(|p| p.join(".")).unwrap_or_default();
    ConfigError::InvalidValue {
        source_name,
        section,
        option,
        reason: err.kind.to_string(),
    }
}

#[cfg(test)]
mod tests;
