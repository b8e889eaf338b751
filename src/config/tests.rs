// figment's `Jail::expect_with` fixes its closures' (large) error type.
#![allow(clippy::result_large_err)]

use super::*;
use figment::Jail;

const SAMPLE: &str = r#"
[DEFAULT]
# a comment line
bind_host = 127.0.0.1
bind_port = 9999
auth_strategy = noauth
transport_url = rabbit://u:p#w@h/
debug = True

[database]
connection = postgresql+psycopg2://tacker:pw@db/tacker
max_pool_size = 7

[VIM_KEYS]
openstack = /etc/tacker/vim/fernet_keys
default_secret_key = default.key
use_barbican = False

[nfvo_vim]
validate_vim = false
; another comment
validation_timeout = 3

[keystone_authtoken]
password = ignored
"#;

fn load(jail: &Jail, text: &str) -> Result<Config, ConfigError> {
    jail.create_file("tacker.conf", text).unwrap();
    Config::load(Some(Path::new("tacker.conf")))
}

#[test]
fn reads_an_operators_tacker_conf_and_ignores_unknown_options() {
    Jail::expect_with(|jail| {
        let config = load(jail, SAMPLE).unwrap();
        assert_eq!(config.bind_host, "127.0.0.1");
        assert_eq!(config.bind_port, 9999);
        assert_eq!(config.max_pool_size, 7);
        assert_eq!(config.database.backend(), database_url::Backend::Postgres);
        assert_eq!(config.key_dir, PathBuf::from("/etc/tacker/vim/fernet_keys"));
        assert_eq!(config.default_secret_key.as_deref(), Some("default.key"));
        assert_eq!(
            config.default_key_path(),
            Some(PathBuf::from("/etc/tacker/vim/fernet_keys/default.key"))
        );
        assert!(!config.validate_vim);
        assert_eq!(config.validation_timeout, Duration::from_secs(3));
        Ok(())
    });
}

#[test]
fn environment_beats_the_file_and_client_variables_are_ignored() {
    Jail::expect_with(|jail| {
        jail.set_env("OS_DEFAULT__BIND_PORT", "9891");
        jail.set_env("OS_VIM_KEYS__DEFAULT_SECRET_KEY", "");
        jail.set_env("OS_PASSWORD", "secret");
        jail.set_env("OS_DEFAULT", "not-a-section");
        let config = load(jail, SAMPLE).unwrap();
        assert_eq!(config.bind_port, 9891);
        assert_eq!(config.default_secret_key, None);
        Ok(())
    });
}

#[test]
fn defaults_need_no_file() {
    Jail::expect_with(|jail| {
        jail.set_env("XDG_STATE_HOME", "/tmp/state-home");
        let config = Config::load(None).unwrap();
        assert_eq!(config.bind_port, 9890);
        assert_eq!(config.bind_host, "0.0.0.0");
        assert_eq!(
            config.state_path,
            PathBuf::from("/tmp/state-home/tacker-vim")
        );
        assert_eq!(
            config.key_dir,
            PathBuf::from("/tmp/state-home/tacker-vim/fernet_keys")
        );
        assert_eq!(
            config.database.expose(),
            "sqlite:///tmp/state-home/tacker-vim/tacker.sqlite?mode=rwc"
        );
        assert!(config.validate_vim);
        assert_eq!(config.max_request_body_size, 114_688);
        Ok(())
    });
}

#[test]
fn a_malformed_value_names_file_section_and_option() {
    Jail::expect_with(|jail| {
        let err = load(jail, "[DEFAULT]\nbind_port = ninety\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("tacker.conf"), "{text}");
        assert!(text.contains("[DEFAULT] bind_port"), "{text}");

        let err = load(jail, "[nfvo_vim]\nvalidate_vim = maybe\n").unwrap_err();
        assert!(err.to_string().contains("[nfvo_vim] validate_vim"), "{err}");
        Ok(())
    });
}

#[test]
fn a_malformed_environment_value_names_the_variable() {
    Jail::expect_with(|jail| {
        jail.set_env("OS_DATABASE__MAX_POOL_SIZE", "lots");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("[database] max_pool_size"), "{err}");
        assert!(err.contains("OS_DATABASE__MAX_POOL_SIZE"), "{err}");
        Ok(())
    });
}

#[test]
fn options_we_cannot_honour_stop_start_up() {
    Jail::expect_with(|jail| {
        let err = load(jail, "[DEFAULT]\nauth_strategy = keystone\n").unwrap_err();
        assert!(err.to_string().contains("[DEFAULT] auth_strategy"), "{err}");
        let err = load(jail, "[vim_keys]\nuse_barbican = True\n").unwrap_err();
        assert!(err.to_string().contains("[vim_keys] use_barbican"), "{err}");
        let err = load(jail, "[vim_keys]\ndefault_secret_key = ../k\n").unwrap_err();
        assert!(err.to_string().contains("default_secret_key"), "{err}");
        let err = load(jail, "[database]\nconnection = oracle://u:pw@h/db\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("[database] connection"), "{text}");
        assert!(!text.contains("pw@"), "{text}");
        Ok(())
    });
}

#[test]
fn a_missing_file_is_an_error() {
    Jail::expect_with(|_| {
        let err = Config::load(Some(Path::new("nope.conf"))).unwrap_err();
        assert!(matches!(err, ConfigError::MissingFile(_)));
        Ok(())
    });
}

#[test]
fn oslo_ini_keeps_hashes_in_values_and_joins_continuation_lines() {
    let dict = oslo_ini::parse(
        "[DEFAULT]\ntransport_url = rabbit://u:p#w@h/\npath = C:\\new\\dir\nlisty = a,\n  b\ny = 2\n",
    )
    .unwrap();
    let default = dict["default"].as_dict().unwrap();
    assert_eq!(default["transport_url"].as_str(), Some("rabbit://u:p#w@h/"));
    assert_eq!(default["path"].as_str(), Some("C:\\new\\dir"));
    assert_eq!(default["listy"].as_str(), Some("a,\nb"));
    assert_eq!(default["y"].as_str(), Some("2"));
}
