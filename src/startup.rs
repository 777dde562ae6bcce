//! Builds a node from its settings — store, migrations, first-start bootstrap, cache, hub, change bus, HTTP
//! server — and runs it. Tests use the same [`Application`] with port 0.

mod health;
mod shutdown;
mod state;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use actix::{Addr, Arbiter, Supervisor};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use secrecy::ExposeSecret;
use vane_actors::access::SecretIndex;
use vane_actors::cache::{Cache, RedisCache};
use vane_actors::changes::ChangeBus;
use vane_actors::changes::amqp::{AmqpConfig, ChangePublisher};
use vane_actors::changes::listener::ChangeListener;
use vane_actors::experiment::retention;
use vane_actors::hub::{Hub, LoadEnv, Resync, SnapshotRegistry};
use vane_actors::ingest::Ingest;
use vane_actors::ingest::amqp::AmqpIngestConfig;
use vane_actors::store::{Store, StoreConfig};

pub use self::health::NodeHealth;
use self::health::Probes;
use self::shutdown::Shutdown;
pub use self::state::AppState;
use crate::admin_auth::AdminAuth;
use crate::settings::Settings;
use crate::{bootstrap, routes};

/// A built, not yet running, node.
pub struct Application {
    /// The bound port (useful with port 0).
    port: u16,
    /// The HTTP server future.
    server: Server,
    /// The node's hub (tests send it messages directly).
    hub: Addr<Hub>,
    /// Flushed on shutdown.
    ingest: Ingest,
    /// The periodic event purge (`ingest.retention_days`), stopped on shutdown; `None` when disabled.
    retention: Option<tokio::task::JoinHandle<()>>,
    /// Turned to draining on the first signal.
    health: Arc<NodeHealth>,
    /// Closes every SDK session with 1001 on the first signal.
    drain: vane_actors::session::Drain,
    /// `[shutdown]` durations.
    drain_window: Duration,
    /// Bound of the whole shutdown sequence.
    shutdown_timeout: Duration,
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

fn connect_cache(settings: &Settings) -> anyhow::Result<Cache> {
    let Some(url) = &settings.cache.redis_url else { return Ok(Cache::none()) };
    let redis = RedisCache::new(url.expose_secret(), &settings.cache.key_prefix).context("cache.redis_url")?;
    Ok(Cache::redis(redis))
}

/// Starts the hub on an arbiter of its own and loads every environment, so the node serves its first SDK from
/// memory.
async fn start_hub(
    store: &Store,
    cache: &Cache,
    registry: &SnapshotRegistry,
    secrets: &SecretIndex,
) -> anyhow::Result<Addr<Hub>> {
    let (s, c, r, i) = (store.clone(), cache.clone(), registry.clone(), secrets.clone());
    let hub = Supervisor::start_in_arbiter(&Arbiter::new().handle(), move |_| Hub::new(s, c, r, i));
    for env in store.environments().await? {
        hub.send(LoadEnv(env.id)).await.context("hub")?.with_context(|| format!("loading environment {}", env.id))?;
    }
    Ok(hub)
}

/// The change bus: in-process, or RabbitMQ with this node's listener and a periodic catch-up.
async fn start_bus(settings: &Settings, hub: &Addr<Hub>) -> anyhow::Result<(ChangeBus, Option<Arc<AtomicBool>>)> {
    let Some(url) = &settings.bus.amqp_url else { return Ok((ChangeBus::in_process(hub.clone()), None)) };
    let config = AmqpConfig {
        url: url.expose_secret().to_owned(),
        exchange: settings.bus.exchange.clone(),
        connect_timeout: Duration::from_secs(settings.bus.connect_timeout_seconds),
    };
    let publisher = ChangePublisher::connect(&config).await.context("connecting to RabbitMQ (bus.amqp_url)")?;
    let healthy = Arc::new(AtomicBool::new(false));
    ChangeListener::start(config, hub.clone(), healthy.clone());
    if settings.bus.resync_interval_seconds > 0 {
        let (hub, every) = (hub.clone(), Duration::from_secs(settings.bus.resync_interval_seconds));
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                hub.do_send(Resync);
            }
        });
    }
    Ok((ChangeBus::amqp(hub.clone(), publisher), Some(healthy)))
}

/// Ingestion of users and insights: through RabbitMQ's durable queues in cluster mode, in process otherwise.
async fn start_ingest(settings: &Settings, store: &Store) -> anyhow::Result<Ingest> {
    let Some(amqp) = amqp_ingest_config(settings) else {
        return Ok(Ingest::in_process(store.clone(), settings.ingest.clone()));
    };
    Ingest::amqp(store.clone(), settings.ingest.clone(), amqp)
        .await
        .context("connecting the ingestion queues to RabbitMQ")
}

/// Where the ingestion queues are, in cluster mode (`None` without `bus.amqp_url`).
pub fn amqp_ingest_config(settings: &Settings) -> Option<AmqpIngestConfig> {
    let url = settings.bus.amqp_url.as_ref()?;
    Some(AmqpIngestConfig {
        url: url.expose_secret().to_owned(),
        connect_timeout: Duration::from_secs(settings.bus.connect_timeout_seconds),
    })
}

impl Application {
    /// Connects, migrates, bootstraps, loads snapshots and binds; serving starts with [`run_until_stopped`].
    ///
    /// [`run_until_stopped`]: Application::run_until_stopped
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, true).await
    }

    /// [`build`](Self::build), applying pending migrations only when `migrate` (`serve --no-migrate` refuses to
    /// start while any is pending instead).
    pub async fn build_with(settings: Settings, migrate: bool) -> anyhow::Result<Self> {
        // Before anything records a metric (main already installed it with OTLP; tests get Prometheus only).
        crate::telemetry::metrics::install(&settings.telemetry)?;
        let store = connect_store(&settings).await?;
        let listener =
            TcpListener::bind(&settings.http.addr).with_context(|| format!("binding {}", settings.http.addr))?;
        let port = listener.local_addr()?.port();
        let token_hash = bootstrap::prepare(&store, &settings, port, migrate).await?;
        let admin_auth =
            AdminAuth::new(&token_hash, settings.admin.max_failures, secs(settings.admin.failure_window_seconds))
                .context("the stored admin token hash is malformed (server_settings.admin_token)")?;
        let cache = connect_cache(&settings)?;
        let registry = SnapshotRegistry::default();
        let secrets = SecretIndex::load(&store).await.context("loading the environments' secrets")?;
        let hub = start_hub(&store, &cache, &registry, &secrets).await?;
        let (bus, bus_health) = start_bus(&settings, &hub).await?;
        let workers = if settings.http.workers == 0 { num_workers() } else { settings.http.workers };
        let ingest = start_ingest(&settings, &store).await?;
        let retention = retention::spawn(store.clone(), settings.ingest.retention_days);
        let health = node_health(&settings);
        let probes = Probes {
            store: store.clone(),
            cache: cache.clone(),
            bus_health: bus_health.clone(),
            ingest: ingest.clone(),
        };
        health::monitor(health.clone(), probes);
        crate::telemetry::gauges::register(health.clone(), registry.clone());
        let parts = state::Parts {
            store,
            cache,
            hub: hub.clone(),
            registry,
            secrets,
            bus,
            bus_health,
            admin_auth,
            ingest: ingest.clone(),
            health: health.clone(),
        };
        let state = web::Data::new(AppState::new(&settings, parts));
        let drain = state.drain.clone();
        let shutdown_timeout = Duration::from_secs(settings.shutdown.timeout_seconds);
        let server = http_server(state, workers, shutdown_timeout, listener)?;
        tracing::info!(port, workers, "vane listening");
        // On stdout, for people and for scripts that start Vane on port 0.
        println!(
            "Vane {} listening on port {port} — check: curl http://127.0.0.1:{port}/health/liveness",
            env!("CARGO_PKG_VERSION")
        );
        let drain_window = Duration::from_secs(settings.shutdown.drain_window_seconds);
        Ok(Self { port, server, hub, ingest, retention, health, drain, drain_window, shutdown_timeout })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The node's hub.
    pub fn hub(&self) -> Addr<Hub> {
        self.hub.clone()
    }

    /// Serves until SIGINT/SIGTERM, then runs the [`shutdown`](self::shutdown) sequence: readiness 503, no new
    /// connections, every SDK session closed with 1001 within the drain window, in-flight requests finished (no
    /// track call is answered that will not be stored), buffered users and insights written.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let server = self.server;
        actix_web::rt::spawn(async move {
            let _ = tx.send(server.await);
        });
        let mut rx = std::pin::pin!(rx);
        tokio::select! {
            served = &mut rx => return served.unwrap_or(Ok(())),
            () = shutdown::signalled() => {}
        }
        if let Some(retention) = &self.retention {
            retention.abort();
        }
        let sequence = Shutdown {
            health: self.health,
            drain: self.drain,
            ingest: self.ingest,
            server: handle,
            drain_window: self.drain_window,
            timeout: self.shutdown_timeout,
        };
        sequence.run(async move { drop(rx.await) }).await;
        Ok(())
    }
}

/// The HTTP server: every request observed (span, duration), signals handled by [`shutdown`](self::shutdown).
fn http_server(
    state: web::Data<AppState>,
    workers: usize,
    shutdown_timeout: Duration,
    listener: TcpListener,
) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(crate::telemetry::http::observe))
            .app_data(state.clone())
            .configure(routes::configure)
    })
    .disable_signals()
    .shutdown_timeout(shutdown_timeout.as_secs())
    .workers(workers)
    .tcp_nodelay(true)
    .listen(listener)?
    .run())
}

/// The dependencies this node watches; the broker's loss only turns readiness 503 in cluster mode.
fn node_health(settings: &Settings) -> Arc<NodeHealth> {
    let mut deps = vec!["database", "ingest"];
    if settings.cache.redis_url.is_some() {
        deps.push("cache");
    }
    let cluster = settings.bus.amqp_url.is_some();
    if cluster {
        deps.push("broker");
    }
    NodeHealth::new(&deps, cluster.then(|| Duration::from_secs(settings.bus.stale_after_seconds)))
}

fn num_workers() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(2)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
