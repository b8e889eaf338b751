//! A figment provider for oslo.config's INI dialect (tacker.conf).
//!
//! oslo semantics that matter here: comments only at line start (`#`, `;`), so `#` inside a
//! value is data; no backslash escapes; indented lines continue the previous value; group names
//! other than `DEFAULT` are case-insensitive. Every value is a string: typed extraction is
//! lossy (`True`, `9890`) as oslo's own conversion is.

use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};
use ini::{Ini, ParseOption};

use super::ConfigError;

pub struct OsloIni {
    path: PathBuf,
    sections: Dict,
}

impl OsloIni {
    /// Reads and parses `path` now, so a missing or broken file is reported at start-up.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => ConfigError::MissingFile(path.to_owned()),
            _ => ConfigError::Unparsable {
                path: path.to_owned(),
                reason: err.to_string(),
            },
        })?;
        let sections = parse(&text).map_err(|reason| ConfigError::Unparsable {
            path: path.to_owned(),
            reason,
        })?;
        Ok(Self {
            path: path.to_owned(),
            sections,
        })
    }
}

/// Parses oslo-style INI text into `{section: {option: "value"}}`, `DEFAULT` as `default`.
pub(super) fn parse(text: &str) -> Result<Dict, String> {
    let options = ParseOption {
        enabled_quote: true,
        enabled_escape: false,
        enabled_indented_mutiline_value: true,
        enabled_preserve_key_leading_whitespace: false,
    };
    let ini = Ini::load_from_str_opt(text, options).map_err(|err| err.to_string())?;
    let mut sections = Dict::new();
    for (section, properties) in ini.iter() {
        let name = match section {
            None => "default".to_owned(),
            Some(name) => name.trim().to_ascii_lowercase(),
        };
        let entry = sections
            .entry(name)
            .or_insert_with(|| Value::from(Dict::new()));
        if let Value::Dict(_, dict) = entry {
            // A repeated option keeps its last value, as oslo does for single-valued options.
            for (key, value) in properties.iter() {
                dict.insert(
                    key.trim().to_ascii_lowercase(),
                    Value::from(value.to_owned()),
                );
            }
        }
    }
    Ok(sections)
}

impl Provider for OsloIni {
    fn metadata(&self) -> Metadata {
        Metadata::named("oslo INI file").source(figment::Source::File(self.path.clone()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.sections.clone()))
    }
}
