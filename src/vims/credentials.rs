//! VIM credentials: the rules per VIM type, Tacker's update merge, and the split between what
//! is stored in clear (`auth_cred` JSON) and what is sealed with the key store.
//!
//! OpenStack VIMs seal `password` (stored in `vimauths.password`). Kubernetes VIMs seal
//! `password`, `bearer_token`, `client_secret` and `ssl_ca_cert` with the same key store
//! (Tacker needs Barbican for these; we don't).

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::request::{AUTH_URL_MAX_LEN, parse_bool_str, py_str};
use crate::drivers::{KubernetesAccess, KubernetesAuth, Named, OpenStackAccess, VimAccess};
use crate::error::{Error, Result};
use crate::keys::{KEY_TYPE_FERNET, Opener, SealingKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VimType {
    OpenStack,
    Kubernetes,
}

impl VimType {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "openstack" => Ok(Self::OpenStack),
            "kubernetes" => Ok(Self::Kubernetes),
            other => Err(Error::invalid_input(
                "type",
                format!("'{other}' is not a supported VIM type (openstack, kubernetes)"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenStack => "openstack",
            Self::Kubernetes => "kubernetes",
        }
    }

    fn secret_keys(self) -> &'static [&'static str] {
        match self {
            Self::OpenStack => &["password"],
            Self::Kubernetes => &["password", "bearer_token", "client_secret", "ssl_ca_cert"],
        }
    }

    /// Keys a client may send in `auth_cred`, besides those the service itself stores.
    fn accepted_keys(self) -> &'static [&'static str] {
        match self {
            // keystoneauth1 `v3.Password` arguments, plus Tacker's `cert_verify`.
            Self::OpenStack => &[
                "username",
                "user_id",
                "password",
                "user_domain_name",
                "user_domain_id",
                "cert_verify",
                "project_id",
                "project_name",
                "project_domain_name",
                "project_domain_id",
                "domain_id",
                "domain_name",
                "trust_id",
                "system_scope",
                "reauthenticate",
                "include_catalog",
                "unscoped",
                "auth_url",
            ],
            Self::Kubernetes => &[
                "bearer_token",
                "username",
                "password",
                "oidc_token_url",
                "client_id",
                "client_secret",
                "ssl_ca_cert",
                "auth_url",
            ],
        }
    }
}

/// Keys Tacker silently drops from incoming credentials.
const DROPPED_KEYS: &[&str] = &["key_type", "secret_uuid", "id_token"];

/// `""`, `"None"`, `"null"`: how Tacker and its CLI spell "no CA certificate".
fn is_none_string(value: &str) -> bool {
    matches!(value, "" | "None" | "NONE" | "null" | "NULL")
}

/// A VIM's credentials in clear, validated for its type.
pub struct PlainCredentials {
    pub vim_type: VimType,
    pub auth_url: String,
    pub vim_project: Map<String, Value>,
    /// `auth_cred` without secrets: each secret's key stays in place holding `null`, so the
    /// stored JSON keeps the client's key order.
    public: Map<String, Value>,
    secrets: BTreeMap<&'static str, SecretString>,
}

impl std::fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("vim_type", &self.vim_type)
            .field("auth_url", &self.auth_url)
            .field("public", &self.public)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What is stored: `vimauths.auth_cred` and `vimauths.password`.
pub struct SealedCredentials {
    pub auth_cred: Map<String, Value>,
    pub password: Option<String>,
}

/// The stored credentials of an existing VIM, as the update merge starts from them.
pub struct StoredCredentials<'a> {
    pub auth_cred: &'a Map<String, Value>,
    pub password: Option<&'a str>,
}

/// `auth_url` as Tacker stores it: OpenStack URLs end in `/v3`.
pub fn normalize_auth_url(vim_type: VimType, auth_url: &str) -> Result<String> {
    let invalid = || {
        Error::invalid_input(
            "auth_url",
            format!("'{auth_url}' is not a valid http(s) URL"),
        )
    };
    let url = reqwest::Url::parse(auth_url).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid());
    }
    let normalized = match vim_type {
        VimType::OpenStack if !(auth_url.ends_with("v3") || auth_url.ends_with("v3/")) => {
            format!("{}/v3", auth_url.trim_end_matches('/'))
        }
        _ => auth_url.to_owned(),
    };
    if normalized.chars().count() > AUTH_URL_MAX_LEN {
        return Err(Error::invalid_input(
            "auth_url",
            format!("'{normalized}' exceeds maximum length of {AUTH_URL_MAX_LEN}"),
        ));
    }
    Ok(normalized)
}

/// Tacker's `update_vim` merge: switching credential kinds drops the other kind's keys, then
/// nested dicts merge key by key.
pub fn merge_auth_cred(stored: &mut Map<String, Value>, request: &Map<String, Value>) {
    let has = |key: &str| request.get(key).is_some_and(|v| !v.is_null());
    if request.contains_key("oidc_token_url") {
        stored.shift_remove("bearer_token");
    } else if request.contains_key("username") && has("password") {
        for key in [
            "bearer_token",
            "oidc_token_url",
            "client_id",
            "client_secret",
        ] {
            stored.shift_remove(key);
        }
    } else if request.contains_key("bearer_token") {
        for key in [
            "username",
            "password",
            "oidc_token_url",
            "client_id",
            "client_secret",
        ] {
            stored.shift_remove(key);
        }
    }
    deep_merge(stored, request);
}

/// `tacker.common.utils.deep_update`: dicts merge recursively, anything else replaces.
pub fn deep_merge(target: &mut Map<String, Value>, update: &Map<String, Value>) {
    for (key, value) in update {
        match (target.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(nested)) => deep_merge(existing, nested),
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

impl PlainCredentials {
    /// Builds the credentials of a VIM from the merged `auth_cred`. Secrets whose key the
    /// request sent are in clear; the others are stored tokens and need `opener`.
    pub fn resolve(
        vim_type: VimType,
        auth_url: String,
        vim_project: Map<String, Value>,
        mut merged: Map<String, Value>,
        request: &Map<String, Value>,
        extra: &Map<String, Value>,
        opener: Option<&Opener>,
    ) -> Result<Self> {
        check_request_keys(vim_type, request)?;
        for key in DROPPED_KEYS {
            merged.shift_remove(*key);
        }
        let mut secrets = BTreeMap::new();
        for &key in vim_type.secret_keys() {
            let Some(value) = merged.get_mut(key) else {
                continue;
            };
            let text = match value.take() {
                Value::Null => {
                    merged.shift_remove(key);
                    continue;
                }
                Value::String(s) => s,
                other => {
                    return Err(Error::invalid_input(
                        "auth_cred",
                        format!("'{}' of {key} is not a valid string", py_str(&other)),
                    ));
                }
            };
            if key == "ssl_ca_cert" && is_none_string(&text) {
                *value = Value::String(text);
                continue;
            }
            let plain = if request.contains_key(key) {
                SecretString::from(text)
            } else {
                let opener = opener.ok_or_else(|| {
                    Error::internal(
                        "credentials",
                        anyhow::anyhow!("a stored secret without opener"),
                    )
                })?;
                opener.open(&text)?
            };
            secrets.insert(key, plain);
        }
        let credentials = Self {
            vim_type,
            auth_url,
            vim_project,
            public: merged,
            secrets,
        };
        credentials.check_complete(extra)?;
        Ok(credentials)
    }

    /// Whether `auth_cred` merged from storage needs stored secrets opened.
    pub fn needs_stored_secrets(
        vim_type: VimType,
        merged: &Map<String, Value>,
        request: &Map<String, Value>,
    ) -> bool {
        vim_type.secret_keys().iter().any(|key| {
            !request.contains_key(*key)
                && merged
                    .get(*key)
                    .and_then(Value::as_str)
                    .is_some_and(|v| !(*key == "ssl_ca_cert" && is_none_string(v)))
        })
    }

    fn secret(&self, key: &str) -> Option<&SecretString> {
        self.secrets.get(key)
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.public
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    fn project_text(&self, key: &str) -> Option<&str> {
        self.vim_project
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    fn check_complete(&self, extra: &Map<String, Value>) -> Result<()> {
        let missing = |what: &str| Error::invalid_input("auth_cred", format!("{what} is required"));
        match self.vim_type {
            VimType::OpenStack => {
                if self.text("username").is_none() && self.text("user_id").is_none() {
                    return Err(missing("'username' or 'user_id'"));
                }
                if self.secret("password").is_none() {
                    return Err(missing("'password'"));
                }
                self.cert_verify()?;
                if self.project_text("name").is_none() && self.project_text("id").is_none() {
                    return Err(Error::invalid_input(
                        "vim_project",
                        "'name' or 'id' is required",
                    ));
                }
            }
            VimType::Kubernetes => {
                self.kubernetes_auth()?;
                if self.project_text("name").is_none() {
                    return Err(Error::invalid_input(
                        "vim_project",
                        "'name' (the namespace) is required",
                    ));
                }
                let use_helm = extra.get("use_helm").is_some_and(|v| match v {
                    Value::Bool(b) => *b,
                    Value::String(s) => parse_bool_str(s).unwrap_or(!s.is_empty()),
                    Value::Null => false,
                    Value::Number(n) => n.as_f64() != Some(0.0),
                    _ => true,
                });
                if use_helm && self.secret("ssl_ca_cert").is_none() {
                    return Err(Error::VimUnauthorized(
                        "If you want to register kubernetes vim with helm, please set ssl_ca_cert."
                            .into(),
                    ));
                }
            }
        }
        Ok(())
    }

    fn cert_verify(&self) -> Result<bool> {
        match self.public.get("cert_verify") {
            None | Some(Value::Null) => Ok(true),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) => parse_bool_str(s).ok_or_else(|| {
                Error::invalid_input(
                    "auth_cred",
                    format!("cert_verify '{s}' is not a valid boolean value"),
                )
            }),
            Some(other) => Err(Error::invalid_input(
                "auth_cred",
                format!(
                    "cert_verify '{}' is not a valid boolean value",
                    py_str(other)
                ),
            )),
        }
    }

    fn kubernetes_auth(&self) -> Result<KubernetesAuth> {
        let password = self.secret("password").cloned();
        if let Some(token_url) = self.text("oidc_token_url") {
            return match (self.text("username"), password, self.text("client_id")) {
                (Some(username), Some(password), Some(client_id)) => Ok(KubernetesAuth::Oidc {
                    token_url: token_url.to_owned(),
                    username: username.to_owned(),
                    password,
                    client_id: client_id.to_owned(),
                    client_secret: self.secret("client_secret").cloned(),
                }),
                _ => Err(Error::invalid_input(
                    "auth_cred",
                    "OIDC needs oidc_token_url, username, password and client_id",
                )),
            };
        }
        if let (Some(username), Some(password)) = (self.text("username"), password) {
            return Ok(KubernetesAuth::Basic {
                username: username.to_owned(),
                password,
            });
        }
        if let Some(token) = self.secret("bearer_token") {
            return Ok(KubernetesAuth::Bearer(token.clone()));
        }
        Err(Error::invalid_input(
            "auth_cred",
            "one of bearer_token, username and password, or oidc_token_url with username, \
             password and client_id is required",
        ))
    }

    /// What a driver needs to reach the VIM.
    pub fn access(&self) -> Result<VimAccess> {
        let named = |id: Option<&str>, name: Option<&str>| match (id, name) {
            (Some(id), _) => Some(Named::Id(id.to_owned())),
            (None, Some(name)) => Some(Named::Name(name.to_owned())),
            (None, None) => None,
        };
        Ok(match self.vim_type {
            VimType::OpenStack => {
                let required = || Error::invalid_input("auth_cred", "'password' is required");
                VimAccess::OpenStack(OpenStackAccess {
                    auth_url: self.auth_url.clone(),
                    user: named(self.text("user_id"), self.text("username"))
                        .ok_or_else(required)?,
                    user_domain: named(self.text("user_domain_id"), self.text("user_domain_name")),
                    password: self.secret("password").cloned().ok_or_else(required)?,
                    project: named(self.project_text("id"), self.project_text("name"))
                        .ok_or_else(required)?,
                    project_domain: named(
                        self.project_text("project_domain_id"),
                        self.project_text("project_domain_name"),
                    ),
                    cert_verify: self.cert_verify()?,
                })
            }
            VimType::Kubernetes => VimAccess::Kubernetes(KubernetesAccess {
                auth_url: self.auth_url.clone(),
                auth: self.kubernetes_auth()?,
                ssl_ca_cert: self
                    .secret("ssl_ca_cert")
                    .map(|pem| pem.expose_secret().to_owned()),
            }),
        })
    }

    /// Seals every secret with `key` and lays out `auth_cred` as Tacker stores it.
    pub fn seal(&self, key: &SealingKey) -> SealedCredentials {
        let mut auth_cred = self.public.clone();
        let mut password = None;
        for (&name, secret) in &self.secrets {
            let token = key.encrypt(secret.expose_secret());
            if name == "password" {
                auth_cred.shift_remove("password");
                password = Some(token);
            } else {
                auth_cred.insert(name.to_owned(), Value::String(token));
            }
        }
        if self.vim_type == VimType::OpenStack {
            let project = |k: &str| self.vim_project.get(k).cloned().unwrap_or(Value::Null);
            auth_cred.insert("project_id".into(), project("id"));
            auth_cred.insert("project_name".into(), project("name"));
            auth_cred.insert("project_domain_name".into(), project("project_domain_name"));
        }
        auth_cred.insert("auth_url".into(), Value::String(self.auth_url.clone()));
        auth_cred.insert("key_type".into(), Value::String(KEY_TYPE_FERNET.into()));
        SealedCredentials {
            auth_cred,
            password,
        }
    }
}

/// A request's `auth_cred` keys must mean something for the VIM type: keystoneauth would
/// reject an unknown one with a 500 in Tacker.
fn check_request_keys(vim_type: VimType, request: &Map<String, Value>) -> Result<()> {
    let unknown: Vec<&str> = request
        .keys()
        .map(String::as_str)
        .filter(|k| !DROPPED_KEYS.contains(k) && !vim_type.accepted_keys().contains(k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::invalid_input(
        "auth_cred",
        format!(
            "unknown key(s) '{}' for type {}",
            unknown.join(", "),
            vim_type.as_str()
        ),
    ))
}

/// The stored `auth_cred` with the password token put back under `password`, the starting
/// point of Tacker's update merge.
pub fn stored_with_password(stored: &StoredCredentials<'_>) -> Map<String, Value> {
    let mut merged = stored.auth_cred.clone();
    if let Some(token) = stored.password.filter(|t| !t.is_empty()) {
        merged.insert("password".into(), Value::String(token.to_owned()));
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn openstack_auth_url_gets_v3() {
        let n = |u| normalize_auth_url(VimType::OpenStack, u).unwrap();
        assert_eq!(n("http://k/identity"), "http://k/identity/v3");
        assert_eq!(n("http://k/identity/"), "http://k/identity/v3");
        assert_eq!(n("http://k/identity/v3"), "http://k/identity/v3");
        assert_eq!(n("http://k/v3/"), "http://k/v3/");
        assert_eq!(
            normalize_auth_url(VimType::Kubernetes, "https://k8s:6443").unwrap(),
            "https://k8s:6443"
        );
        assert!(normalize_auth_url(VimType::OpenStack, "keystone").is_err());
        assert!(normalize_auth_url(VimType::OpenStack, "ftp://k/").is_err());
    }

    #[test]
    fn update_merge_follows_tacker() {
        let mut stored = map(json!({"bearer_token": "tok", "ssl_ca_cert": "ca", "auth_url": "u"}));
        merge_auth_cred(&mut stored, &map(json!({"username": "a", "password": "p"})));
        assert_eq!(
            stored,
            map(json!({"ssl_ca_cert": "ca", "auth_url": "u", "username": "a", "password": "p"}))
        );
        merge_auth_cred(&mut stored, &map(json!({"bearer_token": "t2"})));
        assert_eq!(
            stored,
            map(json!({"ssl_ca_cert": "ca", "auth_url": "u", "bearer_token": "t2"}))
        );
        let mut project = map(json!({"name": "nfv", "project_domain_name": "Default"}));
        deep_merge(&mut project, &map(json!({"name": "other"})));
        assert_eq!(
            project,
            map(json!({"name": "other", "project_domain_name": "Default"}))
        );
    }

    #[test]
    fn unknown_openstack_keys_are_a_400_not_a_500() {
        let request = map(json!({"username": "u", "password": "p", "bogus": 1}));
        let err = PlainCredentials::resolve(
            VimType::OpenStack,
            "http://k/v3".into(),
            map(json!({"name": "nfv"})),
            request.clone(),
            &request,
            &Map::new(),
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for auth_cred. Reason: unknown key(s) 'bogus' for type openstack."
        );
    }

    #[test]
    fn helm_needs_a_ca() {
        let request = map(json!({"bearer_token": "t"}));
        let err = PlainCredentials::resolve(
            VimType::Kubernetes,
            "https://k8s".into(),
            map(json!({"name": "default"})),
            request.clone(),
            &request,
            &map(json!({"use_helm": true})),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, Error::VimUnauthorized(_)));
    }
}
