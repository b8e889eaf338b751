//! Every endpoint, its bodies and its errors, on every backend.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{Keystone, Kubernetes, TestApp, TestDb, openstack_vim};

const FIELD_ORDER: &[&str] = &[
    "id",
    "type",
    "tenant_id",
    "name",
    "description",
    "placement_attr",
    "is_default",
    "created_at",
    "updated_at",
    "extra",
    "auth_url",
    "vim_project",
    "auth_cred",
    "status",
];

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn is_tacker_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").is_ok() && !s.contains('T')
}

on_every_backend!(register_show_list_update_delete, |db: TestDb| async move {
    let keystone = Keystone::start().await;
    let app = TestApp::new(&db).await;

    let created = app
        .create(&openstack_vim(&keystone, "tenant-a", "VIM0"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let vim = created.vim();
    assert_eq!(keys(vim), FIELD_ORDER);
    assert_eq!(vim["type"], "openstack");
    assert_eq!(vim["auth_url"], format!("{}/v3", keystone.auth_url()));
    assert_eq!(
        vim["placement_attr"],
        json!({"regions": ["RegionOne", "RegionTwo"]})
    );
    assert_eq!(vim["status"], "ACTIVE");
    assert_eq!(vim["description"], "");
    assert_eq!(vim["extra"], json!({}));
    assert_eq!(vim["is_default"], false);
    assert!(is_tacker_time(&vim["created_at"]), "{}", vim["created_at"]);
    assert_eq!(vim["updated_at"], Value::Null);
    assert_eq!(
        vim["auth_cred"],
        json!({"username": "nfv_user", "user_domain_name": "Default", "cert_verify": "True",
            "project_id": null, "project_name": "nfv", "project_domain_name": "Default",
            "auth_url": format!("{}/v3", keystone.auth_url()), "key_type": "fernet_key",
            "password": "***"})
    );
    assert_eq!(keys(&vim["auth_cred"]).last(), Some(&"password"));
    assert!(!created.raw.contains("s3cret-pw"));
    let request_id = created.headers["x-openstack-request-id"].to_str().unwrap();
    assert!(request_id.starts_with("req-") && uuid::Uuid::parse_str(&request_id[4..]).is_ok());
    // Keystone saw a project-scoped password authentication.
    let (password, project) = keystone.last_auth();
    assert_eq!(password, "s3cret-pw");
    assert_eq!(
        project,
        json!({"name": "nfv", "domain": {"name": "Default"}})
    );
    let id = created.id();

    let shown = app.show(&id).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(keys(shown.vim()), FIELD_ORDER);
    for field in [
        "id",
        "name",
        "auth_cred",
        "vim_project",
        "placement_attr",
        "auth_url",
    ] {
        assert_eq!(shown.vim()[field], vim[field], "{field}");
    }
    let json_suffix = app
        .request(Method::GET, &format!("/v1.0/vims/{id}.json"), None)
        .await;
    assert_eq!(json_suffix.status, StatusCode::OK);
    assert_eq!(json_suffix.vim()["id"], id);
    // `fields` on show only drops tenant_id, as Tacker does.
    let narrowed = app
        .request(Method::GET, &format!("/v1.0/vims/{id}?fields=name"), None)
        .await;
    assert!(narrowed.vim().get("tenant_id").is_none());
    assert_eq!(narrowed.vim()["auth_url"], vim["auth_url"]);

    let second = app
        .create(&openstack_vim(&keystone, "tenant-b", "VIM1"))
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    let second_id = second.id();

    let all = app.list("").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.body["vims"].as_array().unwrap().len(), 2);
    assert_eq!(keys(&all.body["vims"][0]), FIELD_ORDER);
    // The clients' look-ups.
    let by_id = app
        .request(
            Method::GET,
            &format!("/v1.0/vims.json?id={id}&fields=id"),
            None,
        )
        .await;
    assert_eq!(by_id.body, json!({"vims": [{"id": id}]}));
    let by_name = app.list("name=VIM1&fields=id").await;
    assert_eq!(by_name.body, json!({"vims": [{"id": second_id}]}));
    let both = app.list("name=VIM0&name=VIM1&fields=id&fields=name").await;
    assert_eq!(both.body["vims"].as_array().unwrap().len(), 2);
    assert_eq!(keys(&both.body["vims"][0]), ["id", "name"]);
    assert_eq!(
        app.list("tenant_id=tenant-b&fields=name").await.body,
        json!({"vims": [{"name": "VIM1"}]})
    );
    assert_eq!(app.list("type=kubernetes").await.body, json!({"vims": []}));
    assert_eq!(app.list("is_default=true").await.body, json!({"vims": []}));
    assert_eq!(
        app.list("is_default=False").await.body["vims"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.list("auth_url=zzz&foo=bar&limit=1").await.body["vims"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.list("fields=nonexistent").await.body,
        json!({"vims": [{}, {}]})
    );
    let created_at = vim["created_at"].as_str().unwrap();
    let at = app
        .list(&format!(
            "created_at={}&fields=id",
            created_at.replace(' ', "%20")
        ))
        .await;
    assert_eq!(at.status, StatusCode::OK);
    let bad = app.list("is_default=maybe").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let updated = app
        .update(
            &id,
            &json!({"vim": {"name": "VIM0-new", "description": "New Description",
            "extra": {"area": "east"}}}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{updated:?}");
    assert_eq!(updated.vim()["name"], "VIM0-new");
    assert_eq!(updated.vim()["description"], "New Description");
    assert_eq!(updated.vim()["extra"], json!({"area": "east"}));
    assert!(is_tacker_time(&updated.vim()["updated_at"]));
    assert_eq!(keys(updated.vim()), FIELD_ORDER);
    // An empty update only touches updated_at; `extra: null` merges to no change.
    let empty = app.update(&id, &json!({"vim": {"extra": null}})).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.vim()["extra"], json!({"area": "east"}));
    let merged = app
        .update(&id, &json!({"vim": {"extra": {"zone": "1"}}}))
        .await;
    assert_eq!(merged.vim()["extra"], json!({"area": "east", "zone": "1"}));

    let deleted = app.delete(&id).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.raw, "");
    assert!(deleted.headers.get("content-type").is_none());
    assert!(deleted.headers.contains_key("x-openstack-request-id"));
    for reply in [
        app.show(&id).await,
        app.delete(&id).await,
        app.update(&id, &json!({"vim": {}})).await,
    ] {
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{reply:?}");
        assert_eq!(
            reply.error(),
            (
                "VimNotFoundException".into(),
                format!("Specified VIM id {id} is invalid. Please verify and pass a valid VIM id")
            )
        );
    }
    assert_eq!(app.list("").await.body["vims"].as_array().unwrap().len(), 1);
    let json_delete = app
        .request(
            Method::DELETE,
            &format!("/v1.0/vims/{second_id}.json"),
            None,
        )
        .await;
    assert_eq!(json_delete.status, StatusCode::NO_CONTENT);
    // A deleted VIM's name is free again.
    let again = app
        .create(&openstack_vim(&keystone, "tenant-b", "VIM1"))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
});

on_every_backend!(
    names_and_defaults_are_unique_per_tenant,
    |db: TestDb| async move {
        let keystone = Keystone::start().await;
        let app = TestApp::new(&db).await;
        let mut default = openstack_vim(&keystone, "t", "A");
        default["vim"]["is_default"] = json!(true);
        let first = app.create(&default).await;
        assert_eq!(first.status, StatusCode::CREATED);
        let first_id = first.id();

        let dup = app.create(&openstack_vim(&keystone, "t", "A")).await;
        assert_eq!(dup.status, StatusCode::CONFLICT);
        assert_eq!(
            dup.error(),
            (
                "DuplicateEntity".into(),
                "vim already exist with given ['tenant_id', 'name', 'deleted_at']".into()
            )
        );
        // Same name, other tenant: fine.
        assert_eq!(
            app.create(&openstack_vim(&keystone, "u", "A")).await.status,
            StatusCode::CREATED
        );

        let mut second_default = openstack_vim(&keystone, "t", "B");
        second_default["vim"]["is_default"] = json!(true);
        let taken = app.create(&second_default).await;
        assert_eq!(taken.status, StatusCode::CONFLICT);
        assert_eq!(
            taken.error(),
            (
                "VimDefaultDuplicateException".into(),
                format!("Default VIM already exists {first_id}.")
            )
        );

        let b = app.create(&openstack_vim(&keystone, "t", "B")).await;
        let b_id = b.id();
        let rename = app.update(&b_id, &json!({"vim": {"name": "A"}})).await;
        assert_eq!(rename.status, StatusCode::CONFLICT);
        assert_eq!(rename.error().0, "DuplicateEntity");
        let promote = app
            .update(&b_id, &json!({"vim": {"is_default": true}}))
            .await;
        assert_eq!(promote.status, StatusCode::CONFLICT);
        assert_eq!(promote.error().0, "VimDefaultDuplicateException");
        // Setting is_default on the default itself is allowed.
        let same = app
            .update(
                &first_id,
                &json!({"vim": {"is_default": "True", "name": "A"}}),
            )
            .await;
        assert_eq!(same.status, StatusCode::OK, "{same:?}");

        // Clearing the default, or deleting it, frees the role.
        assert_eq!(
            app.update(&first_id, &json!({"vim": {"is_default": false}}))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            app.update(&b_id, &json!({"vim": {"is_default": 1}}))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(app.delete(&b_id).await.status, StatusCode::NO_CONTENT);
        let c = app
            .create(&{
                let mut v = openstack_vim(&keystone, "t", "B");
                v["vim"]["is_default"] = json!(true);
                v
            })
            .await;
        assert_eq!(c.status, StatusCode::CREATED, "{c:?}");
        assert_eq!(
            app.list("tenant_id=t&is_default=true&fields=name")
                .await
                .body,
            json!({"vims": [{"name": "B"}]})
        );
    }
);

on_every_backend!(
    vim_errors_map_to_the_api_ref_codes,
    |db: TestDb| async move {
        let keystone = Keystone::start().await;
        let app = TestApp::new(&db).await;

        let mut wrong = openstack_vim(&keystone, "t", "W");
        wrong["vim"]["auth_cred"]["password"] = json!("wrong");
        let rejected = app.create(&wrong).await;
        assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            rejected.error(),
            (
                "VimUnauthorizedException".into(),
                "The request you have made requires authentication. (HTTP 401)".into()
            )
        );

        let mut unreachable = openstack_vim(&keystone, "t", "U");
        unreachable["vim"]["auth_url"] = json!("http://127.0.0.1:9/identity");
        let down = app.create(&unreachable).await;
        assert_eq!(down.status, StatusCode::BAD_GATEWAY);
        let (kind, message) = down.error();
        assert_eq!(kind, "VimConnectionException");
        assert!(
            message.starts_with("Unable to establish connection to http://127.0.0.1:9/identity/v3"),
            "{message}"
        );

        let mut elsewhere = openstack_vim(&keystone, "t", "E");
        elsewhere["vim"]["auth_url"] = json!(keystone.not_keystone_url());
        let not_keystone = app.create(&elsewhere).await;
        assert_eq!(not_keystone.status, StatusCode::BAD_GATEWAY);
        assert_eq!(not_keystone.error().0, "VimConnectionException");

        let mut foo = openstack_vim(&keystone, "t", "F");
        foo["vim"]["type"] = json!("foo");
        let unsupported = app.create(&foo).await;
        assert_eq!(unsupported.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            unsupported.error().1,
            "Invalid input for type. Reason: 'foo' is not a supported VIM type (openstack, kubernetes)."
        );

        let mut bogus = openstack_vim(&keystone, "t", "G");
        bogus["vim"]["auth_cred"]["bogus"] = json!(1);
        assert_eq!(app.create(&bogus).await.status, StatusCode::BAD_REQUEST);

        // None of the failures left a VIM behind, nor a key file.
        assert_eq!(app.list("").await.body, json!({"vims": []}));
        assert_eq!(app.key_files(), ["default.key"]);

        // A bad new password on update keeps the old credentials.
        let ok = app.create(&openstack_vim(&keystone, "t", "OK")).await;
        let id = ok.id();
        let before = app.show(&id).await;
        let bad = app
            .update(&id, &json!({"vim": {"auth_cred": {"password": "wrong"}}}))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.error().0, "VimUnauthorizedException");
        let after = app.show(&id).await;
        assert_eq!(before.body, after.body);
    }
);

on_every_backend!(request_validation_speaks_tacker, |db: TestDb| async move {
    let keystone = Keystone::start().await;
    let app = TestApp::new(&db).await;
    // (method, uri, body, status, error type, message)
    type Case<'a> = (
        Method,
        &'a str,
        Option<String>,
        StatusCode,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/v1.0/vims",
            None,
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            "Resource body required",
        ),
        (
            Method::POST,
            "/v1.0/vims",
            Some("{not json".into()),
            StatusCode::BAD_REQUEST,
            "MalformedRequestBody",
            "Malformed request body: Cannot understand JSON",
        ),
        (
            Method::POST,
            "/v1.0/vims",
            Some(r#"{"vims": []}"#.into()),
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            "Bulk operation not supported",
        ),
        (
            Method::POST,
            "/v1.0/vims",
            Some("[1, 2]".into()),
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            "Unable to find 'vim' in request body",
        ),
        (
            Method::POST,
            "/v1.0/vims",
            Some(r#"{"vim": {"name": "x"}}"#.into()),
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            "Running without keystone AuthN requires that tenant_id is specified",
        ),
        (
            Method::POST,
            "/v1.0/vims",
            Some(r#"{"vim": {"tenant_id": "t", "foo": 1}}"#.into()),
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            "Unrecognized attribute(s) 'foo'",
        ),
        (
            Method::POST,
            "/v1.0/vims",
            Some(r#"{"vim": {"tenant_id": "t", "type": "openstack"}}"#.into()),
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            "Failed to parse request. Required attribute 'auth_url' not specified",
        ),
        (
            Method::PUT,
            "/v1.0/vims/00000000-0000-4000-8000-000000000000",
            None,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Bad body request: Invalid format: b''",
        ),
        (
            Method::PUT,
            "/v1.0/vims/00000000-0000-4000-8000-000000000000",
            Some(r#"{"vim": {"auth_url": "http://x"}}"#.into()),
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            "Cannot update read-only attribute auth_url",
        ),
        (
            Method::GET,
            "/v1.0/nothing",
            None,
            StatusCode::NOT_FOUND,
            "HTTPNotFound",
            "The resource could not be found.",
        ),
        (
            Method::PATCH,
            "/v1.0/vims/00000000-0000-4000-8000-000000000000",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "HTTPMethodNotAllowed",
            "The server could not comply with the request since it is either malformed or otherwise incorrect.",
        ),
    ];
    for (method, uri, body, status, kind, message) in cases {
        let reply = app.request(method.clone(), uri, body.as_deref()).await;
        assert_eq!(reply.status, status, "{method} {uri}: {reply:?}");
        assert_eq!(
            reply.error(),
            (kind.to_owned(), message.to_owned()),
            "{method} {uri}"
        );
        assert!(reply.headers.contains_key("x-openstack-request-id"));
        assert_eq!(reply.headers["content-type"], "application/json");
    }

    let huge = format!(
        r#"{{"vim": {{"description": "{}"}}}}"#,
        "x".repeat(3 * 1024 * 1024)
    );
    let too_large = app.request(Method::POST, "/v1.0/vims", Some(&huge)).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.error().0, "HTTPRequestEntityTooLarge");

    let mut long_name = openstack_vim(&keystone, "t", &"n".repeat(256));
    long_name["vim"]["is_default"] = json!("ABC");
    let reply = app.create(&long_name).await;
    assert_eq!(
        reply.error().1,
        format!(
            "Invalid input for name. Reason: '{}' exceeds maximum length of 255.",
            "n".repeat(256)
        )
    );
    let mut long_tenant = openstack_vim(&keystone, &"t".repeat(65), "x");
    long_tenant["vim"]["name"] = json!("x");
    assert_eq!(
        app.create(&long_tenant).await.status,
        StatusCode::BAD_REQUEST
    );
    let mut bad_bool = openstack_vim(&keystone, "t", "x");
    bad_bool["vim"]["is_default"] = json!("ABC");
    assert_eq!(
        app.create(&bad_bool).await.error().1,
        "Invalid input for is_default. Reason: 'ABC' is not a valid boolean value."
    );
    let mut no_password = openstack_vim(&keystone, "t", "x");
    no_password["vim"]["auth_cred"]
        .as_object_mut()
        .unwrap()
        .remove("password");
    let reply = app.create(&no_password).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error().1,
        "Invalid input for auth_cred. Reason: 'password' is required."
    );
    // Nothing was stored by any of it.
    assert_eq!(app.list("").await.body, json!({"vims": []}));
});

on_every_backend!(kubernetes_vims_seal_every_secret, |db: TestDb| async move {
    let k8s = Kubernetes::start().await;
    let app = TestApp::new(&db).await;
    let body = json!({"vim": {"tenant_id": "t", "name": "K8S", "type": "kubernetes",
        "auth_url": k8s.url(), "vim_project": {"name": "default"},
        "auth_cred": {"bearer_token": "good-token", "ssl_ca_cert": "None"}}});
    let created = app.create(&body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let vim = created.vim();
    assert_eq!(
        vim["placement_attr"],
        json!({"regions": ["default", "kube-system"]})
    );
    assert_eq!(vim["auth_url"], k8s.url());
    assert_eq!(vim["auth_cred"]["bearer_token"], "***");
    assert_eq!(vim["auth_cred"]["key_type"], "fernet_key");
    assert!(!created.raw.contains("good-token"));
    let id = created.id();

    // Switch to basic auth: the token is dropped, the password sealed and re-validated.
    let basic = app
        .update(
            &id,
            &json!({"vim": {"auth_cred": {"username": "admin", "password": "admin-pw"}}}),
        )
        .await;
    assert_eq!(basic.status, StatusCode::OK, "{basic:?}");
    assert!(basic.vim()["auth_cred"].get("bearer_token").is_none());
    assert_eq!(basic.vim()["auth_cred"]["password"], "***");
    // A namespace change re-validates with the stored (sealed) password.
    let moved = app
        .update(
            &id,
            &json!({"vim": {"vim_project": {"name": "kube-system"}}}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");

    let mut wrong = body.clone();
    wrong["vim"]["name"] = json!("K8S-2");
    wrong["vim"]["auth_cred"]["bearer_token"] = json!("bad-token");
    let rejected = app.create(&wrong).await;
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    assert_eq!(rejected.error().0, "VimUnauthorizedException");
    assert!(
        rejected
            .error()
            .1
            .starts_with("(401)\nReason: Unauthorized")
    );

    let mut helm = body.clone();
    helm["vim"]["name"] = json!("K8S-3");
    helm["vim"]["extra"] = json!({"use_helm": true});
    let helm = app.create(&helm).await;
    assert_eq!(helm.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        helm.error().1,
        "If you want to register kubernetes vim with helm, please set ssl_ca_cert."
    );
});

on_every_backend!(
    a_long_list_is_read_and_sent_in_pieces,
    |db: TestDb| async move {
        // More VIMs than two database pages (128 each): the list goes out a page at a time.
        let dir = tempfile::tempdir().unwrap();
        let mut config =
            crate::support::test_config(&db, dir.path(), crate::support::KeyMode::Legacy);
        config.validate_vim = false;
        let app = TestApp::with_config(config).await;
        let keystone = Keystone::start().await;
        let mut ids = Vec::new();
        for i in 0..300 {
            let tenant = if i % 3 == 0 { "third" } else { "rest" };
            ids.push(
                app.create(&openstack_vim(&keystone, tenant, &format!("V{i:03}")))
                    .await
                    .id(),
            );
        }
        ids.sort();

        let all = app.list("").await;
        assert_eq!(all.status, StatusCode::OK);
        assert!(all.raw.len() > 64 * 1024);
        let listed: Vec<&str> = all.body["vims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, ids, "every VIM once, in id order");
        assert_eq!(keys(&all.body["vims"][299]), FIELD_ORDER);

        let third = app.list("tenant_id=third&fields=name").await;
        assert_eq!(third.body["vims"].as_array().unwrap().len(), 100);
        assert_eq!(keys(&third.body["vims"][0]), ["name"]);
        // A short list is one piece with its length, as Tacker sends it.
        assert!(third.headers.contains_key("content-length"));
        assert!(!all.headers.contains_key("content-length"));
    }
);
