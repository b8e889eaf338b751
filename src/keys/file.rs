//! Tacker's key directory (`[vim_keys] openstack`): a shared default key, per-VIM key files.

use std::collections::HashMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use fernet::Fernet;

use super::{
    CandidateKey, Fingerprint, Found, KeyFileError, KeyStore, Opener, PendingKeyFile,
    PendingKeyFiles, PendingState, SealingKey, generate_key, read_key_file, write_key_file,
};
use crate::error::{Error, Result};

/// Keys in one directory of this node.
///
/// With a default key configured, every new secret is sealed with it and no per-VIM file is
/// written, so every node holding the same file can open every VIM. Without one, each VIM gets
/// its own key file named by its id (Tacker's legacy mode, usable on the writing node only).
#[derive(Debug, Clone)]
pub struct FernetFileStore {
    dir: PathBuf,
    default_key: Option<DefaultKey>,
    pending: PendingKeyFiles,
}

#[derive(Clone)]
struct DefaultKey {
    path: PathBuf,
    fernet: Fernet,
    fingerprint: Fingerprint,
}

impl std::fmt::Debug for DefaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultKey")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl FernetFileStore {
    /// Opens the key directory, creating it with mode 0700 if missing, and loads the default
    /// key once: a configured default key that is missing, unreadable or not a Fernet key stops
    /// start-up, naming the path.
    pub fn open(dir: &Path, default_secret_key: Option<&str>) -> Result<Self, KeyFileError> {
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|cause| KeyFileError::Io {
                    path: dir.display().to_string(),
                    cause,
                })?;
        }
        let default_key = match default_secret_key {
            None => None,
            Some(name) => {
                let path = dir.join(name);
                let (fernet, fingerprint, too_open) = read_key_file(&path)?;
                if too_open {
                    tracing::warn!(path = %path.display(),
                        "the default key file is readable by group or others; chmod 600 it");
                }
                tracing::info!(path = %path.display(), %fingerprint, "default VIM key loaded");
                Some(DefaultKey {
                    path,
                    fernet,
                    fingerprint,
                })
            }
        };
        Ok(Self {
            dir: dir.to_owned(),
            default_key,
            pending: PendingKeyFiles::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn default_fingerprint(&self) -> Option<&Fingerprint> {
        self.default_key.as_ref().map(|k| &k.fingerprint)
    }

    /// The per-VIM key file of `vim_id`. Ids are UUIDs; anything else could name a path
    /// outside the directory or the default key itself, so it is refused.
    fn per_vim_path(&self, vim_id: &str) -> Result<PathBuf> {
        let plain = !vim_id.is_empty()
            && vim_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let is_default = self
            .default_key
            .as_ref()
            .is_some_and(|k| k.path.file_name() == Some(vim_id.as_ref()));
        if !plain || is_default {
            return Err(Error::internal(
                "per-VIM key file name",
                anyhow::anyhow!("refusing key file name {vim_id:?}"),
            ));
        }
        Ok(self.dir.join(vim_id))
    }

    async fn per_vim_key_ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut entries = tokio::fs::read_dir(&self.dir)
            .await
            .map_err(|e| Error::internal("reading the key directory", e))?;
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| Error::internal("reading the key directory", e))?
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if uuid::Uuid::try_parse(&name).is_ok() {
                ids.push(name);
            }
        }
        Ok(ids)
    }
}

/// What is at a key path.
fn read_found(path: &Path) -> Found {
    match read_key_file(path) {
        Ok((fernet, fingerprint, _)) => Found::Key(fernet, fingerprint),
        Err(KeyFileError::Io { cause, .. }) if cause.kind() == std::io::ErrorKind::NotFound => {
            Found::Absent
        }
        Err(KeyFileError::NotAKey { .. }) => Found::Unusable("not a Fernet key".into()),
        Err(err) => Found::Unusable(format!("unreadable: {err}")),
    }
}

/// What is at a per-VIM key path. Reading a 44-byte file is quick, but it is still a
/// blocking call: it runs on tokio's blocking pool.
async fn look_up(path: PathBuf) -> Result<Found> {
    tokio::task::spawn_blocking(move || read_found(&path))
        .await
        .map_err(|e| Error::internal("key file task", e))
}

/// Legacy mode: the VIM's own key file, written if it has none. The file is reused rather
/// than replaced, since ciphertexts sealed with it stay stored until new ones commit; one
/// another request of this node has just written is shared with it (see [`PendingKeyFiles`]).
/// Runs under the pending-files lock, so a file is never adopted while it is being removed.
fn per_vim_sealing_key(
    vim_id: &str,
    path: PathBuf,
    pending: &PendingKeyFiles,
) -> Result<SealingKey> {
    let mut files = pending.lock();
    let hold = |files: &mut HashMap<PathBuf, PendingState>, path: &Path| {
        files.get_mut(path).map(|state| {
            state.holders += 1;
            PendingKeyFile {
                path: path.to_owned(),
                files: pending.clone(),
            }
        })
    };
    match read_found(&path) {
        Found::Key(fernet, fingerprint) => Ok(SealingKey {
            fernet,
            fingerprint,
            created: hold(&mut files, &path),
        }),
        // A damaged file is the operator's to look at, not ours to overwrite.
        Found::Unusable(reason) => Err(Error::VimKeyNotFound {
            vim_id: vim_id.to_owned(),
            tried: format!("{} ({reason})", path.display()),
        }),
        Found::Absent => {
            let key = generate_key();
            match write_key_file(&path, &key, false) {
                Ok(fingerprint) => {
                    files.insert(
                        path.clone(),
                        PendingState {
                            holders: 0,
                            kept: false,
                        },
                    );
                    Ok(SealingKey {
                        fernet: Fernet::new(&key).expect("a generated key is valid"),
                        fingerprint,
                        created: hold(&mut files, &path),
                    })
                }
                // Another process sharing this directory wrote it first: use theirs.
                Err(KeyFileError::Exists { .. }) => match read_found(&path) {
                    Found::Key(fernet, fingerprint) => Ok(SealingKey {
                        fernet,
                        fingerprint,
                        created: None,
                    }),
                    _ => Err(Error::internal(
                        "key file",
                        anyhow::anyhow!("another process's key file for {vim_id} is unusable"),
                    )),
                },
                Err(err) => Err(Error::VimKeyNotFound {
                    vim_id: vim_id.to_owned(),
                    tried: format!("could not write its key file: {err}"),
                }),
            }
        }
    }
}

#[async_trait]
impl KeyStore for FernetFileStore {
    async fn sealing_key(&self, vim_id: &str) -> Result<SealingKey> {
        if let Some(default) = &self.default_key {
            return Ok(SealingKey {
                fernet: default.fernet.clone(),
                fingerprint: default.fingerprint.clone(),
                created: None,
            });
        }
        let path = self.per_vim_path(vim_id)?;
        let (vim_id, pending) = (vim_id.to_owned(), self.pending.clone());
        tokio::task::spawn_blocking(move || per_vim_sealing_key(&vim_id, path, &pending))
            .await
            .map_err(|e| Error::internal("key file task", e))?
    }

    async fn opener(&self, vim_id: &str) -> Result<Opener> {
        let path = self.per_vim_path(vim_id)?;
        let mut candidates = vec![CandidateKey {
            found: look_up(path.clone()).await?,
            path,
        }];
        if let Some(default) = &self.default_key {
            candidates.push(CandidateKey {
                path: default.path.clone(),
                found: Found::Key(default.fernet.clone(), default.fingerprint.clone()),
            });
        }
        Ok(Opener::new(vim_id, candidates))
    }

    async fn forget(&self, vim_id: &str) -> Result<()> {
        let path = self.per_vim_path(vim_id)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                tracing::info!(vim_id, path = %path.display(), "removed the VIM's key file");
                Ok(())
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(Error::internal("removing a VIM key file", err)),
        }
    }

    async fn vim_ids_with_keys(&self) -> Result<Vec<String>> {
        self.per_vim_key_ids().await
    }

    fn describe(&self) -> String {
        match &self.default_key {
            Some(k) => format!(
                "key directory {} with default key {} (fingerprint {})",
                self.dir.display(),
                k.path.display(),
                k.fingerprint
            ),
            None => format!("key directory {} (a key per VIM)", self.dir.display()),
        }
    }
}
