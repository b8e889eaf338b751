//! Kubernetes (contract §9): `GET {auth_url}/api/` and `GET {auth_url}/api/v1/namespaces` with
//! the VIM's credentials; the namespaces become `placement_attr.regions`.

use secrecy::ExposeSecret;
use serde_json::Value;

use super::{Drivers, Placement, Secret, error_message, unreachable};
use crate::error::{Error, Result};

#[derive(Debug)]
pub enum KubernetesAuth {
    Bearer(Secret),
    Basic {
        username: String,
        password: Secret,
    },
    /// OpenID Connect password grant; the id token it returns is the bearer token.
    Oidc {
        token_url: String,
        username: String,
        password: Secret,
        client_id: String,
        client_secret: Option<Secret>,
    },
}

#[derive(Debug)]
pub struct KubernetesAccess {
    pub auth_url: String,
    pub auth: KubernetesAuth,
    /// PEM. Tacker verifies TLS only when a CA is given; so do we, for the same clusters.
    pub ssl_ca_cert: Option<String>,
}

pub(super) async fn validate(drivers: &Drivers, vim: &KubernetesAccess) -> Result<Placement> {
    let ca = vim.ssl_ca_cert.as_deref();
    let client = drivers.client_for(ca.is_some(), ca)?;
    let base = vim.auth_url.trim_end_matches('/');
    let bearer = match &vim.auth {
        KubernetesAuth::Oidc {
            token_url,
            username,
            password,
            client_id,
            client_secret,
        } => Some(
            oidc_id_token(
                &client,
                token_url,
                username,
                password,
                client_id,
                client_secret.as_ref(),
            )
            .await?,
        ),
        KubernetesAuth::Bearer(token) => Some(token.clone()),
        KubernetesAuth::Basic { .. } => None,
    };
    let get = |url: String| {
        let mut request = client.get(&url).header("Accept", "application/json");
        request = match (&vim.auth, &bearer) {
            (_, Some(token)) => request.bearer_auth(token.expose_secret()),
            (KubernetesAuth::Basic { username, password }, None) => {
                request.basic_auth(username, Some(password.expose_secret()))
            }
            _ => request,
        };
        async move {
            let response = request.send().await.map_err(|e| unreachable(&url, &e))?;
            let status = response.status();
            let body = response.text().await.map_err(|e| unreachable(&url, &e))?;
            if status == 401 || status == 403 {
                let reason = status.canonical_reason().unwrap_or("Unauthorized");
                let detail = error_message(&body)
                    .map(|m| format!("\n{m}"))
                    .unwrap_or_default();
                return Err(Error::VimUnauthorized(format!(
                    "({})\nReason: {reason}{detail}",
                    status.as_u16()
                )));
            }
            let json = serde_json::from_str::<Value>(&body)
                .ok()
                .filter(|_| status.is_success());
            json.ok_or_else(|| {
                Error::VimConnection(format!(
                    "{url} is not a Kubernetes API (HTTP {})",
                    status.as_u16()
                ))
            })
        }
    };

    get(format!("{base}/api/")).await?;
    let namespaces = get(format!("{base}/api/v1/namespaces")).await?;
    let regions = namespaces
        .get("items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.pointer("/metadata/name")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(Placement { regions })
}

async fn oidc_id_token(
    client: &reqwest::Client,
    token_url: &str,
    username: &str,
    password: &Secret,
    client_id: &str,
    client_secret: Option<&Secret>,
) -> Result<Secret> {
    let form = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "password")
            .append_pair("scope", "openid")
            .append_pair("username", username)
            .append_pair("password", password.expose_secret())
            .append_pair("client_id", client_id);
        if let Some(secret) = client_secret {
            form.append_pair("client_secret", secret.expose_secret());
        }
        form.finish()
    };
    let response = client
        .post(token_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|e| unreachable(token_url, &e))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| unreachable(token_url, &e))?;
    if !status.is_success() {
        return Err(Error::VimUnauthorized(format!(
            "OIDC token request to {token_url} failed (HTTP {})",
            status.as_u16()
        )));
    }
    serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("id_token")?
                .as_str()
                .map(|t| Secret::from(t.to_owned()))
        })
        .ok_or_else(|| {
            Error::VimUnauthorized(format!(
                "OIDC token response of {token_url} has no id_token"
            ))
        })
}
