//! `AppState`: everything a request handler may need, registered once as `web::Data`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix::Addr;
use uuid::Uuid;
use vane_actors::access::{Access, SecretIndex};
use vane_actors::admin::Admin;
use vane_actors::cache::Cache;
use vane_actors::changes::ChangeBus;
use vane_actors::hub::{Hub, LoadEnv, SnapshotRegistry};
use vane_actors::ingest::{Ingest, Limits};
use vane_actors::rate_limit::RateLimiter;
use vane_actors::session::{Drain, SessionCaps, SessionConfig, SessionCounts, SessionDeps, WriteBudget};
use vane_actors::snapshot::EnvSnapshot;
use vane_actors::store::Store;
use vane_schema::wire::EndUser;

use super::health::NodeHealth;
use crate::admin_auth::AdminAuth;
use crate::error::ApiError;
use crate::settings::Settings;

/// Longest wait for one socket write before the session is dropped as dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The node's shared handles.
pub struct AppState {
    /// Database handle.
    pub store: Store,
    /// Shared cache (Redis) or none.
    pub cache: Cache,
    /// Secret and token checks.
    pub access: Access,
    /// Management operations.
    pub admin: Admin,
    /// Where reported users and insights go.
    pub ingest: Ingest,
    /// The management API's token check.
    pub admin_auth: AdminAuth,
    /// The node's hub.
    pub hub: Addr<Hub>,
    /// Published snapshots (read without asking the hub).
    pub registry: SnapshotRegistry,
    /// What new SDK sessions are started with.
    pub session_deps: SessionDeps,
    /// Whether the change listener is connected (cluster mode only).
    pub bus_health: Option<Arc<AtomicBool>>,
    /// `streaming.max_frame_bytes`.
    pub max_frame_bytes: usize,
    /// `http.max_body_bytes`.
    pub max_body_bytes: usize,
    /// `http.body_timeout_seconds`.
    pub body_timeout: Duration,
    /// `[rate_limits]`, per environment.
    pub rate_limits: RateLimiter,
    /// `[limits]`: what one SDK request may carry.
    pub limits: Limits,
    /// Dependency states, draining flag, uptime (readiness, `/status`).
    pub health: Arc<NodeHealth>,
    /// Closes every session with 1001 when the node drains.
    pub drain: Drain,
    /// Open sessions per environment and type (`/status`).
    pub session_counts: SessionCounts,
}

/// What `startup` built, handed to [`AppState::new`].
pub(super) struct Parts {
    pub store: Store,
    pub cache: Cache,
    pub hub: Addr<Hub>,
    pub registry: SnapshotRegistry,
    pub secrets: SecretIndex,
    pub bus: ChangeBus,
    pub bus_health: Option<Arc<AtomicBool>>,
    pub admin_auth: AdminAuth,
    pub ingest: Ingest,
    pub health: Arc<NodeHealth>,
}

impl AppState {
    pub(super) fn new(settings: &Settings, p: Parts) -> Self {
        let streaming = &settings.streaming;
        let access = Access::new(p.secrets.clone(), p.hub.clone(), Duration::from_secs(streaming.token_expiry_seconds));
        let config = SessionConfig {
            client_timeout: Duration::from_secs(streaming.client_timeout_seconds),
            outbound_queue: streaming.outbound_queue,
            write_timeout: WRITE_TIMEOUT,
            max_connection_age: (streaming.max_connection_age_seconds > 0)
                .then(|| Duration::from_secs(streaming.max_connection_age_seconds)),
            write_budget: WriteBudget::new(streaming.write_budget_bytes),
            caps: SessionCaps { total: streaming.max_sessions, per_env: streaming.max_sessions_per_env },
            data_sync: settings.rate_limits.data_sync,
        };
        let (drain, session_counts) = (Drain::default(), SessionCounts::default());
        let ingest = p.ingest.clone();
        let users = Arc::new(move |env, user: &EndUser| ingest.user_seen(env, user));
        let session_deps = SessionDeps {
            hub: p.hub.clone(),
            registry: p.registry.clone(),
            users,
            config,
            drain: drain.signal(),
            counts: session_counts.clone(),
            limits: settings.limits.clone(),
        };
        let rate_limits = RateLimiter::new(settings.rate_limits.clone(), p.cache.as_redis().cloned());
        let admin = Admin::new(p.store.clone(), p.cache.clone(), p.bus, p.secrets);
        Self {
            store: p.store,
            cache: p.cache,
            access,
            admin,
            ingest: p.ingest,
            admin_auth: p.admin_auth,
            hub: p.hub,
            registry: p.registry,
            session_deps,
            bus_health: p.bus_health,
            max_frame_bytes: streaming.max_frame_bytes,
            max_body_bytes: settings.http.max_body_bytes,
            body_timeout: Duration::from_secs(settings.http.body_timeout_seconds),
            rate_limits,
            limits: settings.limits.clone(),
            health: p.health,
            drain,
            session_counts,
        }
    }

    /// The environment's snapshot: from the registry, or loaded by the hub.
    pub async fn snapshot(&self, env_id: Uuid) -> Result<Arc<EnvSnapshot>, ApiError> {
        if let Some(s) = self.registry.get(env_id) {
            return Ok(s);
        }
        let loaded = self.hub.send(LoadEnv(env_id)).await.map_err(|e| ApiError::Unavailable(e.into()))?;
        Ok(loaded?)
    }

    /// `user` with its stored attributes merged in (they win for the same name); unchanged for a blank key or a
    /// user nobody stored attributes for. Read from the database: the hub's cache covers only users with sessions.
    pub async fn merged_user(&self, env_id: Uuid, user: EndUser) -> Result<EndUser, ApiError> {
        if !user.is_valid() {
            return Ok(user);
        }
        Ok(match self.store.user_attributes(env_id, &user.key_id).await? {
            Some(stored) => user.merged(&stored),
            None => user,
        })
    }

    /// Whether the change listener is connected (always true in embedded mode).
    pub fn bus_is_healthy(&self) -> bool {
        self.bus_health.as_ref().is_none_or(|h| h.load(Ordering::Relaxed))
    }
}
