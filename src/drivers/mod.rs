//! VIM validation (contract §9): is the endpoint there, do the credentials work, and which
//! regions (OpenStack) or namespaces (Kubernetes) does it offer.

mod kubernetes;
mod openstack;

use std::time::Duration;

use secrecy::SecretString;

use crate::error::{Error, Result};

pub use kubernetes::{KubernetesAccess, KubernetesAuth};
pub use openstack::{Named, OpenStackAccess};

/// What a VIM offers for placement: region ids, or Kubernetes namespaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub regions: Vec<String>,
}

/// Everything a driver needs to reach one VIM, secrets in clear.
#[derive(Debug)]
pub enum VimAccess {
    OpenStack(OpenStackAccess),
    Kubernetes(KubernetesAccess),
}

/// Validates VIMs over HTTP. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Drivers {
    enabled: bool,
    timeout: Duration,
    /// The client for the common case (system roots, certificates verified).
    client: reqwest::Client,
}

impl Drivers {
    pub fn new(enabled: bool, timeout: Duration) -> Result<Self> {
        // reqwest is built without a bundled crypto provider; rustls' ring provider is the one
        // sqlx already links. Installing twice (tests build many apps) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = client_builder(timeout)
            .build()
            .map_err(|e| Error::internal("building the HTTP client", e))?;
        Ok(Self {
            enabled,
            timeout,
            client,
        })
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Contacts the VIM and returns its placement. With validation off, nothing is contacted
    /// and the placement is empty.
    pub async fn validate(&self, access: &VimAccess) -> Result<Placement> {
        if !self.enabled {
            return Ok(Placement::default());
        }
        match access {
            VimAccess::OpenStack(os) => openstack::validate(self, os).await,
            VimAccess::Kubernetes(k8s) => kubernetes::validate(self, k8s).await,
        }
    }

    /// A client honouring one VIM's TLS choices; the shared one when it has none.
    fn client_for(&self, verify: bool, ca_pem: Option<&str>) -> Result<reqwest::Client> {
        if verify && ca_pem.is_none() {
            return Ok(self.client.clone());
        }
        let mut builder = client_builder(self.timeout).tls_danger_accept_invalid_certs(!verify);
        if let Some(pem) = ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                Error::invalid_input(
                    "auth_cred",
                    format!("ssl_ca_cert is not a PEM certificate: {e}"),
                )
            })?;
            builder = builder.tls_certs_only(certs);
        }
        builder
            .build()
            .map_err(|e| Error::internal("building the HTTP client", e))
    }
}

fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("tacker-vim/", env!("CARGO_PKG_VERSION")))
        // VIM endpoints are given explicitly; a redirect elsewhere is not followed with
        // credentials attached.
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
}

/// `Unable to establish connection to <url>: <cause>` — keystoneauth's wording.
fn unreachable(url: &str, err: &reqwest::Error) -> Error {
    let mut cause = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = source {
        if !cause.is_empty() {
            cause.push_str(": ");
        }
        cause.push_str(&e.to_string());
        source = e.source();
    }
    let what = if err.is_timeout() { "timed out" } else { "" };
    Error::VimConnection(format!(
        "Unable to establish connection to {url}: {}{cause}",
        if what.is_empty() {
            String::new()
        } else {
            format!("{what}: ")
        }
    ))
}

/// The `message` of an OpenStack or Kubernetes JSON error body, if it has one.
fn error_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value
        .pointer("/error/message")
        .or_else(|| value.get("message"))
        .and_then(|m| m.as_str())
        .map(str::to_owned)
}

/// Plain secrets as the drivers see them.
pub type Secret = SecretString;
