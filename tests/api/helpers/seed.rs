//! Test data written straight into a node's database (until the management API exists, tests seed this way).

use std::time::Duration;

use uuid::Uuid;
use vane_actors::store::{NewEnvironment, Store, StoreConfig};
use vane_schema::secret::SecretType;
use vane_schema::wire::time::{now_ms, parse};
use vane_schema::wire::{
    Condition, Fallthrough, FeatureFlag, RolloutVariation, Segment, TargetRule, TargetUser, Variation,
};

/// An environment created for a test, with its secrets.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// Environment id.
    pub id: Uuid,
    /// Server SDK secret.
    pub server: String,
    /// Client SDK secret.
    pub client: String,
}

/// Opens the store of a test database.
pub async fn store(url: &str) -> Store {
    let config = StoreConfig { url: url.to_owned(), max_connections: 2, acquire_timeout: Duration::from_secs(5) };
    let store = Store::connect(&config).await.expect("connects");
    store.migrate().await.expect("migrates");
    store
}

/// Creates an environment with a unique key.
pub async fn env(store: &Store) -> TestEnv {
    let key = format!("env-{}", Uuid::new_v4().simple());
    let env = store
        .create_environment(NewEnvironment { name: key.clone(), key, description: String::new() })
        .await
        .expect("creates env");
    let secret = |kind| env.secrets().into_iter().find(|s| s.kind == kind).expect("secret").value;
    TestEnv { id: env.id, server: secret(SecretType::Server), client: secret(SecretType::Client) }
}

fn var(id: &str, value: &str) -> Variation {
    Variation { id: id.into(), name: value.into(), value: value.into() }
}

fn all(id: &str) -> RolloutVariation {
    RolloutVariation { id: id.into(), rollout: vec![0.0, 1.0], expt_rollout: Some(1.0) }
}

/// A boolean flag serving `true` to everyone, `false` to `targeted-user`, `false` when disabled.
pub fn bool_flag(env_id: Uuid, key: &str) -> FeatureFlag {
    let now = now_ms();
    FeatureFlag {
        id: Uuid::new_v4(),
        env_id,
        revision: Uuid::new_v4(),
        name: key.into(),
        key: key.into(),
        variation_type: "boolean".into(),
        variations: vec![var("v-true", "true"), var("v-false", "false")],
        target_users: vec![TargetUser { key_ids: vec!["targeted-user".into()], variation_id: "v-false".into() }],
        is_enabled: true,
        disabled_variation_id: "v-false".into(),
        fallthrough: Fallthrough { dispatch_key: None, included_in_expt: true, variations: vec![all("v-true")] },
        expt_include_all_targets: true,
        created_at: now,
        updated_at: now,
        ..FeatureFlag::default()
    }
}

/// A string flag: `gold` for members of `segment`, `green` for country `us`, `blue` otherwise.
pub fn color_flag(env_id: Uuid, key: &str, segment: Uuid) -> FeatureFlag {
    let mut flag = bool_flag(env_id, key);
    flag.variation_type = "string".into();
    flag.variations = vec![var("blue", "blue"), var("green", "green"), var("gold", "gold")];
    flag.target_users.clear();
    flag.disabled_variation_id = "blue".into();
    flag.fallthrough.variations = vec![all("blue")];
    let cond = |property: &str, op: Option<&str>, value: String| Condition {
        id: None,
        property: property.into(),
        op: op.map(Into::into),
        value: Some(value),
    };
    flag.rules = vec![
        TargetRule {
            id: "r-seg".into(),
            name: "Segment rule".into(),
            dispatch_key: None,
            included_in_expt: false,
            conditions: vec![cond("User is in segment", None, format!("[\"{segment}\"]"))],
            variations: vec![all("gold")],
        },
        TargetRule {
            id: "r-us".into(),
            name: "US rule".into(),
            dispatch_key: Some("keyId".into()),
            included_in_expt: false,
            conditions: vec![cond("country", Some("Equal"), "us".into())],
            variations: vec![all("green")],
        },
    ];
    flag
}

/// A segment containing `members`.
pub fn segment(env_id: Uuid, members: &[&str]) -> Segment {
    let now = now_ms();
    Segment {
        id: Uuid::new_v4(),
        env_id,
        name: "beta".into(),
        key: "beta".into(),
        included: members.iter().map(|m| m.to_string()).collect(),
        created_at: now,
        updated_at: now,
        ..Segment::default()
    }
}

/// Sets a flag's `updatedAt`.
pub fn at(mut flag: FeatureFlag, iso: &str) -> FeatureFlag {
    flag.updated_at = parse(iso).expect("timestamp");
    flag
}
