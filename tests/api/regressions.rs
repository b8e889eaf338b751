//! Requests that crashed the service (500) on some database, found by scripts/schemathesis.sh
//! run against PostgreSQL and MariaDB. Bad input is the client's problem on every backend: a
//! 400 in Tacker's envelope, or (for a list filter no VIM can match) an empty list; the same
//! answer whichever database is behind the service.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{KeyMode, Reply, TestApp, TestDb, test_config};

/// A node that registers VIMs without contacting them (`[nfvo_vim] validate_vim = False`), so
/// that a request reaches the database whatever its URLs say.
async fn unvalidated_app(db: &TestDb) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let key_dir = dir.path().join("fernet_keys");
    std::fs::create_dir_all(&key_dir).unwrap();
    tacker_vim::keys::write_key_file(
        &key_dir.join("default.key"),
        &tacker_vim::keys::generate_key(),
        false,
    )
    .unwrap();
    let mut config = test_config(db, &key_dir, KeyMode::Default);
    config.validate_vim = false;
    (TestApp::with_config(config).await, dir)
}

fn kubernetes_vim(tenant: &str, name: &str) -> Value {
    json!({"vim": {
        "tenant_id": tenant,
        "name": name,
        "type": "kubernetes",
        "auth_url": "https://k8s.example.test:6443",
        "vim_project": {"name": "default"},
        "auth_cred": {"bearer_token": "a-token"},
    }})
}

/// 400 `HTTPBadRequest` whose message names `attr` the way Tacker's validation does.
fn assert_invalid_input(reply: &Reply, attr: &str, request: &str) {
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "{request}: want 400, got {reply:?}"
    );
    let (kind, message) = reply.error();
    assert_eq!(kind, "HTTPBadRequest", "{request}: {reply:?}");
    assert!(
        message.starts_with(&format!("Invalid input for {attr}.")),
        "{request}: {message}"
    );
}

/// A list filter no VIM can match: `{"vims": []}`, or a 400 for the value.
fn assert_empty_or_rejected(reply: &Reply, request: &str) {
    match reply.status {
        StatusCode::OK => assert_eq!(reply.body, json!({"vims": []}), "{request}"),
        StatusCode::BAD_REQUEST => {
            let (kind, _) = reply.error();
            assert_eq!(kind, "HTTPBadRequest", "{request}: {reply:?}");
        }
        _ => panic!("{request}: want 200 with no VIM or 400, got {reply:?}"),
    }
}

// PostgreSQL cannot store U+0000 in a text column ("invalid byte sequence for encoding UTF8:
// 0x00"): `GET /v1.0/vims?name=a%00b` was a 500 there (200 `[]` on SQLite and MariaDB).
on_every_backend!(
    nul_character_in_a_list_filter_is_not_a_server_error,
    |db: TestDb| async move {
        let (app, _dir) = unvalidated_app(&db).await;
        let created = app.create(&kubernetes_vim("tenant-nul", "VIM0")).await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        for column in [
            "id",
            "name",
            "tenant_id",
            "type",
            "description",
            "placement_attr",
            "extra",
        ] {
            let uri = format!("/v1.0/vims?{column}=a%00b");
            let reply = app.request(Method::GET, &uri, None).await;
            assert_empty_or_rejected(&reply, &format!("GET {uri}"));
        }
    }
);

// `POST /v1.0/vims` with U+0000 in `tenant_id`, `name`, `description` or `auth_url` was a 500
// on PostgreSQL and a 201 on SQLite and MariaDB. A value one supported database cannot hold is
// invalid input on all of them.
on_every_backend!(
    nul_character_in_a_registered_string_is_a_bad_request,
    |db: TestDb| async move {
        let (app, _dir) = unvalidated_app(&db).await;
        for (attr, value) in [
            ("tenant_id", json!("tenant\u{0}x")),
            ("name", json!("VIM\u{0}1")),
            ("description", json!("lab\u{0}VIM")),
            ("auth_url", json!("https://k8s.example.test:6443/a\u{0}b")),
        ] {
            let mut body = kubernetes_vim("tenant-nul", &format!("vim-{attr}"));
            body["vim"][attr] = value;
            let reply = app.create(&body).await;
            assert_invalid_input(&reply, attr, &format!("POST /v1.0/vims with NUL in {attr}"));
        }
        let listed = app.list("tenant_id=tenant-nul").await;
        assert_eq!(listed.body, json!({"vims": []}), "nothing was registered");
    }
);

// `PUT /v1.0/vims/{id}` with U+0000 in `name` or `description`: a 500 on PostgreSQL.
on_every_backend!(
    nul_character_in_an_updated_string_is_a_bad_request,
    |db: TestDb| async move {
        let (app, _dir) = unvalidated_app(&db).await;
        let created = app.create(&kubernetes_vim("tenant-nul", "VIM0")).await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        let id = created.id();
        for attr in ["name", "description"] {
            let reply = app
                .update(&id, &json!({"vim": {attr: "new\u{0}value"}}))
                .await;
            assert_invalid_input(
                &reply,
                attr,
                &format!("PUT /v1.0/vims/{id} with NUL in {attr}"),
            );
        }
        let shown = app.show(&id).await;
        assert_eq!(shown.status, StatusCode::OK, "{shown:?}");
        assert_eq!(shown.vim()["name"], "VIM0");
        assert_eq!(shown.vim()["description"], "");
        assert_eq!(
            shown.vim()["updated_at"],
            Value::Null,
            "the VIM was not changed"
        );
    }
);

// Time filters parse any year chrono knows (±262143), but databases hold less:
// `created_at=-0001-01-01 00:00:00` was a 500 on MariaDB ("prepared statement expected 2
// parameters but 1 parameters were provided"), `updated_at=-262143-01-01 00:00:00` a 500 on
// PostgreSQL ("timestamp out of range") and on MariaDB.
on_every_backend!(
    time_filter_outside_the_database_range_is_not_a_server_error,
    |db: TestDb| async move {
        let (app, _dir) = unvalidated_app(&db).await;
        let created = app.create(&kubernetes_vim("tenant-time", "VIM0")).await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        for query in [
            "created_at=-0001-01-01%2000:00:00",
            "updated_at=-0001-12-31%2023:59:59",
            "created_at=-262143-01-01%2000:00:00",
            "updated_at=-262143-01-01%2000:00:00",
            "created_at=%2B262142-12-31%2023:59:59",
        ] {
            let uri = format!("/v1.0/vims?{query}");
            let reply = app.request(Method::GET, &uri, None).await;
            assert_empty_or_rejected(&reply, &format!("GET {uri}"));
        }
    }
);
