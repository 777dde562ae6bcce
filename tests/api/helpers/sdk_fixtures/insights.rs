//! Where an SDK's insights end up: `POST /api/public/insight/track` → batching writers → the `events` and
//! `end_users` tables. Read back straight from the node's database, polled with a deadline because the writers
//! flush asynchronously.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use vane_actors::store::Store;
use vane_schema::entity::{end_user, event};

/// What one environment's insights produced so far.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stored {
    /// `(userKeyId, featureFlagKey, variationId)` of each `FlagValue` event.
    pub evaluations: BTreeSet<(String, String, String)>,
    /// `(user keyId, event name)` of each custom metric.
    pub metrics: BTreeSet<(String, String)>,
    /// `key_id` of each `end_users` row.
    pub end_users: BTreeSet<String>,
}

/// How long the writers may take to land a batch (they flush within about a second).
pub const INSIGHT_DEADLINE: Duration = Duration::from_secs(20);

impl Stored {
    /// Reads the environment's `events` and `end_users` rows.
    pub async fn read(store: &Store, env_id: Uuid) -> Self {
        let db = store.connection();
        let events = event::Entity::find().filter(event::Column::EnvId.eq(env_id)).all(db).await.expect("events");
        let users = end_user::Entity::find().filter(end_user::Column::EnvId.eq(env_id)).all(db).await.expect("users");
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let mut stored = Self { end_users: users.into_iter().map(|u| u.key_id).collect(), ..Self::default() };
        for e in events {
            let p = &e.properties;
            if e.event == "FlagValue" {
                stored.evaluations.insert((text(&p["userKeyId"]), text(&p["featureFlagKey"]), text(&p["variationId"])));
            } else {
                stored.metrics.insert((text(&p["user"]["keyId"]), text(&p["eventName"])));
            }
        }
        stored
    }

    /// True when everything in `expected` is stored.
    fn covers(&self, expected: &Stored) -> bool {
        self.evaluations.is_superset(&expected.evaluations)
            && self.metrics.is_superset(&expected.metrics)
            && self.end_users.is_superset(&expected.end_users)
    }
}

/// Polls until the environment's stored insights cover `expected`, then asserts nothing else was stored (a resent
/// batch may add rows, but no new tuples). Panics after [`INSIGHT_DEADLINE`] showing what is missing.
pub async fn wait_for_exactly(store: &Store, env_id: Uuid, expected: &Stored) {
    let deadline = Instant::now() + INSIGHT_DEADLINE;
    loop {
        let stored = Stored::read(store, env_id).await;
        if stored.covers(expected) {
            assert_eq!(&stored, expected, "insights stored beyond those the SDK sent");
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "insights missing after {INSIGHT_DEADLINE:?}:\n evaluations {:?}\n metrics {:?}\n end users {:?}\n\
                 stored: {stored:#?}",
                expected.evaluations.difference(&stored.evaluations).collect::<Vec<_>>(),
                expected.metrics.difference(&stored.metrics).collect::<Vec<_>>(),
                expected.end_users.difference(&stored.end_users).collect::<Vec<_>>(),
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
