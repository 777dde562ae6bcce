//! Builds a node from its settings — store, migrations, first-start bootstrap, HTTP server — and runs it.
//! Tests use the same [`Application`] with port 0.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use secrecy::ExposeSecret;
use vane_actors::store::{Store, StoreConfig};

use crate::bootstrap;
use crate::routes;
use crate::settings::Settings;

/// Everything a request handler may need, registered once as `web::Data`.
pub struct AppState {
    /// Database handle.
    pub store: Store,
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

impl Application {
    /// Connects, migrates, bootstraps and binds; the server starts when [`run_until_stopped`] is awaited.
    ///
    /// [`run_until_stopped`]: Application::run_until_stopped
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = connect_store(&settings).await?;
        store.migrate().await.context("applying database migrations")?;
        let listener =
            TcpListener::bind(&settings.http.addr).with_context(|| format!("binding {}", settings.http.addr))?;
        let port = listener.local_addr()?.port();
        bootstrap::first_start(&store, &settings, port).await?;
        let state = web::Data::new(AppState { store });
        let workers = if settings.http.workers == 0 { num_workers() } else { settings.http.workers };
        let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(routes::health::configure))
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

fn num_workers() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(2)
}
