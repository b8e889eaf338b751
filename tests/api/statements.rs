//! The statements each request runs, counted on every backend: the benchmark's figures rest
//! on these staying few (`BEGIN`/`COMMIT` around the writes are not statements here).

use axum::http::StatusCode;
use serde_json::json;

use crate::on_every_backend;
use crate::support::{Keystone, TestApp, TestDb, openstack_vim};

on_every_backend!(
    each_request_runs_the_fewest_statements,
    |db: TestDb| async move {
        let keystone = Keystone::start().await;
        let (app, statements) = TestApp::counting(&db).await;
        statements.take(); // migrations

        // Register: the name check (before Keystone is called), then one transaction.
        let created = app
            .create(&openstack_vim(&keystone, "tenant-q", "Q0"))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        assert_eq!(
            statements.take(),
            ["SELECT vims", "INSERT vims", "INSERT vimauths"]
        );
        let id = created.id();

        // Reads are one statement each, the join included.
        assert_eq!(app.show(&id).await.status, StatusCode::OK);
        assert_eq!(statements.take(), ["SELECT vims, vimauths"]);
        let found = app.list("name=Q0&fields=id").await;
        assert_eq!(found.body, json!({"vims": [{"id": id}]}));
        assert_eq!(statements.take(), ["SELECT vims, vimauths"]);

        // An update reads the VIM once and writes once; the response is not read back.
        let renamed = app
            .update(&id, &json!({"vim": {"description": "counted"}}))
            .await;
        assert_eq!(renamed.status, StatusCode::OK, "{renamed:?}");
        assert_eq!(statements.take(), ["SELECT vims, vimauths", "UPDATE vims"]);
        let shown = app.show(&id).await;
        statements.take();
        assert_eq!(
            shown.vim(),
            renamed.vim(),
            "the update answered what it stored"
        );

        // A new project re-validates with the stored password and rewrites the credentials.
        let auths = keystone.auths().len();
        let moved = app
            .update(&id, &json!({"vim": {"vim_project": {"name": "other"}}}))
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
        assert_eq!(keystone.auths().len(), auths + 1);
        assert_eq!(
            statements.take(),
            ["SELECT vims, vimauths", "UPDATE vims", "UPDATE vimauths"]
        );
        let shown = app.show(&id).await;
        statements.take();
        assert_eq!(
            shown.vim(),
            moved.vim(),
            "the update answered what it stored"
        );

        // Becoming the default checks for another default, then sets the marker the database
        // keeps unique.
        let default = app.update(&id, &json!({"vim": {"is_default": true}})).await;
        assert_eq!(default.status, StatusCode::OK, "{default:?}");
        assert_eq!(
            statements.take(),
            [
                "SELECT vims, vimauths",
                "SELECT vims",
                "UPDATE vims",
                "UPDATE vims"
            ]
        );

        // A doomed registration stops at the checks: no Keystone call, no write.
        let auths = keystone.auths().len();
        let mut second = openstack_vim(&keystone, "tenant-q", "Q1");
        second["vim"]["is_default"] = json!(true);
        let refused = app.create(&second).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{refused:?}");
        assert_eq!(keystone.auths().len(), auths);
        assert_eq!(statements.take(), ["SELECT vims", "SELECT vims"]);

        // Delete is one statement.
        assert_eq!(app.delete(&id).await.status, StatusCode::NO_CONTENT);
        assert_eq!(statements.take(), ["UPDATE vims"]);
    }
);
