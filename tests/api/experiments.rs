//! Experiments, evaluation series, the per-flag insight switch and retention, through the management API and
//! the track endpoint, on SQLite and Postgres.

mod crud;
mod insights;
mod rollup;
mod sdk;
mod stats;

use serde_json::{Value, json};
use vane_actors::store::Store;
use vane_schema::wire::{FeatureFlag, RolloutVariation};

use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::seed::{self, TestEnv};

/// The three-variation string flag `exp-flag` (ids `A`, `B`, `C`, values `a`, `b`, `c`), split a third each and
/// every user sent to experiments.
pub fn exp_flag(env_id: uuid::Uuid) -> FeatureFlag {
    let mut flag = seed::bool_flag(env_id, "exp-flag");
    flag.variation_type = "string".into();
    flag.variations = ["A", "B", "C"]
        .iter()
        .map(|id| vane_schema::wire::Variation { id: (*id).into(), name: (*id).into(), value: id.to_lowercase() })
        .collect();
    flag.disabled_variation_id = "A".into();
    flag.target_users.clear();
    let split = [("A", 0.0, 0.34), ("B", 0.34, 0.67), ("C", 0.67, 1.0)];
    flag.fallthrough.variations = split
        .iter()
        .map(|(id, lo, hi)| RolloutVariation { id: (*id).into(), rollout: vec![*lo, *hi], expt_rollout: Some(1.0) })
        .collect();
    flag
}

/// A node on `db` with an environment and [`exp_flag`].
pub async fn app(db: TestDb) -> (TestApp, TestEnv, Store) {
    let store = seed::store(&db.url).await;
    let env = seed::env(&store).await;
    store.upsert_flag(&exp_flag(env.id)).await.expect("flag");
    (TestApp::spawn(db, &[]).await, env, store)
}

/// Posts a track body with the server secret; asserts the 200.
pub async fn track(app: &TestApp, env: &TestEnv, items: &[Value]) {
    for chunk in items.chunks(500) {
        let res = app
            .http
            .post(format!("{}/api/public/insight/track", app.address))
            .header("authorization", &env.server)
            .json(&chunk)
            .send()
            .await
            .expect("answers");
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    }
}

/// A track item: `user` evaluated `flag` to `variation` at `ms`.
pub fn exposure(user: &str, flag: &str, variation: &str, experiment: bool, ms: i64) -> Value {
    json!({"user": {"keyId": user, "name": user},
           "variations": [{"featureFlagKey": flag, "variation": {"id": variation, "value": variation.to_lowercase()},
                           "sendToExperiment": experiment, "timestamp": ms}]})
}

/// A track item: `user` sent custom event `event` with `value` at `ms`.
pub fn conversion(user: &str, event: &str, value: f64, ms: i64) -> Value {
    json!({"user": {"keyId": user},
           "metrics": [{"route": "index/metric", "type": "CustomEvent", "eventName": event, "numericValue": value,
                        "appType": "test", "timestamp": ms}]})
}

/// An experiment body on `exp-flag` with baseline `A`, window around `now_ms`.
pub fn experiment_body(now_ms: i64, metrics: Value) -> Value {
    let iso = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).expect("time").to_rfc3339();
    json!({"name": "checkout test", "flagKey": "exp-flag", "baselineVariationId": "A", "metrics": metrics,
           "start": iso(now_ms - 3_600_000), "end": iso(now_ms + 3_600_000), "alpha": 0.05})
}
