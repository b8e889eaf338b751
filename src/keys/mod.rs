//! The credential key store (DESIGN.md, "Keys").
//!
//! Flows ask for a [`SealingKey`] to encrypt a VIM's secrets and an [`Opener`] to decrypt them;
//! where keys live is the store's business. Today's store is [`FernetFileStore`] (Tacker's key
//! directory, per-VIM files and the shared default key); a key ring for rotation or an external
//! store (Barbican, Vault) implements the same trait without touching the flows.

mod fernet_key;
mod file;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use fernet::Fernet;
use secrecy::SecretString;

use crate::error::{Error, Result};

pub use fernet_key::{Fingerprint, KeyFileError, generate_key, read_key_file, write_key_file};
pub use file::FernetFileStore;

/// `auth_cred.key_type` of secrets this service encrypts.
pub const KEY_TYPE_FERNET: &str = "fernet_key";

#[async_trait]
pub trait KeyStore: Send + Sync + fmt::Debug {
    /// The key new secrets of `vim_id` are encrypted with. Key material it had to create is
    /// pending: it is removed again unless the caller [`SealingKey::keep`]s it.
    async fn sealing_key(&self, vim_id: &str) -> Result<SealingKey>;

    /// The keys this node holds that may open `vim_id`'s secrets.
    async fn opener(&self, vim_id: &str) -> Result<Opener>;

    /// Removes key material that only `vim_id` used. Never a shared key.
    async fn forget(&self, vim_id: &str) -> Result<()>;

    /// Ids of the VIMs that have key material of their own on this node.
    async fn vim_ids_with_keys(&self) -> Result<Vec<String>>;

    /// Where this store keeps keys, for operators' messages.
    fn describe(&self) -> String;
}

/// A key to encrypt with, and the file it created if it had to create one.
pub struct SealingKey {
    fernet: Fernet,
    fingerprint: Fingerprint,
    created: Option<PendingKeyFile>,
}

impl SealingKey {
    pub fn encrypt(&self, plaintext: &str) -> String {
        self.fernet.encrypt(plaintext.as_bytes())
    }

    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// The stored ciphertexts now need this key: never remove what it created.
    pub fn keep(mut self) {
        if let Some(pending) = self.created.take() {
            pending.keep();
        }
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("fingerprint", &self.fingerprint)
            .field("created", &self.created.as_ref().map(|p| &p.path))
            .finish()
    }
}

/// Key files written for flows that have not committed yet, shared by the requests of this
/// node that use them: a file is removed when the last of its requests lets go and none of
/// them committed ciphertexts sealed with it.
///
/// Without the sharing, a second concurrent update of the same VIM would seal with the file
/// the first one just wrote; the first one failing would then remove a key that the second
/// one's committed ciphertexts need.
#[derive(Debug, Clone, Default)]
struct PendingKeyFiles(Arc<Mutex<HashMap<PathBuf, PendingState>>>);

#[derive(Debug)]
struct PendingState {
    holders: usize,
    kept: bool,
}

impl PendingKeyFiles {
    fn lock(&self) -> MutexGuard<'_, HashMap<PathBuf, PendingState>> {
        // The map stays consistent even if a holder panicked: every change is one statement.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One request's hold on a pending key file. Dropped without [`keep`], it lets go; the last
/// one to let go of a file nobody kept removes it, so a failed create or update leaves no key
/// file behind.
///
/// [`keep`]: PendingKeyFile::keep
struct PendingKeyFile {
    path: PathBuf,
    files: PendingKeyFiles,
}

impl PendingKeyFile {
    fn keep(self) {
        if let Some(state) = self.files.lock().get_mut(&self.path) {
            state.kept = true;
        }
    }
}

impl Drop for PendingKeyFile {
    fn drop(&mut self) {
        let mut pending = self.files.lock();
        let Some(state) = pending.get_mut(&self.path) else {
            return;
        };
        state.holders -= 1;
        if state.holders > 0 {
            return;
        }
        let kept = state.kept;
        pending.remove(&self.path);
        if !kept {
            // One unlink of a file no committed request needs: cheap, and it must also run on
            // unwind. The lock is held so that no request adopts the file meanwhile.
            if let Err(err) = std::fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %err,
                    "could not remove the key file of a failed request");
            }
        }
    }
}

/// One place a key may be, and what this node found there.
#[derive(Clone)]
pub struct CandidateKey {
    pub path: PathBuf,
    pub found: Found,
}

#[derive(Clone)]
pub enum Found {
    Key(Fernet, Fingerprint),
    Absent,
    /// There, but not usable (not a Fernet key, unreadable): the reason, for the message.
    Unusable(String),
}

/// Opens a VIM's tokens with whichever candidate key verifies them.
pub struct Opener {
    vim_id: String,
    candidates: Vec<CandidateKey>,
}

impl Opener {
    pub fn new(vim_id: &str, candidates: Vec<CandidateKey>) -> Self {
        Self {
            vim_id: vim_id.to_owned(),
            candidates,
        }
    }

    /// Decrypts `token` with the first candidate whose HMAC verifies, so that a stale per-VIM
    /// file cannot shadow the key that really sealed it.
    pub fn open(&self, token: &str) -> Result<SecretString> {
        for candidate in &self.candidates {
            let Found::Key(fernet, _) = &candidate.found else {
                continue;
            };
            // Stored credentials carry no TTL, so a token's timestamp is no freshness claim:
            // accept any, or a node whose clock lags more than fernet's 60 s skew allowance
            // could not read what a node ahead of it wrote.
            if let Ok(plain) = fernet.decrypt_at_time(token, None, NO_TIME_LIMIT) {
                let text = String::from_utf8(plain)
                    .map_err(|_| Error::internal("a decrypted secret is not UTF-8", fmt::Error))?;
                return Ok(SecretString::from(text));
            }
        }
        Err(Error::VimKeyNotFound {
            vim_id: self.vim_id.clone(),
            tried: self.describe_tried(),
        })
    }

    fn describe_tried(&self) -> String {
        if self.candidates.is_empty() {
            return "this node holds no key for it".into();
        }
        let tried: Vec<String> = self
            .candidates
            .iter()
            .map(|c| match &c.found {
                Found::Absent => format!("{} (absent on this node)", c.path.display()),
                Found::Unusable(reason) => format!("{} ({reason})", c.path.display()),
                Found::Key(_, fp) => format!(
                    "{} (fingerprint {fp}: does not open its secrets)",
                    c.path.display()
                ),
            })
            .collect();
        format!("tried {}", tried.join(", "))
    }
}

/// Far enough ahead that fernet's future-timestamp check never fires, yet far from overflow.
const NO_TIME_LIMIT: u64 = i64::MAX as u64;

#[cfg(test)]
mod tests;
