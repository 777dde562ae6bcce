//! Migrations and entities on a fresh Postgres database and a fresh SQLite file, each test with its own.

use std::time::Duration;

use sea_orm_migration::MigratorTrait;
use uuid::Uuid;
use vane_actors::store::{NewEnvironment, Store, StoreConfig, StoreError};
use vane_schema::secret::SecretType;
use vane_schema::wire::time::now_ms;
use vane_schema::wire::{FeatureFlag, Segment};

use crate::helpers::database::TestDb;

const FLAG: &str = include_str!("../../schema/tests/fixtures/flag-full.json");
const SEGMENT: &str = include_str!("../../schema/tests/fixtures/segment-full.json");

async fn store(db: &TestDb) -> Store {
    let config = StoreConfig { url: db.url.clone(), max_connections: 2, acquire_timeout: Duration::from_secs(5) };
    let store = Store::connect(&config).await.expect("connects");
    assert_eq!(
        store.pending_migrations().await.expect("lists").len(),
        vane_schema::migration::Migrator::migrations().len(),
        "a fresh database has every migration pending"
    );
    store.migrate().await.expect("migrates");
    assert!(store.pending_migrations().await.expect("lists").is_empty());
    store.migrate().await.expect("migrating again is a no-op");
    store
}

async fn exercise(store: &Store) {
    // Environments and secrets.
    let env = store
        .create_environment(NewEnvironment { name: "Prod".into(), key: "prod".into(), description: String::new() })
        .await
        .expect("creates");
    let secrets = env.secrets();
    assert_eq!(secrets.len(), 2);
    for s in &secrets {
        assert_eq!(vane_schema::secret::env_id(&s.value).expect("encodes its environment"), env.id);
    }
    // Rotation: add, revoke the old one; the last of a type stays; every edit bumps `updatedAt`.
    let (added, after_add) = store.add_secret(env.id, SecretType::Server).await.expect("adds");
    assert!(after_add.updated_at > env.updated_at && after_add.secrets().contains(&added));
    let old = secrets.iter().find(|s| s.kind == SecretType::Server).expect("server secret");
    let after_revoke = store.revoke_secret(env.id, &old.value).await.expect("revokes");
    assert!(after_revoke.updated_at > after_add.updated_at && !after_revoke.secrets().contains(old));
    let last = store.revoke_secret(env.id, &added.value).await;
    assert!(matches!(last, Err(StoreError::LastSecret(SecretType::Server))), "{last:?}");
    let unknown = store.revoke_secret(env.id, &vane_schema::secret::generate(env.id)).await;
    assert!(matches!(unknown, Err(StoreError::NoSecret)), "{unknown:?}");
    assert!(secrets.iter().any(|s| s.kind == SecretType::Client));
    let dup =
        store.create_environment(NewEnvironment { name: "x".into(), key: "prod".into(), description: String::new() });
    assert!(matches!(dup.await, Err(StoreError::Conflict(_))), "environment keys are unique");

    // Flags: every field survives the table, and an upsert replaces.
    let mut flag: FeatureFlag = serde_json::from_str(FLAG).expect("fixture");
    flag.env_id = env.id;
    store.upsert_flag(&flag).await.expect("inserts");
    assert_eq!(store.flags(env.id).await.expect("loads"), vec![flag.clone()]);
    flag.is_enabled = false;
    flag.updated_at = now_ms();
    store.upsert_flag(&flag).await.expect("replaces");
    assert_eq!(store.flags(env.id).await.expect("loads"), vec![flag.clone()]);
    assert!(store.flags(Uuid::new_v4()).await.expect("loads").is_empty(), "other environments see nothing");

    // Segments.
    let mut segment: Segment = serde_json::from_str(SEGMENT).expect("fixture");
    segment.env_id = env.id;
    store.upsert_segment(&segment).await.expect("inserts");
    assert_eq!(store.segments(env.id).await.expect("loads"), vec![segment]);

    // Settings: first writer wins.
    assert_eq!(store.setting_or_insert("k", "first").await.expect("writes"), "first");
    assert_eq!(store.setting_or_insert("k", "second").await.expect("keeps"), "first");
    store.ping().await.expect("pings");
}

#[tokio::test]
async fn postgres_fresh_database_migrates_and_round_trips_every_entity() {
    let db = TestDb::postgres().await;
    let store = store(&db).await;
    exercise(&store).await;
    store.connection().clone().close().await.ok();
    db.cleanup().await;
}

#[tokio::test]
async fn sqlite_fresh_file_migrates_and_round_trips_every_entity() {
    let db = TestDb::sqlite();
    let store = store(&db).await;
    exercise(&store).await;
}
