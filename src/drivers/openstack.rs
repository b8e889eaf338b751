//! OpenStack: Keystone v3 (contract §9): `GET {auth_url}`, password authentication scoped to
//! the VIM's project, then `GET {auth_url}/regions` for the region ids.

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{Drivers, Placement, Secret, error_message, unreachable};
use crate::error::{Error, Result};

/// A Keystone name-or-id reference, as `auth_cred`/`vim_project` give it.
#[derive(Debug, Clone)]
pub enum Named {
    Id(String),
    Name(String),
}

impl Named {
    fn to_json(&self) -> Value {
        match self {
            Named::Id(id) => json!({ "id": id }),
            Named::Name(name) => json!({ "name": name }),
        }
    }
}

#[derive(Debug)]
pub struct OpenStackAccess {
    /// Normalised to end in `/v3`.
    pub auth_url: String,
    pub user: Named,
    pub user_domain: Option<Named>,
    pub password: Secret,
    pub project: Named,
    pub project_domain: Option<Named>,
    pub cert_verify: bool,
}

pub(super) async fn validate(drivers: &Drivers, vim: &OpenStackAccess) -> Result<Placement> {
    let client = drivers.client_for(vim.cert_verify, None)?;
    let base = vim.auth_url.trim_end_matches('/');

    // Is it there, and is it a Keystone v3?
    let response = client
        .get(base)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| unreachable(base, &e))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| unreachable(base, &e))?;
    let is_keystone = serde_json::from_str::<Value>(&body)
        .ok()
        .is_some_and(|v| v.get("version").is_some() || v.get("versions").is_some());
    if !status.is_success() || !is_keystone {
        return Err(Error::VimConnection(format!(
            "Unrecognized schema in response body from {base}: not a Keystone v3 endpoint (HTTP {})",
            status.as_u16()
        )));
    }

    let token = authenticate(&client, base, vim).await?;

    let url = format!("{base}/regions");
    let response = client
        .get(&url)
        .header("X-Auth-Token", token.expose_secret())
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| unreachable(&url, &e))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| unreachable(&url, &e))?;
    check_auth_status(status, &body)?;
    let regions = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("regions")?.as_array().map(|regions| {
                regions
                    .iter()
                    .filter_map(|r| r.get("id")?.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
        })
        .ok_or_else(|| {
            Error::VimConnection(format!(
                "Unrecognized schema in response body from {url} (HTTP {})",
                status.as_u16()
            ))
        })?;
    Ok(Placement { regions })
}

/// Password authentication, project-scoped; returns the `X-Subject-Token`.
async fn authenticate(
    client: &reqwest::Client,
    base: &str,
    vim: &OpenStackAccess,
) -> Result<Secret> {
    let mut user = vim.user.to_json();
    if let Some(domain) = &vim.user_domain {
        user["domain"] = domain.to_json();
    }
    user["password"] = Value::String(vim.password.expose_secret().to_owned());
    let mut project = vim.project.to_json();
    if let Some(domain) = &vim.project_domain {
        project["domain"] = domain.to_json();
    }
    let body = json!({
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"project": project},
        }
    });
    let url = format!("{base}/auth/tokens");
    let response = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| unreachable(&url, &e))?;
    let status = response.status();
    let token = response
        .headers()
        .get("X-Subject-Token")
        .and_then(|t| t.to_str().ok())
        .map(|t| Secret::from(t.to_owned()));
    let text = response.text().await.map_err(|e| unreachable(&url, &e))?;
    check_auth_status(status, &text)?;
    token.ok_or_else(|| {
        Error::VimConnection(format!(
            "{url} answered HTTP {} without an X-Subject-Token",
            status.as_u16()
        ))
    })
}

/// Keystone's 400/401/403/404 on authentication mean the credentials or scope are wrong;
/// other failures mean the endpoint misbehaves.
fn check_auth_status(status: reqwest::StatusCode, body: &str) -> Result<()> {
    if status.is_success() {
        return Ok(());
    }
    let code = status.as_u16();
    let default = match code {
        401 => "The request you have made requires authentication.",
        403 => "You are not authorized to perform the requested action.",
        400 => "Expecting to find valid credentials in the request.",
        404 => "Could not find the requested project or user.",
        _ => "Keystone failed to authenticate",
    };
    let message = error_message(body).unwrap_or_else(|| default.to_owned());
    let text = format!("{message} (HTTP {code})");
    if matches!(code, 400 | 401 | 403 | 404) {
        Err(Error::VimUnauthorized(text))
    } else {
        Err(Error::VimConnection(text))
    }
}
