//! The hub with stand-in sessions: bounded pushes evict a session that does not keep up, and pushes reach only
//! the changed environment's sessions of the right kind.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{Notify, mpsc};
use uuid::Uuid;
use vane_schema::secret::SecretType;
use vane_schema::wire::time::now_ms;
use vane_schema::wire::{Condition, Fallthrough, FeatureFlag, RolloutVariation, Segment, TargetRule, Variation};

use super::*;
use crate::store::{NewEnvironment, StoreConfig};

/// What a stand-in session saw.
#[derive(Debug, PartialEq)]
enum Seen {
    Push(String),
    Evicted,
}

/// A session stand-in with a mailbox of one that holds its first push until `release` is notified.
struct Stub {
    seen: mpsc::UnboundedSender<Seen>,
    release: Arc<Notify>,
    held: bool,
}

impl Actor for Stub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(1);
    }
}

impl Handler<Push> for Stub {
    type Result = ();

    fn handle(&mut self, push: Push, ctx: &mut Self::Context) {
        let _ = self.seen.send(Seen::Push(push.flags.first().map(|f| f.flag().key.clone()).unwrap_or_default()));
        if !self.held {
            self.held = true;
            let release = self.release.clone();
            ctx.wait(async move { release.notified().await }.into_actor(self));
        }
    }
}

impl Handler<Evict> for Stub {
    type Result = ();

    fn handle(&mut self, _: Evict, _: &mut Self::Context) {
        let _ = self.seen.send(Seen::Evicted);
    }
}

fn flag(env_id: Uuid, key: &str) -> FeatureFlag {
    let now = now_ms();
    FeatureFlag {
        id: Uuid::new_v4(),
        env_id,
        key: key.into(),
        variation_type: "boolean".into(),
        variations: vec![Variation { id: "t".into(), name: "t".into(), value: "true".into() }],
        disabled_variation_id: "t".into(),
        is_enabled: true,
        fallthrough: Fallthrough {
            variations: vec![RolloutVariation { id: "t".into(), rollout: vec![0.0, 1.0], expt_rollout: None }],
            ..Fallthrough::default()
        },
        created_at: now,
        updated_at: now,
        ..FeatureFlag::default()
    }
}

async fn hub_with_env() -> (Addr<Hub>, Uuid, Uuid) {
    let config =
        StoreConfig { url: "sqlite::memory:".into(), max_connections: 1, acquire_timeout: Duration::from_secs(5) };
    let store = Store::connect(&config).await.expect("sqlite");
    store.migrate().await.expect("migrates");
    let new = |key: &str| NewEnvironment { name: key.into(), key: key.into(), description: String::new() };
    let a = store.create_environment(new("a")).await.expect("env").id;
    let b = store.create_environment(new("b")).await.expect("env").id;
    (Hub::new(store, Cache::none(), SnapshotRegistry::default(), Default::default()).start(), a, b)
}

fn stub(release: &Arc<Notify>) -> (Addr<Stub>, mpsc::UnboundedReceiver<Seen>) {
    let (seen, rx) = mpsc::unbounded_channel();
    (Stub { seen, release: release.clone(), held: false }.start(), rx)
}

async fn connect(hub: &Addr<Hub>, env_id: Uuid, kind: SecretType, s: &Addr<Stub>) -> SessionId {
    let msg =
        Connect { env_id, kind, push: s.clone().recipient(), evict: s.clone().recipient(), secret_id: Uuid::nil() };
    hub.send(msg).await.expect("hub").expect("connects")
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("in time").expect("open")
}

#[actix::test]
async fn a_session_that_falls_behind_is_evicted_and_forgotten() {
    let (hub, env, _) = hub_with_env().await;
    let release = Arc::new(Notify::new());
    let (slow, mut seen) = stub(&release);
    connect(&hub, env, SecretType::Client, &slow).await;
    assert_eq!(hub.send(SessionCount).await.expect("hub"), 1);

    // The first push is held, the second fills the mailbox of one, the third does not fit.
    for key in ["f1", "f2", "f3"] {
        hub.send(FlagChanged(flag(env, key))).await.expect("hub");
    }
    assert_eq!(next(&mut seen).await, Seen::Push("f1".into()));
    assert_eq!(hub.send(SessionCount).await.expect("hub"), 0, "the hub forgot the slow session");

    release.notify_one();
    assert_eq!(next(&mut seen).await, Seen::Push("f2".into()));
    assert_eq!(next(&mut seen).await, Seen::Evicted, "told to close (1013) instead of growing a queue");
}

#[actix::test]
async fn pushes_reach_only_the_changed_environment_and_the_right_kind() {
    let (hub, a, b) = hub_with_env().await;
    let release = Arc::new(Notify::new());
    release.notify_one(); // nobody is held: the first push waits on a permit that is already there
    let (client_a, mut seen_client_a) = stub(&release);
    let (server_a, mut seen_server_a) = stub(&release);
    let (client_b, mut seen_client_b) = stub(&release);
    connect(&hub, a, SecretType::Client, &client_a).await;
    connect(&hub, a, SecretType::Server, &server_a).await;
    connect(&hub, b, SecretType::Client, &client_b).await;

    hub.send(FlagChanged(flag(a, "only-a"))).await.expect("hub");
    assert_eq!(next(&mut seen_client_a).await, Seen::Push("only-a".into()));
    assert_eq!(next(&mut seen_server_a).await, Seen::Push("only-a".into()));
    hub.send(FlagChanged(flag(b, "only-b"))).await.expect("hub");
    assert_eq!(next(&mut seen_client_b).await, Seen::Push("only-b".into()), "b's first push is b's own flag");
}

async fn flag_keys(registry: &SnapshotRegistry, env_id: Uuid) -> Vec<String> {
    let snapshot = registry.get(env_id).expect("loaded");
    let mut keys: Vec<String> = snapshot.flags().map(|f| f.flag().key.clone()).collect();
    keys.sort();
    keys
}

#[actix::test]
async fn a_catch_up_failure_in_one_environment_does_not_hold_up_the_others_and_is_retried() {
    // Arrange: two loaded environments, each with a flag written behind the hub's back; a's is unreadable.
    let config =
        StoreConfig { url: "sqlite::memory:".into(), max_connections: 1, acquire_timeout: Duration::from_secs(5) };
    let store = Store::connect(&config).await.expect("sqlite");
    store.migrate().await.expect("migrates");
    let new = |key: &str| NewEnvironment { name: key.into(), key: key.into(), description: String::new() };
    let a = store.create_environment(new("a")).await.expect("env").id;
    let b = store.create_environment(new("b")).await.expect("env").id;
    let registry = SnapshotRegistry::default();
    let hub = Hub::new(store.clone(), Cache::none(), registry.clone(), Default::default()).start();
    for env in [a, b] {
        hub.send(LoadEnv(env)).await.expect("hub").expect("loads");
    }
    store.upsert_flag(&flag(a, "late-a")).await.expect("writes");
    store.upsert_flag(&flag(b, "late-b")).await.expect("writes");
    let corrupt = "UPDATE feature_flags SET updated_at = 'not a time' WHERE key = 'late-a'";
    sea_orm::ConnectionTrait::execute_unprepared(store.connection(), corrupt).await.expect("corrupts");

    // Act
    hub.send(Resync).await.expect("hub");

    // Assert: b caught up although a's read failed; a is retried and catches up once readable again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while flag_keys(&registry, b).await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "b never caught up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(flag_keys(&registry, a).await.is_empty(), "a's read failed");
    let repair = "UPDATE feature_flags SET updated_at = created_at WHERE key = 'late-a'";
    sea_orm::ConnectionTrait::execute_unprepared(store.connection(), repair).await.expect("repairs");
    while flag_keys(&registry, a).await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "a was not retried");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(flag_keys(&registry, a).await, ["late-a"]);
}

#[actix::test]
async fn catch_up_of_an_unchanged_segment_pushes_nothing_and_a_changed_one_pushes_its_flags() {
    // Arrange: a loaded environment with a segment and a flag that targets it, one client and one server session.
    let config =
        StoreConfig { url: "sqlite::memory:".into(), max_connections: 1, acquire_timeout: Duration::from_secs(5) };
    let store = Store::connect(&config).await.expect("sqlite");
    store.migrate().await.expect("migrates");
    let new = NewEnvironment { name: "a".into(), key: "a".into(), description: String::new() };
    let env = store.create_environment(new).await.expect("env").id;
    let mut segment = Segment {
        id: Uuid::new_v4(),
        env_id: env,
        name: "beta".into(),
        included: vec!["u1".into()],
        created_at: now_ms(),
        updated_at: now_ms(),
        ..Segment::default()
    };
    let mut targeted = flag(env, "targeted");
    targeted.rules = vec![TargetRule {
        conditions: vec![Condition {
            property: "User is in segment".into(),
            value: Some(format!("[\"{}\"]", segment.id)),
            ..Default::default()
        }],
        ..Default::default()
    }];
    store.upsert_segment(&segment).await.expect("writes");
    store.upsert_flag(&targeted).await.expect("writes");
    let hub = Hub::new(store.clone(), Cache::none(), SnapshotRegistry::default(), Default::default()).start();
    hub.send(LoadEnv(env)).await.expect("hub").expect("loads");
    let release = Arc::new(Notify::new());
    release.notify_one();
    let (client, mut seen_client) = stub(&release);
    connect(&hub, env, SecretType::Client, &client).await;

    // Act: catch up twice with nothing changed, then once after a marker flag was written behind the hub's back.
    hub.send(Resync).await.expect("hub");
    hub.send(Resync).await.expect("hub");
    store.upsert_flag(&flag(env, "marker")).await.expect("writes");
    hub.send(Resync).await.expect("hub");

    // Assert: the unchanged segment pushed nothing; the first push is the marker.
    assert_eq!(next(&mut seen_client).await, Seen::Push("marker".into()));

    // A segment changed behind the hub's back is applied by catch-up and pushes the flag that targets it.
    segment.included = vec!["u2".into()];
    segment.updated_at = now_ms() + chrono::Duration::milliseconds(5);
    store.upsert_segment(&segment).await.expect("writes");
    hub.send(Resync).await.expect("hub");
    assert_eq!(next(&mut seen_client).await, Seen::Push("targeted".into()));
}
