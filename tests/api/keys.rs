//! Credential keys across nodes: the shared default key, Tacker's per-VIM keys, the upgrade
//! from one to the other, and what a node without the right key says.

use axum::http::StatusCode;
use serde_json::json;

use crate::on_every_backend;
use crate::support::{KeyMode, Keystone, TestApp, TestDb, openstack_vim};

on_every_backend!(
    a_shared_default_key_makes_every_node_equal,
    |db: TestDb| async move {
        let keystone = Keystone::start().await;
        let key = tacker_vim::keys::generate_key();
        let node0 = TestApp::node(&db, KeyMode::Default, &key).await;
        let node1 = TestApp::node(&db, KeyMode::Default, &key).await;

        let id = node0
            .create(&openstack_vim(&keystone, "t", "SHARED"))
            .await
            .id();
        assert_eq!(node1.show(&id).await.status, StatusCode::OK);
        // A project change on the other node must open the stored password to re-authenticate.
        let moved = node1
            .update(&id, &json!({"vim": {"vim_project": {"name": "other"}}}))
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
        let (password, project) = keystone.last_auth();
        assert_eq!(password, "s3cret-pw");
        assert_eq!(project["name"], "other");
        assert_eq!(
            project["domain"]["name"], "Default",
            "the merge keeps the domain"
        );
        assert_eq!(moved.vim()["auth_cred"]["project_name"], "other");
        let renewed = node1
            .update(&id, &json!({"vim": {"auth_cred": {"password": "new-pw"}}}))
            .await;
        assert_eq!(renewed.status, StatusCode::OK);
        assert_eq!(keystone.last_auth().0, "new-pw");
        let back = node0
            .update(&id, &json!({"vim": {"vim_project": {"name": "nfv"}}}))
            .await;
        assert_eq!(back.status, StatusCode::OK);
        assert_eq!(keystone.last_auth().0, "new-pw");

        assert_eq!(node1.delete(&id).await.status, StatusCode::NO_CONTENT);
        assert_eq!(node0.show(&id).await.status, StatusCode::NOT_FOUND);
        assert_eq!(node0.key_files(), ["default.key"]);
        assert_eq!(node1.key_files(), ["default.key"]);
    }
);

on_every_backend!(
    per_vim_keys_work_on_their_node_only,
    |db: TestDb| async move {
        let keystone = Keystone::start().await;
        let node0 = TestApp::node(&db, KeyMode::Legacy, "").await;
        let node1 = TestApp::node(&db, KeyMode::Legacy, "").await;

        let id = node0
            .create(&openstack_vim(&keystone, "t", "LEGACY"))
            .await
            .id();
        assert_eq!(node0.key_files(), std::slice::from_ref(&id));
        let key_path = node0.key_dir.join(&id);
        let key_before = std::fs::read(&key_path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
            0o600
        );

        // The blueprint's failure, reported clearly; nothing stored changes.
        let before = node1.show(&id).await.body;
        let refused = node1
            .update(&id, &json!({"vim": {"vim_project": {"name": "other"}}}))
            .await;
        assert_eq!(refused.status, StatusCode::INTERNAL_SERVER_ERROR);
        let (kind, message) = refused.error();
        assert_eq!(kind, "VimKeyNotFoundException");
        assert!(message.contains(&id), "{message}");
        assert!(message.contains("absent"), "{message}");
        assert_eq!(node1.show(&id).await.body, before);

        // Its own node still can; an update reuses the VIM's key file.
        let moved = node0
            .update(&id, &json!({"vim": {"vim_project": {"name": "other"}}}))
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
        let renewed = node0
            .update(&id, &json!({"vim": {"auth_cred": {"password": "new-pw"}}}))
            .await;
        assert_eq!(renewed.status, StatusCode::OK);
        assert_eq!(std::fs::read(&key_path).unwrap(), key_before);
        // A failed update leaves the key and the credentials alone.
        let failed = node0
            .update(&id, &json!({"vim": {"auth_cred": {"password": "wrong"}}}))
            .await;
        assert_eq!(failed.status, StatusCode::BAD_REQUEST);
        assert_eq!(std::fs::read(&key_path).unwrap(), key_before);
        assert_eq!(
            node0
                .update(&id, &json!({"vim": {"vim_project": {"name": "nfv"}}}))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(keystone.last_auth().0, "new-pw");

        // A failed registration leaves no key file.
        let mut wrong = openstack_vim(&keystone, "t", "WRONG");
        wrong["vim"]["auth_cred"]["password"] = json!("wrong");
        assert_eq!(node0.create(&wrong).await.status, StatusCode::BAD_REQUEST);
        assert_eq!(node0.key_files(), std::slice::from_ref(&id));

        // Deleting through the other node works, as in Tacker; the writing node's sweep then
        // removes the key file, and leaves alone one whose VIM is not (yet) in the database.
        let unborn = uuid::Uuid::new_v4().to_string();
        std::fs::write(
            node0.key_dir.join(&unborn),
            tacker_vim::keys::generate_key(),
        )
        .unwrap();
        assert_eq!(node1.delete(&id).await.status, StatusCode::NO_CONTENT);
        assert_eq!(node0.show(&id).await.status, StatusCode::NOT_FOUND);
        assert!(key_path.exists());
        assert_eq!(node0.vims.sweep_deleted_vim_keys().await.unwrap(), 1);
        assert_eq!(node0.key_files(), [unborn]);
    }
);

on_every_backend!(
    enabling_the_default_key_keeps_old_vims_working,
    |db: TestDb| async move {
        let keystone = Keystone::start().await;
        let legacy = TestApp::node(&db, KeyMode::Legacy, "").await;
        let id = legacy
            .create(&openstack_vim(&keystone, "t", "OLD"))
            .await
            .id();

        // The operator adds default.key to the same directory and restarts.
        let key = tacker_vim::keys::generate_key();
        tacker_vim::keys::write_key_file(&legacy.key_dir.join("default.key"), &key, false).unwrap();
        let mut config = crate::support::test_config(&db, &legacy.key_dir, KeyMode::Default);
        config.validate_vim = true;
        let upgraded = TestApp::with_config(config).await;

        // The VIM's own key still opens it; the re-validated secret is re-sealed with the default
        // key, and from then on the stale per-VIM file cannot shadow it.
        for project in ["other", "nfv", "third"] {
            let reply = upgraded
                .update(&id, &json!({"vim": {"vim_project": {"name": project}}}))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
            assert_eq!(keystone.last_auth().0, "s3cret-pw");
        }
        // Another node holding only the default key can now use the VIM too.
        let node1 = TestApp::node(&db, KeyMode::Default, &key).await;
        let reply = node1
            .update(&id, &json!({"vim": {"vim_project": {"name": "nfv"}}}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        // New VIMs get no per-VIM file; deleting the old one removes its file, not the default.
        let new_id = upgraded
            .create(&openstack_vim(&keystone, "t", "NEW"))
            .await
            .id();
        let mut expected = vec!["default.key".to_owned(), id.clone()];
        expected.sort();
        assert_eq!(upgraded.key_files(), expected);
        assert_eq!(upgraded.delete(&id).await.status, StatusCode::NO_CONTENT);
        assert_eq!(
            upgraded.delete(&new_id).await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(upgraded.key_files(), ["default.key"]);
    }
);

on_every_backend!(
    a_node_with_another_default_key_says_which_key_it_holds,
    |db: TestDb| async move {
        let keystone = Keystone::start().await;
        let good = tacker_vim::keys::generate_key();
        let other = tacker_vim::keys::generate_key();
        let node0 = TestApp::node(&db, KeyMode::Default, &good).await;
        let stray = TestApp::node(&db, KeyMode::Default, &other).await;
        let id = node0.create(&openstack_vim(&keystone, "t", "V")).await.id();

        assert_eq!(stray.show(&id).await.status, StatusCode::OK);
        assert_eq!(
            stray.list("").await.body["vims"].as_array().unwrap().len(),
            1
        );
        let before = node0.show(&id).await.body;
        let refused = stray
            .update(&id, &json!({"vim": {"vim_project": {"name": "x"}}}))
            .await;
        assert_eq!(refused.status, StatusCode::INTERNAL_SERVER_ERROR);
        let (kind, message) = refused.error();
        assert_eq!(kind, "VimKeyNotFoundException");
        let fingerprint = tacker_vim::keys::Fingerprint::of(&other);
        assert!(message.contains(fingerprint.as_str()), "{message}");
        assert!(!message.contains(&other) && !message.contains(&good));
        assert_eq!(node0.show(&id).await.body, before);
        // The healthy node is unaffected.
        assert_eq!(
            node0
                .update(&id, &json!({"vim": {"vim_project": {"name": "x"}}}))
                .await
                .status,
            StatusCode::OK
        );
    }
);
