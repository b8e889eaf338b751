//! The one error type of the service. The domain raises these; `api::error` holds the single
//! map to HTTP status codes and Tacker's `TackerError` envelope.

use sea_orm::DbErr;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Tacker's request validation (`HTTPBadRequest`), message as Tacker words it.
    #[error("{0}")]
    BadRequest(String),

    /// A body Tacker rejects before reading it as a VIM (its `BadRequest` type).
    #[error("{0}")]
    BadBody(String),

    /// A body that is not JSON at all.
    #[error("Malformed request body: Cannot understand JSON")]
    MalformedBody,

    /// A body larger than `[oslo_middleware] max_request_body_size`.
    #[error("Request is too large: larger than the {limit} bytes allowed.")]
    BodyTooLarge { limit: usize },

    #[error("Specified VIM id {id} is invalid. Please verify and pass a valid VIM id")]
    VimNotFound { id: String },

    #[error("vim already exist with given ['tenant_id', 'name', 'deleted_at']")]
    DuplicateName,

    #[error("Default VIM already exists {existing_id}.")]
    DefaultDuplicate { existing_id: String },

    /// The VIM rejected the credentials (Keystone 401/400, Kubernetes 401/403).
    #[error("{0}")]
    VimUnauthorized(String),

    /// The VIM endpoint is unreachable or is not what its type says.
    #[error("{0}")]
    VimConnection(String),

    /// No key this node holds opens the VIM's stored secrets.
    #[error("Unable to find key file for VIM {vim_id}: {tried}")]
    VimKeyNotFound { vim_id: String, tried: String },

    /// The configured shared default key cannot be used.
    #[error("Unable to find default key file: {0}")]
    DefaultKeyNotFound(String),

    /// Unknown path (the envelope's `HTTPNotFound`).
    #[error("The resource could not be found.")]
    RouteNotFound,

    #[error(
        "The server could not comply with the request since it is either malformed or otherwise incorrect."
    )]
    MethodNotAllowed,

    #[error("The request took too long to process.")]
    Timeout,

    /// Anything the client cannot fix. The detail is logged, never returned.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        Error::Internal(anyhow::Error::new(err).context("database"))
    }
}

impl Error {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Error::BadRequest(message.into())
    }

    /// `Invalid input for <attr>. Reason: <reason>.` — Tacker's validation message pattern.
    pub fn invalid_input(attr: &str, reason: impl std::fmt::Display) -> Self {
        Error::BadRequest(format!("Invalid input for {attr}. Reason: {reason}."))
    }

    pub fn internal(context: &'static str, err: impl Into<anyhow::Error>) -> Self {
        Error::Internal(err.into().context(context))
    }
}
