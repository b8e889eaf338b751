//! The blueprint "vim-key-for-multi-master" with real processes: two or three `tacker-vim serve`
//! nodes on one PostgreSQL or MariaDB database, each with its own key directory, configuration
//! file and port, driven over HTTP as a load balancer would. Keystone is the in-process stub.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use tacker_vim::keys::{Fingerprint, generate_key};

use crate::support::nodes::{Node, NodeSpec, faketime_or_skip};
use crate::support::{Keystone, Reply, TestDb, openstack_vim};

/// One test per server backend; each skips (saying so) when its URL is unset.
macro_rules! on_server_backends {
    ($name:ident) => {
        mod $name {
            use crate::support::{Backend, TestDb};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = TestDb::new(Backend::Postgres).await {
                    super::$name(db).await
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                if let Some(db) = TestDb::new(Backend::MySql).await {
                    super::$name(db).await
                }
            }
        }
    };
}

on_server_backends!(shared_default_key_on_every_node);
on_server_backends!(legacy_per_vim_keys_stay_on_their_node);
on_server_backends!(a_node_with_another_default_key_names_its_key);
on_server_backends!(mixed_concurrent_load_keeps_the_invariants);
on_server_backends!(clock_skew_between_nodes_keeps_credentials_readable);

/// A PUT that changes only the project: the node must open the stored password to
/// re-authenticate against Keystone.
fn project_only(name: &str) -> Value {
    json!({"vim": {"vim_project": {"name": name}}})
}

#[track_caller]
fn expect(reply: &Reply, status: StatusCode, what: &str) {
    assert_eq!(reply.status, status, "{what}: {reply:?}");
}

fn listed_ids(reply: &Reply) -> Vec<String> {
    reply.body["vims"]
        .as_array()
        .unwrap_or_else(|| panic!("not a VIM list: {reply:?}"))
        .iter()
        .map(|v| v["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// A project-only PUT on `node` that must reach Keystone with `password` and `project`.
async fn revalidate(
    keystone: &Keystone,
    node: &Node,
    id: &str,
    project: &str,
    password: &str,
) -> Reply {
    let before = keystone.auths().len();
    let reply = node.update(id, &project_only(project)).await;
    expect(
        &reply,
        StatusCode::OK,
        &format!("project-only PUT of {id} on {}", node.label),
    );
    assert!(
        keystone.auths().len() > before,
        "{}: the project change did not re-authenticate against Keystone",
        node.label
    );
    let (sent_password, scope) = keystone.last_auth();
    assert_eq!(
        sent_password, password,
        "{}: Keystone got the wrong password",
        node.label
    );
    assert_eq!(
        scope["name"], project,
        "{}: Keystone scope {scope}",
        node.label
    );
    assert_eq!(reply.vim()["vim_project"]["name"], project, "{reply:?}");
    reply
}

// -------------------------------------------------------------------------------------------
// 1. The shared default key
// -------------------------------------------------------------------------------------------

async fn shared_default_key_on_every_node(db: TestDb) {
    let keystone = Keystone::start().await;
    let key = generate_key();
    let nodes = Node::start_all(&db, &vec![NodeSpec::default_key(&key); 3]).await;

    let created = nodes[0]
        .create(&openstack_vim(&keystone, "t", "SHARED"))
        .await;
    expect(&created, StatusCode::CREATED, "create on node0");
    let id = created.id();

    let listed = nodes[1].list("").await;
    expect(&listed, StatusCode::OK, "list on node1");
    assert_eq!(listed_ids(&listed), [id.as_str()]);
    let shown = nodes[1].show(&id).await;
    expect(&shown, StatusCode::OK, "show on node1");
    assert_eq!(shown.vim()["name"], "SHARED");
    assert_eq!(shown.vim()["auth_cred"]["password"], "***");

    let moved = revalidate(&keystone, &nodes[1], &id, "other", "s3cret-pw").await;
    assert_eq!(moved.vim()["auth_cred"]["project_name"], "other");
    assert_eq!(
        keystone.last_auth().1["domain"]["name"],
        "Default",
        "the merge keeps the project's domain"
    );

    let renewed = nodes[1]
        .update(&id, &json!({"vim": {"auth_cred": {"password": "new-pw"}}}))
        .await;
    expect(&renewed, StatusCode::OK, "password change on node1");
    assert_eq!(keystone.last_auth().0, "new-pw");

    revalidate(&keystone, &nodes[0], &id, "nfv", "new-pw").await;
    revalidate(&keystone, &nodes[2], &id, "third", "new-pw").await;

    expect(
        &nodes[1].delete(&id).await,
        StatusCode::NO_CONTENT,
        "delete on node1",
    );
    for node in &nodes {
        let gone = node.show(&id).await;
        expect(
            &gone,
            StatusCode::NOT_FOUND,
            &format!("show on {}", node.label),
        );
        assert_eq!(gone.error().0, "VimNotFoundException");
        assert!(
            listed_ids(&node.list("").await).is_empty(),
            "{}",
            node.label
        );
        assert_eq!(
            node.key_files(),
            ["default.key"],
            "{}: only the shared key, never a per-VIM file",
            node.label
        );
    }
}

// -------------------------------------------------------------------------------------------
// 2. Tacker's legacy per-VIM keys
// -------------------------------------------------------------------------------------------

async fn legacy_per_vim_keys_stay_on_their_node(db: TestDb) {
    let keystone = Keystone::start().await;
    let nodes = Node::start_all(
        &db,
        &[NodeSpec::legacy().sweep_every(1), NodeSpec::legacy()],
    )
    .await;

    let created = nodes[0]
        .create(&openstack_vim(&keystone, "t", "LEGACY"))
        .await;
    expect(&created, StatusCode::CREATED, "create on node0");
    let id = created.id();
    assert_eq!(
        nodes[0].key_files(),
        [id.as_str()],
        "node0 holds the VIM's key"
    );
    assert!(nodes[1].key_files().is_empty());

    // The blueprint's failure: node1 has no key for it. It says so, and nothing changes.
    let before = nodes[0].show(&id).await;
    expect(&before, StatusCode::OK, "show on node0");
    let auths_before = keystone.auths().len();
    let refused = nodes[1].update(&id, &project_only("other")).await;
    expect(
        &refused,
        StatusCode::INTERNAL_SERVER_ERROR,
        "project-only PUT on node1",
    );
    let (kind, message) = refused.error();
    assert_eq!(kind, "VimKeyNotFoundException", "{refused:?}");
    assert!(
        message.contains(&id),
        "the message names the VIM: {message}"
    );
    assert!(message.contains("absent"), "{message}");
    assert_eq!(
        keystone.auths().len(),
        auths_before,
        "node1 must not authenticate with what it could not decrypt"
    );
    assert_eq!(
        nodes[0].show(&id).await.body,
        before.body,
        "stored VIM changed"
    );
    assert_eq!(
        nodes[1].show(&id).await.body,
        before.body,
        "stored VIM changed"
    );
    assert!(
        nodes[1].key_files().is_empty(),
        "the failed PUT left a key on node1: {:?}",
        nodes[1].key_files()
    );

    revalidate(&keystone, &nodes[0], &id, "other", "s3cret-pw").await;
    assert_eq!(nodes[0].key_files(), [id.as_str()]);

    expect(
        &nodes[1].delete(&id).await,
        StatusCode::NO_CONTENT,
        "delete on node1",
    );
    for node in &nodes {
        expect(
            &node.show(&id).await,
            StatusCode::NOT_FOUND,
            &format!("show on {}", node.label),
        );
    }
    // node0's sweep (every second) removes the key file of the VIM deleted through node1.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !nodes[0].key_files().is_empty() {
        assert!(
            Instant::now() < deadline,
            "node0 still holds {:?} 10 s after the VIM was deleted through node1",
            nodes[0].key_files()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// -------------------------------------------------------------------------------------------
// 3. A node holding a different default key
// -------------------------------------------------------------------------------------------

async fn a_node_with_another_default_key_names_its_key(db: TestDb) {
    let keystone = Keystone::start().await;
    let good = generate_key();
    let stray_key = generate_key();
    let nodes = Node::start_all(
        &db,
        &[
            NodeSpec::default_key(&good),
            NodeSpec::default_key(&good),
            NodeSpec::default_key(&stray_key),
        ],
    )
    .await;
    let stray = &nodes[2];

    let created = nodes[0].create(&openstack_vim(&keystone, "t", "V")).await;
    expect(&created, StatusCode::CREATED, "create on node0");
    let id = created.id();

    let listed = stray.list("").await;
    expect(&listed, StatusCode::OK, "list on the stray node");
    assert_eq!(listed_ids(&listed), [id.as_str()]);
    let before = stray.show(&id).await;
    expect(&before, StatusCode::OK, "show on the stray node");

    let auths_before = keystone.auths().len();
    let refused = stray.update(&id, &project_only("x")).await;
    expect(
        &refused,
        StatusCode::INTERNAL_SERVER_ERROR,
        "project-only PUT on the stray node",
    );
    let (kind, message) = refused.error();
    assert_eq!(kind, "VimKeyNotFoundException", "{refused:?}");
    let fingerprint = Fingerprint::of(&stray_key);
    assert!(
        message.contains(fingerprint.as_str()),
        "the message names the key it holds ({fingerprint}): {message}"
    );
    assert!(
        message.contains(&id),
        "the message names the VIM: {message}"
    );
    assert!(
        !message.contains(stray_key.as_str()) && !message.contains(good.as_str()),
        "a key leaked into the message: {message}"
    );
    assert!(
        !stray.log().contains(stray_key.as_str()) && !stray.log().contains(good.as_str()),
        "a key leaked into the stray node's log"
    );
    assert_eq!(keystone.auths().len(), auths_before);
    for node in &nodes {
        assert_eq!(
            node.show(&id).await.body,
            before.body,
            "stored VIM changed (read on {})",
            node.label
        );
    }

    revalidate(&keystone, &nodes[1], &id, "x", "s3cret-pw").await;
    revalidate(&keystone, &nodes[0], &id, "y", "s3cret-pw").await;
    for node in &nodes {
        assert_eq!(node.key_files(), ["default.key"], "{}", node.label);
    }
}

// -------------------------------------------------------------------------------------------
// 4. Mixed concurrent load
// -------------------------------------------------------------------------------------------

const LOAD_TASKS: usize = 8;
const LOAD_OPERATIONS: usize = 300;
const TENANTS: [&str; 3] = ["tenant-a", "tenant-b", "tenant-c"];
const NAMES: [&str; 5] = ["alpha", "beta", "gamma", "delta", "epsilon"];
const PROJECTS: [&str; 3] = ["nfv", "edge", "core"];
const ALLOWED: [u16; 5] = [200, 201, 204, 404, 409];

/// xorshift64*: reproducible with the printed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One request of the load and what came back (status 0: no HTTP answer).
struct Outcome {
    op: &'static str,
    node: usize,
    status: u16,
    body: String,
}

async fn call(
    nodes: &[Node],
    node: usize,
    op: &'static str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    outcomes: &mut Vec<Outcome>,
) -> Option<Reply> {
    match nodes[node].try_request(method, path, body).await {
        Ok(reply) => {
            outcomes.push(Outcome {
                op,
                node,
                status: reply.status.as_u16(),
                body: reply.raw.clone(),
            });
            Some(reply)
        }
        Err(err) => {
            outcomes.push(Outcome {
                op,
                node,
                status: 0,
                body: err.to_string(),
            });
            None
        }
    }
}

async fn load_client(
    nodes: Arc<Vec<Node>>,
    ids: Arc<Mutex<Vec<String>>>,
    started: Arc<AtomicUsize>,
    template: Value,
    seed: u64,
) -> Vec<Outcome> {
    let mut rng = Rng::new(seed);
    let mut outcomes = Vec::new();
    while started.fetch_add(1, Ordering::SeqCst) < LOAD_OPERATIONS {
        let node = rng.below(nodes.len());
        let known = {
            let ids = ids.lock().unwrap();
            (!ids.is_empty()).then(|| rng.pick(&ids).clone())
        };
        let roll = rng.below(100);
        let Some(id) = known.filter(|_| roll >= 30) else {
            let mut body = template.clone();
            body["vim"]["tenant_id"] = json!(rng.pick(&TENANTS));
            body["vim"]["name"] = json!(rng.pick(&NAMES));
            body["vim"]["is_default"] = json!(rng.below(3) == 0);
            let reply = call(
                &nodes,
                node,
                "create",
                Method::POST,
                "/v1.0/vims",
                Some(&body),
                &mut outcomes,
            )
            .await;
            if let Some(reply) = reply.filter(|r| r.status == StatusCode::CREATED) {
                ids.lock().unwrap().push(reply.id());
            }
            continue;
        };
        let path = format!("/v1.0/vims/{id}");
        match roll {
            30..45 => {
                let body = json!({"vim": {"name": rng.pick(&NAMES)}});
                call(
                    &nodes,
                    node,
                    "rename",
                    Method::PUT,
                    &path,
                    Some(&body),
                    &mut outcomes,
                )
                .await;
            }
            45..60 => {
                let shown = call(
                    &nodes,
                    node,
                    "show",
                    Method::GET,
                    &path,
                    None,
                    &mut outcomes,
                )
                .await;
                if let Some(current) = shown
                    .filter(|r| r.status == StatusCode::OK)
                    .and_then(|r| r.vim()["is_default"].as_bool())
                {
                    let body = json!({"vim": {"is_default": !current}});
                    let node = rng.below(nodes.len());
                    call(
                        &nodes,
                        node,
                        "toggle-default",
                        Method::PUT,
                        &path,
                        Some(&body),
                        &mut outcomes,
                    )
                    .await;
                }
            }
            60..85 => {
                let body = project_only(PROJECTS[rng.below(PROJECTS.len())]);
                call(
                    &nodes,
                    node,
                    "project",
                    Method::PUT,
                    &path,
                    Some(&body),
                    &mut outcomes,
                )
                .await;
            }
            _ => {
                let reply = call(
                    &nodes,
                    node,
                    "delete",
                    Method::DELETE,
                    &path,
                    None,
                    &mut outcomes,
                )
                .await;
                if reply.is_some_and(|r| r.status == StatusCode::NO_CONTENT) {
                    ids.lock().unwrap().retain(|known| *known != id);
                }
            }
        }
    }
    outcomes
}

async fn mixed_concurrent_load_keeps_the_invariants(db: TestDb) {
    let keystone = Keystone::start().await;
    let key = generate_key();
    let nodes = Arc::new(Node::start_all(&db, &vec![NodeSpec::default_key(&key); 3]).await);
    let seed = std::env::var("MULTINODE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("mixed load on {:?}: MULTINODE_SEED={seed}", db.backend);

    let template = openstack_vim(&keystone, "", "");
    let mut outcomes = Vec::new();

    // Opening burst: every client registers a default VIM at once, through all the nodes.
    let burst: Vec<_> = (0..LOAD_TASKS)
        .map(|task| {
            let nodes = nodes.clone();
            let mut body = template.clone();
            body["vim"]["tenant_id"] = json!(TENANTS[task % TENANTS.len()]);
            body["vim"]["name"] = json!(format!("burst-{task}"));
            body["vim"]["is_default"] = json!(true);
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let node = task % nodes.len();
                let reply = call(
                    &nodes,
                    node,
                    "create-default",
                    Method::POST,
                    "/v1.0/vims",
                    Some(&body),
                    &mut outcomes,
                )
                .await;
                (reply, outcomes)
            })
        })
        .collect();
    let mut ids = Vec::new();
    let mut winners: BTreeMap<String, usize> = BTreeMap::new();
    for client in burst {
        let (reply, seen) = client.await.expect("a burst client panicked");
        outcomes.extend(seen);
        if let Some(reply) = reply.filter(|r| r.status == StatusCode::CREATED) {
            let tenant = reply.vim()["tenant_id"].as_str().unwrap().to_owned();
            *winners.entry(tenant).or_default() += 1;
            ids.push(reply.id());
        }
    }
    assert_eq!(
        winners,
        TENANTS
            .iter()
            .map(|t| (t.to_string(), 1))
            .collect::<BTreeMap<_, _>>(),
        "concurrent default registrations, one winner per tenant; replies: {:?}",
        outcomes
            .iter()
            .map(|o| format!("node{} {} {:.160}", o.node, o.status, o.body))
            .collect::<Vec<_>>()
    );

    let ids = Arc::new(Mutex::new(ids));
    let started = Arc::new(AtomicUsize::new(outcomes.len()));
    let clients: Vec<_> = (0..LOAD_TASKS as u64)
        .map(|task| {
            tokio::spawn(load_client(
                nodes.clone(),
                ids.clone(),
                started.clone(),
                template.clone(),
                seed.wrapping_add(task.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            ))
        })
        .collect();
    for client in clients {
        outcomes.extend(client.await.expect("a load client panicked"));
    }

    let mut histogram: BTreeMap<u16, usize> = BTreeMap::new();
    let mut by_op: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    for outcome in &outcomes {
        *histogram.entry(outcome.status).or_default() += 1;
        *by_op.entry((outcome.op, outcome.status)).or_default() += 1;
    }
    eprintln!("statuses: {histogram:?}\nby operation: {by_op:?}");

    // Every node reads the same state, and the database kept the invariants.
    let mut views = Vec::new();
    for node in nodes.iter() {
        let listed = node.list("").await;
        expect(&listed, StatusCode::OK, &format!("list on {}", node.label));
        let mut view: Vec<(String, String, String, bool)> = listed.body["vims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["id"].as_str().unwrap().to_owned(),
                    v["tenant_id"].as_str().unwrap().to_owned(),
                    v["name"].as_str().unwrap().to_owned(),
                    v["is_default"].as_bool().expect("a boolean is_default"),
                )
            })
            .collect();
        view.sort();
        let mut defaults: BTreeMap<&str, usize> = BTreeMap::new();
        let mut names = BTreeSet::new();
        for (_, tenant, name, is_default) in &view {
            if *is_default {
                *defaults.entry(tenant).or_default() += 1;
            }
            assert!(
                names.insert((tenant.clone(), name.clone())),
                "{}: two live VIMs named {name} in {tenant} (seed {seed}): {view:?}",
                node.label
            );
        }
        assert!(
            defaults.values().all(|n| *n <= 1),
            "{}: more than one default VIM in a tenant (seed {seed}): {defaults:?} {view:?}",
            node.label
        );
        views.push(view);
    }
    assert!(
        views.windows(2).all(|w| w[0] == w[1]),
        "nodes disagree on the live VIMs: {views:?}"
    );
    assert!(
        !views[0].is_empty(),
        "no VIM survived the load (seed {seed})"
    );

    // Whatever the load left behind is usable through every node.
    for (id, ..) in &views[0] {
        for node in nodes.iter() {
            let project = format!("recheck-{}", node.label);
            revalidate(&keystone, node, id, &project, "s3cret-pw").await;
        }
    }
    for node in nodes.iter() {
        assert_eq!(node.key_files(), ["default.key"], "{}", node.label);
    }
    // Statuses last: a run that hits a service error still reports the state it left.
    let unexpected: Vec<String> = outcomes
        .iter()
        .filter(|o| !ALLOWED.contains(&o.status))
        .take(5)
        .map(|o| format!("{} on node{} -> {} {}", o.op, o.node, o.status, o.body))
        .collect();
    assert!(
        unexpected.is_empty(),
        "statuses outside {ALLOWED:?} (seed {seed}): {histogram:?} by operation {by_op:?}; first:\n{}",
        unexpected.join("\n")
    );
    assert!(
        histogram.get(&201).is_some_and(|n| *n > 0) && histogram.get(&409).is_some_and(|n| *n > 0),
        "the load neither registered VIMs nor met a conflict: {by_op:?}"
    );
}

// -------------------------------------------------------------------------------------------
// 5. Clock skew between nodes
// -------------------------------------------------------------------------------------------

/// `created_at` as the API prints it, minus the real time now, in minutes.
fn minutes_from_now(reply: &Reply) -> i64 {
    let text = reply.vim()["created_at"].as_str().expect("a created_at");
    let created = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .unwrap_or_else(|e| panic!("created_at {text:?}: {e}"));
    (created - chrono::Utc::now().naive_utc()).num_minutes()
}

async fn clock_skew_between_nodes_keeps_credentials_readable(db: TestDb) {
    if faketime_or_skip("clock_skew_between_nodes_keeps_credentials_readable").is_none() {
        return;
    }
    let keystone = Keystone::start().await;
    let key = generate_key();
    let nodes = Node::start_all(
        &db,
        &[
            NodeSpec::default_key(&key),
            NodeSpec::default_key(&key).clock("+10m"),
            NodeSpec::default_key(&key).clock("-10m"),
        ],
    )
    .await;

    // Sealed on node1: its tokens are stamped 10 minutes ahead of node0 and 20 of node2.
    let ahead = nodes[1]
        .create(&openstack_vim(&keystone, "t", "AHEAD"))
        .await;
    expect(&ahead, StatusCode::CREATED, "create on node1 (+10m)");
    let skew = minutes_from_now(&ahead);
    assert!(
        (8..=12).contains(&skew),
        "node1 does not run 10 minutes ahead (created_at is {skew} min from now)"
    );
    let id = ahead.id();
    revalidate(&keystone, &nodes[0], &id, "p0", "s3cret-pw").await;
    // Sealed on node1 again, then opened by the node furthest behind.
    revalidate(&keystone, &nodes[1], &id, "p1", "s3cret-pw").await;
    revalidate(&keystone, &nodes[2], &id, "p2", "s3cret-pw").await;

    let behind = nodes[2]
        .create(&openstack_vim(&keystone, "t", "BEHIND"))
        .await;
    expect(&behind, StatusCode::CREATED, "create on node2 (-10m)");
    let skew = minutes_from_now(&behind);
    assert!(
        (-12..=-8).contains(&skew),
        "node2 does not run 10 minutes behind (created_at is {skew} min from now)"
    );
    let id = behind.id();
    revalidate(&keystone, &nodes[1], &id, "q1", "s3cret-pw").await;
    revalidate(&keystone, &nodes[0], &id, "q0", "s3cret-pw").await;
    for node in &nodes {
        assert_eq!(node.key_files(), ["default.key"], "{}", node.label);
    }
}
