//! The VIM registry's domain: Tacker's rules and the register / update / delete flows.
//!
//! Each flow validates, talks to the VIM through `drivers`, seals secrets through `keys`, and
//! writes in one database transaction. It knows nothing of HTTP.

pub mod credentials;
mod filter;
mod request;
mod store;

use std::sync::Arc;

use chrono::NaiveDateTime;
use entity::{vimauths, vims};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use serde_json::{Map, Value, json};

use crate::drivers::{Drivers, Placement};
use crate::error::{Error, Result};
use crate::keys::KeyStore;
use credentials::{
    PlainCredentials, StoredCredentials, VimType, deep_merge, merge_auth_cred, normalize_auth_url,
    stored_with_password,
};

pub use filter::{ListQuery, parse_list_query};

/// A VIM as stored, secrets still sealed.
#[derive(Debug, Clone)]
pub struct Vim {
    pub id: String,
    pub vim_type: String,
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    pub placement_attr: Value,
    pub is_default: bool,
    pub created_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
    pub extra: Map<String, Value>,
    pub auth_url: String,
    pub vim_project: Map<String, Value>,
    /// As stored: sealed secrets are Fernet tokens, the password is not in it.
    pub auth_cred: Map<String, Value>,
    password: Option<String>,
}

impl Vim {
    /// Whether a password is stored (responses show it masked).
    pub fn has_password(&self) -> bool {
        self.password.as_deref().is_some_and(|p| !p.is_empty())
    }

    fn from_row((vim, auth): store::Row) -> Result<Self> {
        let object = |text: Option<String>, column: &str| -> Result<Map<String, Value>> {
            match text.as_deref().map(serde_json::from_str::<Value>) {
                None => Ok(Map::new()),
                Some(Ok(Value::Object(map))) => Ok(map),
                Some(Ok(Value::Null)) => Ok(Map::new()),
                Some(_) => Err(Error::internal(
                    "stored VIM",
                    anyhow::anyhow!("{column} of VIM {} is not a JSON object", vim.id),
                )),
            }
        };
        let placement_attr = match vim.placement_attr.as_deref() {
            None => Value::Null,
            Some(text) => serde_json::from_str(text).map_err(|e| {
                Error::internal("stored VIM", anyhow::anyhow!("placement_attr: {e}"))
            })?,
        };
        Ok(Self {
            extra: object(vim.extra, "extra")?,
            vim_project: object(auth.vim_project, "vim_project")?,
            auth_cred: object(auth.auth_cred, "auth_cred")?,
            id: vim.id,
            vim_type: vim.r#type,
            tenant_id: vim.tenant_id,
            name: vim.name,
            description: vim.description.unwrap_or_default(),
            placement_attr,
            is_default: vim.is_default,
            created_at: vim.created_at,
            updated_at: vim.updated_at,
            auth_url: auth.auth_url,
            password: auth.password,
        })
    }
}

/// Rows fetched per list query: memory stays bounded however many VIMs a list returns. Each
/// list in flight holds one rendered page (about 75 KB at 128). Pages of 256 raised the peak
/// RSS under 64 concurrent lists from 41 to 62 MB (scripts/bench.sh); the price is one more
/// query per 128 VIMs of a long list.
const LIST_PAGE: u64 = 128;

/// A list of VIMs, read from the database a page at a time.
pub struct VimPages {
    db: DatabaseConnection,
    condition: sea_orm::Condition,
    /// The first page, read before the response starts.
    first: Option<Vec<store::Row>>,
    last_id: Option<String>,
    exhausted: bool,
}

impl VimPages {
    async fn fetch(&mut self) -> Result<Vec<store::Row>> {
        let rows = store::list_live_page(
            &self.db,
            self.condition.clone(),
            self.last_id.as_deref(),
            LIST_PAGE,
        )
        .await?;
        self.exhausted = (rows.len() as u64) < LIST_PAGE;
        if let Some((vim, _)) = rows.last() {
            self.last_id = Some(vim.id.clone());
        }
        Ok(rows)
    }

    /// The next page of VIMs in id order; an empty one once the list is done.
    pub async fn next_page(&mut self) -> Result<impl Iterator<Item = Result<Vim>> + use<>> {
        let rows = match self.first.take() {
            Some(rows) => rows,
            None if self.exhausted => Vec::new(),
            None => self.fetch().await?,
        };
        Ok(rows.into_iter().map(Vim::from_row))
    }

    /// Whether every page has been handed out.
    pub fn is_done(&self) -> bool {
        self.first.is_none() && self.exhausted
    }
}

/// The VIM flows, with what they need. Cheap to clone.
#[derive(Debug, Clone)]
pub struct VimService {
    db: DatabaseConnection,
    keys: Arc<dyn KeyStore>,
    drivers: Drivers,
}

/// `placement_attr` as Tacker stores and shows it.
fn placement_attr(placement: &Placement) -> Value {
    json!({ "regions": placement.regions })
}

/// Ids are UUIDs; anything else cannot name a VIM.
fn is_vim_id(id: &str) -> bool {
    uuid::Uuid::try_parse(id).is_ok()
}

impl VimService {
    pub fn new(db: DatabaseConnection, keys: Arc<dyn KeyStore>, drivers: Drivers) -> Self {
        Self { db, keys, drivers }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The live VIMs matching `query`, in id order. The first page is read now, so a query
    /// the database rejects fails here, before any response is under way.
    pub async fn list(&self, query: ListQuery) -> Result<VimPages> {
        let mut pages = VimPages {
            db: self.db.clone(),
            condition: query.condition,
            first: None,
            last_id: None,
            exhausted: false,
        };
        pages.first = Some(pages.fetch().await?);
        Ok(pages)
    }

    pub async fn show(&self, id: &str) -> Result<Vim> {
        if !is_vim_id(id) {
            return Err(Error::VimNotFound { id: id.to_owned() });
        }
        let row = store::find_live(&self.db, id)
            .await?
            .ok_or_else(|| Error::VimNotFound { id: id.to_owned() })?;
        Vim::from_row(row)
    }

    /// Writing flows run to completion in their own task: a client that disconnects, or a
    /// request timeout, must not stop a flow between its commit and its key-file bookkeeping.
    async fn to_completion<T: Send + 'static>(
        flow: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        tokio::spawn(flow)
            .await
            .map_err(|e| Error::internal("VIM flow task", e))?
    }

    pub async fn create(&self, body: Option<Value>) -> Result<Vim> {
        let this = self.clone();
        Self::to_completion(async move { this.register(body).await }).await
    }

    pub async fn update(&self, id: &str, body: Option<Value>) -> Result<Vim> {
        let (this, id) = (self.clone(), id.to_owned());
        Self::to_completion(async move { this.change(&id, body).await }).await
    }

    pub async fn delete(&self, id: &str) -> Result<()> {
        let (this, id) = (self.clone(), id.to_owned());
        Self::to_completion(async move { this.remove(&id).await }).await
    }

    async fn register(&self, body: Option<Value>) -> Result<Vim> {
        let new = request::parse_create(body)?;
        let vim_type = VimType::parse(&new.vim_type)?;
        let auth_url = normalize_auth_url(vim_type, &new.auth_url)?;
        let credentials = PlainCredentials::resolve(
            vim_type,
            auth_url.clone(),
            new.vim_project.clone(),
            new.auth_cred.clone(),
            &new.auth_cred,
            &new.extra,
            None,
        )?;
        // Cheap checks first, so a doomed request neither calls the VIM nor writes a key.
        // The database's unique indexes decide the races these cannot see.
        if store::find_by_name(&self.db, &new.tenant_id, &new.name, None)
            .await?
            .is_some()
        {
            return Err(Error::DuplicateName);
        }
        if new.is_default
            && let Some(existing_id) = store::find_default(&self.db, &new.tenant_id, None).await?
        {
            return Err(Error::DefaultDuplicate { existing_id });
        }
        let placement = self.drivers.validate(&credentials.access()?).await?;

        let id = uuid::Uuid::new_v4().to_string();
        let key = self.keys.sealing_key(&id).await?;
        let sealed = credentials.seal(&key);
        let created_at = store::now();
        let vim = vims::ActiveModel {
            id: Set(id.clone()),
            r#type: Set(vim_type.as_str().to_owned()),
            tenant_id: Set(new.tenant_id.clone()),
            name: Set(new.name.clone()),
            description: Set(Some(new.description.clone())),
            placement_attr: Set(Some(placement_attr(&placement).to_string())),
            shared: Set(false),
            is_default: Set(new.is_default),
            default_marker: Set(None),
            created_at: Set(Some(created_at)),
            updated_at: Set(None),
            deleted_at: Set(store::live()),
            extra: Set(Some(Value::Object(new.extra.clone()).to_string())),
        };
        let auth = vimauths::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            vim_id: Set(id.clone()),
            password: Set(sealed.password.clone()),
            auth_url: Set(auth_url.clone()),
            vim_project: Set(Some(Value::Object(new.vim_project.clone()).to_string())),
            auth_cred: Set(Some(Value::Object(sealed.auth_cred.clone()).to_string())),
        };
        if let Err(err) =
            store::insert(&self.db, vim, auth, &id, &new.tenant_id, new.is_default).await
        {
            // `key` drops here: a key file made for this VIM is removed with the failed row.
            return Err(err.into_error(&self.db, &id).await);
        }
        let key_fingerprint = key.fingerprint().clone();
        key.keep();
        tracing::info!(vim_id = %id, tenant_id = %new.tenant_id, name = %new.name,
            %key_fingerprint, "VIM registered");
        Ok(Vim {
            id,
            vim_type: vim_type.as_str().to_owned(),
            tenant_id: new.tenant_id,
            name: new.name,
            description: new.description,
            placement_attr: placement_attr(&placement),
            is_default: new.is_default,
            created_at: Some(created_at),
            updated_at: None,
            extra: new.extra,
            auth_url,
            vim_project: new.vim_project,
            auth_cred: sealed.auth_cred,
            password: sealed.password,
        })
    }

    async fn change(&self, id: &str, body: Option<Value>) -> Result<Vim> {
        let changes = request::parse_update(body)?;
        let current = self.show(id).await?;

        if let Some(name) = changes.name.as_deref().filter(|n| *n != current.name)
            && store::find_by_name(&self.db, &current.tenant_id, name, Some(id))
                .await?
                .is_some()
        {
            return Err(Error::DuplicateName);
        }
        if changes.is_default == Some(true)
            && !current.is_default
            && let Some(existing_id) =
                store::find_default(&self.db, &current.tenant_id, Some(id)).await?
        {
            return Err(Error::DefaultDuplicate { existing_id });
        }
        let mut extra = current.extra.clone();
        if let Some(update) = &changes.extra {
            deep_merge(&mut extra, update);
        }

        let updated_at = store::now();
        let mut update = store::VimUpdate {
            name: changes.name.clone(),
            description: changes.description.clone(),
            is_default: changes.is_default,
            extra: changes
                .extra
                .as_ref()
                .map(|_| Value::Object(extra.clone()).to_string()),
            updated_at,
            ..Default::default()
        };
        let mut revalidated = None;
        if changes.touches_credentials() {
            let vim_type = VimType::parse(&current.vim_type)?;
            let mut vim_project = current.vim_project.clone();
            if let Some(project) = &changes.vim_project {
                deep_merge(&mut vim_project, project);
            }
            let request_cred = changes.auth_cred.clone().unwrap_or_default();
            let mut merged = stored_with_password(&StoredCredentials {
                auth_cred: &current.auth_cred,
                password: current.password.as_deref(),
            });
            merge_auth_cred(&mut merged, &request_cred);
            // Re-validating without a new secret means opening the stored one.
            let opener = if PlainCredentials::needs_stored_secrets(vim_type, &merged, &request_cred)
            {
                Some(self.keys.opener(id).await?)
            } else {
                None
            };
            let credentials = PlainCredentials::resolve(
                vim_type,
                current.auth_url.clone(),
                vim_project.clone(),
                merged,
                &request_cred,
                &extra,
                opener.as_ref(),
            )?;
            let placement = self.drivers.validate(&credentials.access()?).await?;
            let key = self.keys.sealing_key(id).await?;
            let sealed = credentials.seal(&key);
            update.placement_attr = Some(placement_attr(&placement).to_string());
            update.auth = Some(store::AuthUpdate {
                auth_cred: Value::Object(sealed.auth_cred.clone()).to_string(),
                password: sealed.password.clone(),
                vim_project: Value::Object(vim_project.clone()).to_string(),
            });
            revalidated = Some((key, sealed, vim_project, placement));
        }
        if let Err(err) = store::update(&self.db, id, &current.tenant_id, update).await {
            return Err(err.into_error(&self.db, id).await);
        }
        // The response is what this update committed, built here rather than read back: one
        // statement less, and a delete through another node right after the commit cannot
        // turn a successful update into a 404.
        let mut vim = current;
        if let Some(name) = changes.name {
            vim.name = name;
        }
        if let Some(description) = changes.description {
            vim.description = description;
        }
        if let Some(is_default) = changes.is_default {
            vim.is_default = is_default;
        }
        vim.extra = extra;
        vim.updated_at = Some(updated_at);
        if let Some((key, sealed, vim_project, placement)) = revalidated {
            key.keep();
            vim.auth_cred = sealed.auth_cred;
            vim.password = sealed.password;
            vim.vim_project = vim_project;
            vim.placement_attr = placement_attr(&placement);
        }
        tracing::info!(vim_id = %id, "VIM updated");
        Ok(vim)
    }

    /// Removes this node's key files of VIMs deleted through any node: the node that deletes
    /// a VIM removes only its own copy. Files of ids with no row are left alone, since a VIM
    /// being registered has its key file before its row commits.
    pub async fn sweep_deleted_vim_keys(&self) -> Result<usize> {
        let with_keys = self.keys.vim_ids_with_keys().await?;
        let deleted = store::deleted_among(&self.db, with_keys).await?;
        for id in &deleted {
            self.keys.forget(id).await?;
        }
        Ok(deleted.len())
    }

    async fn remove(&self, id: &str) -> Result<()> {
        if !is_vim_id(id) || !store::soft_delete(&self.db, id).await? {
            return Err(Error::VimNotFound { id: id.to_owned() });
        }
        // The row is gone first: removing the key before would strand a stored ciphertext if
        // the delete failed. A key file that outlives a failure here is only a leftover.
        if let Err(err) = self.keys.forget(id).await {
            tracing::warn!(vim_id = %id, error = %err, "VIM deleted, but its key file was not removed");
        }
        tracing::info!(vim_id = %id, "VIM deleted");
        Ok(())
    }
}
