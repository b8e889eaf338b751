use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use secrecy::ExposeSecret;
use serde_json::Value;

use super::*;

fn vectors() -> Value {
    let text = include_str!("../../tests/data/python-fernet-vectors.json");
    serde_json::from_str(text).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

const VIM: &str = "5d3c7c1e-8d0e-4c55-a6a8-1f0e5a3b2c11";

#[tokio::test]
async fn opens_tokens_made_by_python_with_a_hand_written_key_file() {
    let v = vectors();
    let dir = tempfile::tempdir().unwrap();
    // Written the way the blueprint suggests: `print(Fernet.generate_key().decode()) > file`.
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/python-newline.key"),
        dir.path().join("default.key"),
    )
    .unwrap();
    let store = FernetFileStore::open(dir.path(), Some("default.key")).unwrap();
    let opener = store.opener(VIM).await.unwrap();
    for t in v["tokens"].as_array().unwrap() {
        let plain = opener.open(t["token"].as_str().unwrap()).unwrap();
        assert_eq!(plain.expose_secret(), t["plaintext"].as_str().unwrap());
    }
    // A node whose clock lags far behind the writer's still reads it.
    let future = &v["future_token"];
    let plain = opener.open(future["token"].as_str().unwrap()).unwrap();
    assert_eq!(plain.expose_secret(), future["plaintext"].as_str().unwrap());
}

#[tokio::test]
async fn a_token_no_key_opens_names_the_vim_the_files_and_the_fingerprint() {
    let v = vectors();
    let dir = tempfile::tempdir().unwrap();
    let key = v["key"].as_str().unwrap();
    write_key_file(&dir.path().join("default.key"), key, false).unwrap();
    let store = FernetFileStore::open(dir.path(), Some("default.key")).unwrap();
    let err = store
        .opener(VIM)
        .await
        .unwrap()
        .open(v["other_key_token"]["token"].as_str().unwrap())
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::VimKeyNotFound { .. }));
    assert!(text.contains(VIM), "{text}");
    assert!(text.contains("default.key"), "{text}");
    assert!(text.contains(Fingerprint::of(key).as_str()), "{text}");
    assert!(
        !text.contains(key),
        "the key itself must never appear: {text}"
    );
}

#[test]
fn written_key_files_are_tacker_compatible_and_never_clobbered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("default.key");
    let key = generate_key();
    let fp = write_key_file(&path, &key, false).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 44);
    assert_eq!(bytes, key.as_bytes());
    assert_eq!(mode(&path), 0o600);
    assert_eq!(fp, Fingerprint::of(&key));
    assert_eq!(fp.as_str().len(), 16);

    let other = generate_key();
    let err = write_key_file(&path, &other, false).unwrap_err();
    assert!(matches!(err, KeyFileError::Exists { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), key.as_bytes());

    write_key_file(&path, &other, true).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), other.as_bytes());
    assert_eq!(mode(&path), 0o600);
    // Nothing but the key is left in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn reading_flags_keys_readable_by_others_and_rejects_non_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    write_key_file(&path, &generate_key(), false).unwrap();
    assert!(!read_key_file(&path).unwrap().2);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(read_key_file(&path).unwrap().2);

    std::fs::write(&path, "not a key").unwrap();
    assert!(matches!(
        read_key_file(&path),
        Err(KeyFileError::NotAKey { .. })
    ));
}

#[test]
fn start_up_fails_on_a_missing_or_invalid_default_key_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = FernetFileStore::open(dir.path(), Some("default.key")).unwrap_err();
    assert!(err.to_string().contains("default.key"), "{err}");
    std::fs::write(dir.path().join("default.key"), "garbage").unwrap();
    let err = FernetFileStore::open(dir.path(), Some("default.key")).unwrap_err();
    assert!(err.to_string().contains("default.key"), "{err}");
}

#[test]
fn the_key_directory_is_created_private() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("vim/fernet_keys");
    FernetFileStore::open(&dir, None).unwrap();
    assert_eq!(mode(&dir), 0o700);
}

#[tokio::test]
async fn default_mode_seals_with_the_shared_key_and_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    write_key_file(&dir.path().join("default.key"), &generate_key(), false).unwrap();
    let store = FernetFileStore::open(dir.path(), Some("default.key")).unwrap();
    let sealing = store.sealing_key(VIM).await.unwrap();
    assert_eq!(Some(sealing.fingerprint()), store.default_fingerprint());
    let token = sealing.encrypt("pw");
    sealing.keep();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // Another node holding the same file opens it.
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.path().join("default.key"),
        other.path().join("default.key"),
    )
    .unwrap();
    let node1 = FernetFileStore::open(other.path(), Some("default.key")).unwrap();
    let plain = node1.opener(VIM).await.unwrap().open(&token).unwrap();
    assert_eq!(plain.expose_secret(), "pw");

    // Deleting the VIM never deletes the shared key.
    store.forget(VIM).await.unwrap();
    assert!(dir.path().join("default.key").exists());
    assert!(store.forget("default.key").await.is_err());
    assert!(store.forget("../escape").await.is_err());
}

#[tokio::test]
async fn legacy_mode_writes_a_private_key_per_vim_and_removes_it_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = FernetFileStore::open(dir.path(), None).unwrap();
    let path = dir.path().join(VIM);

    let abandoned = store.sealing_key(VIM).await.unwrap();
    assert!(path.exists());
    assert_eq!(mode(&path), 0o600);
    drop(abandoned);
    assert!(!path.exists(), "a failed request leaves no key file behind");

    let sealing = store.sealing_key(VIM).await.unwrap();
    let first = sealing.fingerprint().clone();
    let token = sealing.encrypt("pw");
    sealing.keep();
    assert_eq!(std::fs::read(&path).unwrap().len(), 44);

    // An update reuses the file: the stored token stays readable, even if the update fails.
    let again = store.sealing_key(VIM).await.unwrap();
    assert_eq!(again.fingerprint(), &first);
    drop(again);
    assert!(path.exists());
    let plain = store.opener(VIM).await.unwrap().open(&token).unwrap();
    assert_eq!(plain.expose_secret(), "pw");
    assert_eq!(
        store.vim_ids_with_keys().await.unwrap(),
        vec![VIM.to_owned()]
    );

    store.forget(VIM).await.unwrap();
    assert!(!path.exists());
    let err = store.opener(VIM).await.unwrap().open(&token).unwrap_err();
    assert!(err.to_string().contains("absent"), "{err}");
}

#[tokio::test]
async fn requests_that_share_a_new_key_file_remove_it_only_if_none_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = FernetFileStore::open(dir.path(), None).unwrap();

    // Two updates of a VIM with no key file on this node: the second seals with the file the
    // first wrote. The first fails while the second is still in flight; the second commits.
    let path = dir.path().join(VIM);
    let first = store.sealing_key(VIM).await.unwrap();
    let second = store.sealing_key(VIM).await.unwrap();
    assert_eq!(first.fingerprint(), second.fingerprint());
    let token = second.encrypt("pw");
    drop(first);
    assert!(path.exists(), "the second request still needs the file");
    second.keep();
    assert!(path.exists(), "a committed ciphertext needs the file");
    let plain = store.opener(VIM).await.unwrap().open(&token).unwrap();
    assert_eq!(plain.expose_secret(), "pw");
    // Once committed, the file is the VIM's: a later failed update leaves it alone.
    drop(store.sealing_key(VIM).await.unwrap());
    assert!(path.exists());

    // Both fail: nothing is left behind.
    const OTHER: &str = "0b8d4e2a-51f6-4c9a-9d3e-7a2c6f1e8b40";
    let path = dir.path().join(OTHER);
    let first = store.sealing_key(OTHER).await.unwrap();
    let second = store.sealing_key(OTHER).await.unwrap();
    drop(second);
    assert!(path.exists());
    drop(first);
    assert!(!path.exists(), "no request committed: the file goes");

    // The first commits, the second fails: the file stays.
    let first = store.sealing_key(OTHER).await.unwrap();
    let second = store.sealing_key(OTHER).await.unwrap();
    first.keep();
    drop(second);
    assert!(path.exists());
}

#[tokio::test]
async fn the_key_whose_hmac_verifies_wins_over_a_stale_per_vim_file() {
    let dir = tempfile::tempdir().unwrap();
    // Legacy first: the VIM got its own key on this node.
    let legacy = FernetFileStore::open(dir.path(), None).unwrap();
    let old = legacy.sealing_key(VIM).await.unwrap();
    let old_token = old.encrypt("old-pw");
    old.keep();

    // Then the operator enabled the default key; the VIM's secret was re-sealed with it.
    write_key_file(&dir.path().join("default.key"), &generate_key(), false).unwrap();
    let upgraded = FernetFileStore::open(dir.path(), Some("default.key")).unwrap();
    let new_token = upgraded.sealing_key(VIM).await.unwrap().encrypt("new-pw");

    let opener = upgraded.opener(VIM).await.unwrap();
    assert_eq!(opener.open(&new_token).unwrap().expose_secret(), "new-pw");
    assert_eq!(opener.open(&old_token).unwrap().expose_secret(), "old-pw");
}

/// Rust → Python: Python's `cryptography` must open what this store seals. Needs a Python
/// with `cryptography` (`TACKER_VIM_PYTHON`, else `python3`); without one it says so.
#[tokio::test]
async fn python_opens_tokens_and_keys_made_here() {
    let python = std::env::var("TACKER_VIM_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = std::process::Command::new(&python)
        .args(["-c", "import cryptography.fernet"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED python_opens_tokens_and_keys_made_here: no {python} with cryptography");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("default.key");
    write_key_file(&key_path, &generate_key(), false).unwrap();
    let store = FernetFileStore::open(dir.path(), Some("default.key")).unwrap();
    let token = store.sealing_key(VIM).await.unwrap().encrypt("pässwörd");
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import sys; from cryptography.fernet import Fernet; \
             k = open(sys.argv[1], 'rb').read(); \
             sys.stdout.write(Fernet(k).decrypt(sys.argv[2].encode()).decode())",
        ])
        .arg(&key_path)
        .arg(&token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "pässwörd");
}

#[tokio::test]
async fn a_damaged_per_vim_file_does_not_hide_the_default_key() {
    let dir = tempfile::tempdir().unwrap();
    write_key_file(&dir.path().join("default.key"), &generate_key(), false).unwrap();
    let store = FernetFileStore::open(dir.path(), Some("default.key")).unwrap();
    let token = store.sealing_key(VIM).await.unwrap().encrypt("pw");
    std::fs::write(dir.path().join(VIM), "garbage").unwrap();
    let opener = store.opener(VIM).await.unwrap();
    assert_eq!(opener.open(&token).unwrap().expose_secret(), "pw");
    let err = opener.open(vectors()["other_key_token"]["token"].as_str().unwrap());
    let text = err.unwrap_err().to_string();
    assert!(text.contains("not a Fernet key"), "{text}");

    // In legacy mode a damaged file is reported, never overwritten.
    let legacy = FernetFileStore::open(dir.path(), None).unwrap();
    let err = legacy.sealing_key(VIM).await.unwrap_err();
    assert!(matches!(err, Error::VimKeyNotFound { .. }), "{err}");
    assert_eq!(std::fs::read(dir.path().join(VIM)).unwrap(), b"garbage");
}
