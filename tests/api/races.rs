//! The database, not the application, keeps the invariants when instances race.

use axum::http::StatusCode;
use futures_util::future::join_all;
use serde_json::json;

use crate::on_every_backend;
use crate::support::{KeyMode, Keystone, TestApp, TestDb, openstack_vim};

on_every_backend!(
    eight_concurrent_defaults_one_winner,
    |db: TestDb| async move {
        let keystone = Keystone::start().await;
        let key = tacker_vim::keys::generate_key();
        let nodes = [
            TestApp::node(&db, KeyMode::Default, &key).await,
            TestApp::node(&db, KeyMode::Default, &key).await,
        ];
        let requests = (0..8).map(|i| {
            let mut body = openstack_vim(&keystone, "racing", &format!("VIM{i}"));
            body["vim"]["is_default"] = json!(true);
            let node = &nodes[i % 2];
            async move { node.create(&body).await }
        });
        let replies = join_all(requests).await;
        let won = replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count();
        let lost: Vec<_> = replies
            .iter()
            .filter(|r| r.status == StatusCode::CONFLICT)
            .collect();
        assert_eq!(won, 1, "{replies:?}");
        assert_eq!(lost.len(), 7, "{replies:?}");
        assert!(
            lost.iter()
                .all(|r| r.error().0 == "VimDefaultDuplicateException")
        );
        let defaults = nodes[1].list("tenant_id=racing&is_default=true").await;
        assert_eq!(defaults.body["vims"].as_array().unwrap().len(), 1);
    }
);

on_every_backend!(
    eight_concurrent_same_names_one_winner,
    |db: TestDb| async move {
        let keystone = Keystone::start().await;
        let key = tacker_vim::keys::generate_key();
        let nodes = [
            TestApp::node(&db, KeyMode::Default, &key).await,
            TestApp::node(&db, KeyMode::Default, &key).await,
        ];
        let requests = (0..8).map(|i| {
            let body = openstack_vim(&keystone, "racing", "SAME");
            let node = &nodes[i % 2];
            async move { node.create(&body).await }
        });
        let replies = join_all(requests).await;
        assert_eq!(
            replies
                .iter()
                .filter(|r| r.status == StatusCode::CREATED)
                .count(),
            1,
            "{replies:?}"
        );
        assert!(
            replies
                .iter()
                .filter(|r| r.status != StatusCode::CREATED)
                .all(|r| r.status == StatusCode::CONFLICT && r.error().0 == "DuplicateEntity")
        );
        // Renames racing onto one name: one wins as well.
        let a = nodes[0]
            .create(&openstack_vim(&keystone, "racing", "A"))
            .await
            .id();
        let b = nodes[1]
            .create(&openstack_vim(&keystone, "racing", "B"))
            .await
            .id();
        let rename = json!({"vim": {"name": "TARGET"}});
        let (ra, rb) = tokio::join!(nodes[0].update(&a, &rename), nodes[1].update(&b, &rename));
        let statuses = [ra.status, rb.status];
        assert!(
            statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT),
            "{ra:?} {rb:?}"
        );
    }
);

on_every_backend!(
    instances_starting_together_migrate_once,
    |db: TestDb| async move {
        // Four instances start at once on the same empty database: the migration lock makes
        // every one of them come up.
        let key = tacker_vim::keys::generate_key();
        let nodes = join_all((0..4).map(|_| TestApp::node(&db, KeyMode::Default, &key))).await;
        let keystone = Keystone::start().await;
        let id = nodes[0]
            .create(&openstack_vim(&keystone, "t", "ONE"))
            .await
            .id();
        for node in &nodes {
            assert_eq!(node.show(&id).await.status, StatusCode::OK);
        }
    }
);
