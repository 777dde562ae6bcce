//! Builds a node from its settings — store, migrations, first-start bootstrap, hub, snapshots, HTTP server — and
//! runs it. Tests use the same [`Application`] with port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, Arbiter, Supervisor};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use secrecy::ExposeSecret;
use uuid::Uuid;
use vane_actors::access::Access;
use vane_actors::hub::{Hub, LoadEnv, SnapshotRegistry};
use vane_actors::session::{SessionConfig, SessionDeps};
use vane_actors::snapshot::EnvSnapshot;
use vane_actors::store::{Store, StoreConfig};

use crate::error::ApiError;
use crate::settings::{Settings, StreamingSettings};
use crate::{bootstrap, routes};

/// Longest wait for one socket write before the session is dropped as dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything a request handler may need, registered once as `web::Data`.
pub struct AppState {
    /// Database handle.
    pub store: Store,
    /// Secret and token checks.
    pub access: Access,
    /// The node's hub.
    pub hub: Addr<Hub>,
    /// Published snapshots (read without asking the hub).
    pub registry: SnapshotRegistry,
    /// What new SDK sessions are started with.
    pub session_deps: SessionDeps,
    /// `[streaming]` settings.
    pub streaming: StreamingSettings,
    /// `http.max_body_bytes`.
    pub max_body_bytes: usize,
}

impl AppState {
    /// The environment's snapshot: from the registry, or loaded by the hub.
    pub async fn snapshot(&self, env_id: Uuid) -> Result<Arc<EnvSnapshot>, ApiError> {
        if let Some(s) = self.registry.get(env_id) {
            return Ok(s);
        }
        let loaded = self.hub.send(LoadEnv(env_id)).await.map_err(|e| ApiError::Unavailable(e.into()))?;
        Ok(loaded?)
    }
}

/// A built, not yet running, node.
pub struct Application {
    /// The bound port (useful with port 0).
    port: u16,
    /// The HTTP server future.
    server: Server,
}

/// Connects to the configured database.
pub async fn connect_store(settings: &Settings) -> anyhow::Result<Store> {
    let config = StoreConfig {
        url: settings.database.url.expose_secret().to_owned(),
        max_connections: settings.database.max_connections,
        acquire_timeout: Duration::from_secs(settings.database.acquire_timeout_seconds),
    };
    Store::connect(&config).await.context("connecting to the database (database.url)")
}

/// Starts the hub on an arbiter of its own and loads every environment, so the node serves its first SDK from
/// memory.
async fn start_hub(store: &Store, registry: &SnapshotRegistry) -> anyhow::Result<Addr<Hub>> {
    let (store_h, registry_h) = (store.clone(), registry.clone());
    let hub = Supervisor::start_in_arbiter(&Arbiter::new().handle(), move |_| Hub::new(store_h, registry_h));
    for env in store.environments().await? {
        hub.send(LoadEnv(env.id)).await.context("hub")?.with_context(|| format!("loading environment {}", env.id))?;
    }
    Ok(hub)
}

impl Application {
    /// Connects, migrates, bootstraps, loads snapshots and binds; serving starts with [`run_until_stopped`].
    ///
    /// [`run_until_stopped`]: Application::run_until_stopped
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = connect_store(&settings).await?;
        store.migrate().await.context("applying database migrations")?;
        let listener =
            TcpListener::bind(&settings.http.addr).with_context(|| format!("binding {}", settings.http.addr))?;
        let port = listener.local_addr()?.port();
        bootstrap::first_start(&store, &settings, port).await?;
        let registry = SnapshotRegistry::default();
        let hub = start_hub(&store, &registry).await?;
        let state = web::Data::new(app_state(settings.streaming, settings.http.max_body_bytes, store, hub, registry));
        let workers = if settings.http.workers == 0 { num_workers() } else { settings.http.workers };
        let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(routes::configure))
            .workers(workers)
            .tcp_nodelay(true)
            .listen(listener)?
            .run();
        tracing::info!(port, workers, "vane listening");
        // On stdout, for people and for scripts that start Vane on port 0.
        println!(
            "Vane {} listening on port {port} — check: curl http://127.0.0.1:{port}/health/liveness",
            env!("CARGO_PKG_VERSION")
        );
        Ok(Self { port, server })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then stops gracefully.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn app_state(
    streaming: StreamingSettings,
    max_body_bytes: usize,
    store: Store,
    hub: Addr<Hub>,
    registry: SnapshotRegistry,
) -> AppState {
    let access = Access::new(store.clone(), Duration::from_secs(streaming.token_expiry_seconds));
    let config = SessionConfig {
        client_timeout: Duration::from_secs(streaming.client_timeout_seconds),
        outbound_queue: streaming.outbound_queue,
        write_timeout: WRITE_TIMEOUT,
    };
    let users = Arc::new(|_env, _user: &vane_schema::wire::EndUser| {});
    let session_deps = SessionDeps { hub: hub.clone(), registry: registry.clone(), users, config };
    AppState { store, access, hub, registry, session_deps, streaming, max_body_bytes }
}

fn num_workers() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(2)
}
