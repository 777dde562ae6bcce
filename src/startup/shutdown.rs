//! The shutdown sequence, started by SIGTERM or SIGINT (see README "Shutdown"):
//!
//! 1. readiness answers 503 at once and the listener stops accepting;
//! 2. every SDK session is closed with 1001 Going Away at a random moment within `shutdown.drain_window_seconds`;
//! 3. in-flight requests finish (a track call answered 200 is stored);
//! 4. buffered users and insights are written;
//! 5. `main` flushes telemetry and exits 0.
//!
//! The whole sequence is bounded by `shutdown.timeout_seconds`; a second signal exits at once (status 130).

use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use tokio::signal::unix::{SignalKind, signal};

use super::health::NodeHealth;
use vane_actors::ingest::Ingest;
use vane_actors::session::Drain;

/// Exit status of a second, impatient signal (as a shell reports an interrupted command).
const FORCED_EXIT: i32 = 130;

/// What the sequence acts on.
pub(super) struct Shutdown {
    pub health: std::sync::Arc<NodeHealth>,
    pub drain: Drain,
    pub ingest: Ingest,
    pub server: ServerHandle,
    pub drain_window: Duration,
    pub timeout: Duration,
}

/// Resolves on the next SIGTERM or SIGINT.
pub(super) async fn signalled() {
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install signal handlers; the node stops only when killed");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}

impl Shutdown {
    /// Runs steps 1–4; `served` is the HTTP server's task, which ends once every connection has.
    pub(super) async fn run(self, served: impl Future<Output = ()>) {
        let deadline = Instant::now() + self.timeout;
        actix_web::rt::spawn(async {
            signalled().await;
            tracing::warn!("second signal: exiting now");
            std::process::exit(FORCED_EXIT);
        });
        self.health.start_draining();
        self.drain.start(self.drain_window);
        tracing::info!(window = ?self.drain_window, "draining: readiness 503, closing SDK sessions with 1001");
        let stopping = self.server.stop(true);
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, async { tokio::join!(stopping, served) }).await.is_err() {
            tracing::error!("connections still open at the shutdown deadline; closing them");
        } else {
            tracing::info!("HTTP server stopped; flushing ingestion");
        }
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1));
        if tokio::time::timeout(left, self.ingest.shutdown()).await.is_err() {
            tracing::error!("ingestion did not flush before the deadline; unacknowledged data is retried by SDKs");
        }
    }
}
