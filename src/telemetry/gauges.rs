//! Gauges observed at collection time from the node's own state: dependency health and the age of the newest
//! change applied. Registered once per node by `startup` (a test process holding several nodes observes each).

use std::sync::Arc;

use opentelemetry::KeyValue;
use vane_actors::hub::SnapshotRegistry;
use vane_schema::wire::time::{now_ms, unix_ms};

use crate::startup::NodeHealth;

/// Registers `vane.dependency.up` and `vane.change.last_applied_age`.
pub fn register(health: Arc<NodeHealth>, registry: SnapshotRegistry) {
    let meter = opentelemetry::global::meter("vane");
    meter
        .i64_observable_gauge("vane.dependency.up")
        .with_description("1 while the dependency answers, by dependency (database | cache | broker | ingest)")
        .with_callback(move |obs| {
            for (dep, state) in health.dependencies() {
                obs.observe(i64::from(state.state == "up"), &[KeyValue::new("dependency", dep)]);
            }
        })
        .build();
    meter
        .f64_observable_gauge("vane.change.last_applied_age")
        .with_unit("s")
        .with_description("Seconds since the commit of the newest flag or segment change this node holds")
        .with_callback(move |obs| {
            let newest = registry.env_ids().into_iter().filter_map(|id| registry.get(id)).map(|s| s.version()).max();
            if let Some(newest) = newest.filter(|v| *v > 0) {
                obs.observe((unix_ms(&now_ms()) - newest).max(0) as f64 / 1000.0, &[]);
            }
        })
        .build();
}
