//! A catch-up that waits on the database does not stop the hub: a Postgres lock held by the test blocks the
//! catch-up's read (really, and for as long as the test wants), while sessions connect and receive pushes.

use std::time::Duration;

use actix::prelude::*;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, TransactionTrait};
use tokio::sync::mpsc;
use vane_actors::cache::Cache;
use vane_actors::hub::{Connect, Evict, FlagChanged, Hub, LoadEnv, Push, Resync, SnapshotRegistry};
use vane_schema::secret::SecretType;

use crate::helpers::database::TestDb;
use crate::helpers::seed;
use crate::helpers::wait::eventually;

/// A session stand-in that reports the first flag key of every push.
struct Recorder(mpsc::UnboundedSender<String>);

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<Push> for Recorder {
    type Result = ();

    fn handle(&mut self, push: Push, _: &mut Self::Context) {
        let _ = self.0.send(push.flags.first().map(|f| f.flag().key.clone()).unwrap_or_default());
    }
}

impl Handler<Evict> for Recorder {
    type Result = ();

    fn handle(&mut self, _: Evict, _: &mut Self::Context) {}
}

/// Backends of `db` waiting for a lock (the catch-up's read, once it is blocked).
async fn lock_waiters(admin: &DatabaseConnection, db: &str) -> i64 {
    let sql = format!("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{db}' AND wait_event_type = 'Lock'");
    let row = admin.query_one_raw(Statement::from_string(admin.get_database_backend(), sql)).await;
    row.expect("pg_stat_activity").expect("a row").try_get::<i64>("", "n").expect("count")
}

#[actix_web::test]
async fn sessions_connect_and_receive_pushes_while_a_catch_up_waits_on_the_database() {
    // Arrange: a hub holding one environment; a flag written behind its back that only a catch-up can find.
    let db = TestDb::postgres().await;
    let store = seed::store(&db.url).await;
    let env = seed::env(&store).await;
    let stored = store.environment(env.id).await.expect("reads").expect("exists");
    // A real secret: the hub refuses sessions whose secret its environment no longer lists.
    let server_secret_id = stored.secrets().into_iter().find(|s| s.kind == SecretType::Server).expect("secret").id;
    let registry = SnapshotRegistry::default();
    let hub = Hub::new(store.clone(), Cache::none(), registry.clone(), Default::default()).start();
    hub.send(LoadEnv(env.id)).await.expect("hub").expect("loads");
    store.upsert_flag(&seed::bool_flag(env.id, "found-by-catch-up")).await.expect("writes");
    let locker = Database::connect(&db.url).await.expect("connects");
    let lock = locker.begin().await.expect("begins");
    lock.execute_unprepared("LOCK TABLE segments IN ACCESS EXCLUSIVE MODE").await.expect("locks");

    // Act: a catch-up starts and blocks on the lock (not awaited: before the fix the hub itself waited on it).
    hub.do_send(Resync);
    let admin = Database::connect(&db.url).await.expect("connects");
    let name = db.url.rsplit('/').next().expect("database name").to_owned();
    eventually(Duration::from_secs(10), "the catch-up to block on the lock", || async {
        (lock_waiters(&admin, &name).await > 0).then_some(())
    })
    .await;

    // Assert: meanwhile a session registers and receives a change at once.
    let (tx, mut pushes) = mpsc::unbounded_channel();
    let recorder = Recorder(tx).start();
    let connect = Connect {
        env_id: env.id,
        kind: SecretType::Server,
        push: recorder.clone().recipient(),
        evict: recorder.recipient(),
        secret_id: server_secret_id,
    };
    let registered = tokio::time::timeout(Duration::from_secs(2), hub.send(connect)).await;
    registered.expect("the hub answers while the catch-up waits").expect("hub").expect("registers");
    hub.do_send(FlagChanged(seed::bool_flag(env.id, "pushed-meanwhile")));
    let pushed = tokio::time::timeout(Duration::from_secs(2), pushes.recv()).await.expect("pushed in time");
    assert_eq!(pushed.as_deref(), Some("pushed-meanwhile"));
    assert!(lock_waiters(&admin, &name).await > 0, "the catch-up was still blocked");
    let held = registry.get(env.id).expect("loaded");
    assert!(!held.flags().any(|f| f.flag().key == "found-by-catch-up"), "the catch-up had not finished");

    // Once the lock is released the catch-up completes and pushes what it found.
    lock.rollback().await.expect("releases");
    let found = tokio::time::timeout(Duration::from_secs(10), pushes.recv()).await.expect("caught up in time");
    assert_eq!(found.as_deref(), Some("found-by-catch-up"));
    admin.close().await.ok();
    locker.close().await.ok();
    db.cleanup().await;
}
