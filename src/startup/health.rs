//! `NodeHealth`: what this node knows about itself, sampled once a second by a monitor task so readiness, `/status`
//! and the dependency gauges answer from memory (a readiness probe never waits on a dead database).
//!
//! Each dependency (database, cache, broker, ingestion) keeps its state and since when; readiness turns 503 while
//! the node drains and, in cluster mode, once the change feed has been lost longer than `bus.stale_after_seconds`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use vane_actors::cache::Cache;
use vane_actors::ingest::Ingest;
use vane_actors::store::Store;

/// How often the monitor samples the dependencies.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// Longest wait for one database or cache ping before it counts as down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// A dependency's last known state.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DepState {
    /// `up` or `down`.
    pub state: &'static str,
    /// When it entered that state (or when the node started watching it).
    pub since: DateTime<Utc>,
    /// The same instant on the monotonic clock, for staleness.
    #[serde(skip)]
    pub since_instant: Instant,
}

/// The node's own health; shared by the monitor, the health routes and the gauges.
#[derive(Debug)]
pub struct NodeHealth {
    /// When the node started serving.
    pub started: Instant,
    /// Set by the first shutdown signal; readiness answers 503 from then on.
    draining: AtomicBool,
    /// `database`, `cache`, `broker`, `ingest` (only those this node uses).
    deps: Mutex<BTreeMap<&'static str, DepState>>,
    /// `bus.stale_after_seconds` in cluster mode; `None` in embedded mode.
    stale_after: Option<Duration>,
}

/// What a readiness probe gets.
#[derive(Debug, Serialize)]
pub struct Readiness {
    /// Whether a load balancer should route to this node.
    #[serde(skip)]
    pub ready: bool,
    /// `ready`, `degraded` (serving, some dependency down), `stale` or `draining`.
    pub status: &'static str,
    /// Every dependency's state and since when.
    pub dependencies: BTreeMap<&'static str, DepState>,
}

impl NodeHealth {
    /// Every dependency starts `up`: the node only serves once it connected to all of them.
    pub fn new(deps: &[&'static str], stale_after: Option<Duration>) -> Arc<Self> {
        let now = (Utc::now(), Instant::now());
        let deps = deps.iter().map(|d| (*d, DepState { state: "up", since: now.0, since_instant: now.1 })).collect();
        Arc::new(Self { started: now.1, draining: AtomicBool::new(false), deps: Mutex::new(deps), stale_after })
    }

    /// Marks the node as draining (readiness 503 from now on).
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether a shutdown signal arrived.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Records one sample; a changed state restarts its `since`.
    pub fn set(&self, dep: &'static str, up: bool) {
        let mut deps = self.deps.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(current) = deps.get_mut(dep) else { return };
        let state = if up { "up" } else { "down" };
        if current.state != state {
            tracing::warn!(dependency = dep, state, "dependency state changed");
            *current = DepState { state, since: Utc::now(), since_instant: Instant::now() };
        }
    }

    /// Every dependency's state.
    pub fn dependencies(&self) -> BTreeMap<&'static str, DepState> {
        self.deps.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Whether `dep` is up (dependencies this node does not use count as up).
    pub fn is_up(&self, dep: &str) -> bool {
        self.dependencies().get(dep).is_none_or(|d| d.state == "up")
    }

    /// The readiness verdict.
    pub fn readiness(&self) -> Readiness {
        let dependencies = self.dependencies();
        let stale = self.stale_after.is_some_and(|after| {
            dependencies.get("broker").is_some_and(|b| b.state == "down" && b.since_instant.elapsed() >= after)
        });
        let (ready, status) = if self.is_draining() {
            (false, "draining")
        } else if stale {
            (false, "stale")
        } else if dependencies.values().any(|d| d.state == "down") {
            (true, "degraded")
        } else {
            (true, "ready")
        };
        Readiness { ready, status, dependencies }
    }
}

/// What the monitor samples.
pub(super) struct Probes {
    pub store: Store,
    pub cache: Cache,
    pub bus_health: Option<Arc<AtomicBool>>,
    pub ingest: Ingest,
}

/// Samples every dependency once a second, for as long as the node runs.
pub(super) fn monitor(health: Arc<NodeHealth>, probes: Probes) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        loop {
            tick.tick().await;
            let db = tokio::time::timeout(PING_TIMEOUT, probes.store.ping()).await;
            health.set("database", matches!(db, Ok(Ok(_))));
            if probes.cache.as_redis().is_some() {
                let cache = tokio::time::timeout(PING_TIMEOUT, probes.cache.is_healthy()).await;
                health.set("cache", cache.unwrap_or(false));
            }
            let ingest = probes.ingest.status();
            if let Some(bus) = &probes.bus_health {
                // The change listener's flag, and the ingestion connections to the same broker: either losing it
                // means this node is cut off from the change feed (the listener's flag alone was seen to stay up
                // while lapin retried a refused reconnect).
                health.set("broker", bus.load(Ordering::Relaxed) && ingest.broker_connected != Some(false));
            }
            health.set("ingest", ingest.database_ok && ingest.broker_connected != Some(false));
        }
    });
}
