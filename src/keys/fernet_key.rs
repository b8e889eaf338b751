//! Fernet key files: generation, atomic writing, tolerant reading, fingerprints.
//!
//! Files are what Python's `cryptography.fernet` and Tacker use: 44 bytes of urlsafe base64,
//! no newline, mode 0600. Files written by hand (`echo KEY > default.key`) end in a newline;
//! reading trims it, since fernet-rs would otherwise reject the key.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use fernet::Fernet;
use sha2::{Digest, Sha256};

/// A short, stable name for a key that reveals nothing of it: the first 8 bytes of the
/// SHA-256 of its text, in hex.
#[derive(Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(key_text: &str) -> Self {
        let digest = Sha256::digest(key_text.trim().as_bytes());
        Self(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    // The cause is part of the message, not a `source`: chained error printing would repeat it.
    #[error("{path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("{path} is not a Fernet key (expected 32 bytes of urlsafe base64)")]
    NotAKey { path: String },
    #[error("{path} already exists; pass --force to replace it")]
    Exists { path: String },
}

fn io_error(path: &Path, cause: std::io::Error) -> KeyFileError {
    KeyFileError::Io {
        path: path.display().to_string(),
        cause,
    }
}

/// tempfile's errors name its temporary file; the operator knows only the target path.
fn plain(err: std::io::Error) -> std::io::Error {
    std::io::Error::from(err.kind())
}

pub fn generate_key() -> String {
    Fernet::generate_key()
}

/// Reads a key file, tolerating surrounding whitespace. Returns the key, its fingerprint and
/// whether group or others may read it (worth a warning: anyone who can read it can read
/// every VIM password).
pub fn read_key_file(path: &Path) -> Result<(Fernet, Fingerprint, bool), KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    let mode = std::fs::metadata(path)
        .map_err(|e| io_error(path, e))?
        .permissions()
        .mode();
    let fernet = Fernet::new(text.trim()).ok_or_else(|| KeyFileError::NotAKey {
        path: path.display().to_string(),
    })?;
    Ok((fernet, Fingerprint::of(&text), mode & 0o077 != 0))
}

/// Writes `key` to `path` atomically (a temporary file in the same directory, then a rename)
/// with mode 0600, so a reader never sees half a key. Without `replace`, an existing file is
/// left alone and reported, even if it appears between the check and the rename.
pub fn write_key_file(path: &Path, key: &str, replace: bool) -> Result<Fingerprint, KeyFileError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let exists = || KeyFileError::Exists {
        path: path.display().to_string(),
    };
    if !dir.is_dir() {
        return Err(io_error(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
        ));
    }
    if !replace && path.exists() {
        return Err(exists());
    }
    // tempfile creates the file with mode 0600.
    let mut tmp = tempfile::Builder::new()
        .prefix(".tacker-vim-key-")
        .tempfile_in(dir)
        .map_err(|e| io_error(path, plain(e)))?;
    tmp.write_all(key.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io_error(path, plain(e)))?;
    if replace {
        tmp.persist(path)
            .map_err(|e| io_error(path, plain(e.error)))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                exists()
            } else {
                io_error(path, plain(e.error))
            }
        })?;
    }
    Ok(Fingerprint::of(key))
}
