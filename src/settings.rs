//! The one typed settings tree, layered: compiled-in `config/default.toml` → `--config FILE` → `VANE__SECTION__KEY`
//! environment variables. Secrets (database/broker/cache URLs, the admin token) are [`SecretString`]s, so they
//! never reach `Debug` output or logs. Environment variables are read only here, and tests pass a map instead.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The compiled-in baseline; the binary runs with no files on disk.
const DEFAULTS: &str = include_str!("../config/default.toml");

/// Why settings could not be loaded. Printed as one line before the process exits.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A source could not be read or a value has the wrong type.
    #[error("invalid configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// A value has the right type but is not usable.
    #[error("invalid configuration: {key}: {problem}")]
    Invalid {
        /// Dotted key, e.g. `http.addr`.
        key: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// Every setting of a node.
#[derive(Debug, Deserialize)]
pub struct Settings {
    /// HTTP listener.
    pub http: HttpSettings,
    /// Postgres or SQLite.
    pub database: DatabaseSettings,
    /// RabbitMQ or the in-process bus.
    pub bus: BusSettings,
    /// Redis or the in-memory cache.
    pub cache: CacheSettings,
    /// Management API.
    pub admin: AdminSettings,
    /// SDK WebSocket sessions.
    pub streaming: StreamingSettings,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// Batching of reported users and insights.
    pub ingest: vane_actors::ingest::IngestConfig,
    /// Bounded cost per request: sizes of users, track bodies and their expansion.
    #[serde(default)]
    pub limits: vane_actors::ingest::Limits,
    /// Per-environment rate limits (off by default).
    #[serde(default)]
    pub rate_limits: vane_actors::rate_limit::RateLimitsConfig,
    /// First-start demo environment.
    pub demo: DemoSettings,
    /// Draining on SIGTERM/SIGINT.
    pub shutdown: ShutdownSettings,
}

/// `[http]`
#[derive(Debug, Deserialize)]
pub struct HttpSettings {
    /// Listen address (`VANE__HTTP__ADDR`); port 0 picks a free port.
    pub addr: String,
    /// Worker threads; 0 = one per core.
    pub workers: usize,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// A body not fully received within this many seconds is answered 408.
    #[serde(default = "default_body_timeout")]
    pub body_timeout_seconds: u64,
}

fn default_body_timeout() -> u64 {
    10
}

/// `[database]`
#[derive(Debug, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://…` or `postgres://…` (`VANE__DATABASE__URL`).
    pub url: SecretString,
    /// Pool size.
    pub max_connections: u32,
    /// Seconds to wait for a pooled connection.
    pub acquire_timeout_seconds: u64,
}

/// `[bus]`
#[derive(Debug, Deserialize)]
pub struct BusSettings {
    /// `amqp://…` for RabbitMQ; unset for the in-process bus (`VANE__BUS__AMQP_URL`).
    pub amqp_url: Option<SecretString>,
    /// Exchange for change messages.
    pub exchange: String,
    /// Seconds to wait for the broker at start.
    pub connect_timeout_seconds: u64,
    /// Periodic catch-up from the database in seconds (0: only on start and broker reconnects).
    pub resync_interval_seconds: u64,
    /// Readiness turns 503 once the change feed has been lost this many seconds (the node would serve stale flags).
    pub stale_after_seconds: u64,
}

/// `[cache]`
#[derive(Debug, Deserialize)]
pub struct CacheSettings {
    /// `redis://…`; unset for the in-memory cache (`VANE__CACHE__REDIS_URL`).
    pub redis_url: Option<SecretString>,
    /// Prefix of every key (`VANE__CACHE__KEY_PREFIX`).
    pub key_prefix: String,
}

/// `[admin]`
#[derive(Debug, Deserialize)]
pub struct AdminSettings {
    /// Bearer token of `/api/v1` (`VANE__ADMIN__TOKEN`), at least [`MIN_ADMIN_TOKEN_LEN`] characters; generated
    /// on first start when unset (only its hash is stored).
    pub token: Option<SecretString>,
    /// Where a generated token is written (mode 0600) on first start; only this path is printed.
    pub token_file: String,
    /// A separate listen address serving only `/api/v1` (which the main address then no longer serves).
    pub addr: Option<String>,
    /// Failed authentications one source address may make per window before it gets 429.
    pub max_failures: u32,
    /// The failure window, in seconds.
    pub failure_window_seconds: u64,
}

/// Shortest accepted admin token.
pub const MIN_ADMIN_TOKEN_LEN: usize = 32;

/// Documented example values that must never work as a token (case-insensitive substrings).
const PLACEHOLDERS: [&str; 5] = ["change-me", "changeme", "replace-me", "example", "placeholder"];

/// `[streaming]`
#[derive(Debug, Deserialize)]
pub struct StreamingSettings {
    /// Accepted token clock skew in seconds, both ways.
    pub token_expiry_seconds: u64,
    /// Idle sessions are closed after this many seconds.
    pub client_timeout_seconds: u64,
    /// Larger frames close the socket with 1009.
    pub max_frame_bytes: usize,
    /// Frames queued per session before it is closed as too slow.
    pub outbound_queue: usize,
    /// Close sessions with 1001 after about this many seconds (20 % jitter) so they rebalance; 0: never.
    pub max_connection_age_seconds: u64,
    /// Node-wide bound on the bytes of large frames (fragmented full syncs) being written at once.
    pub write_budget_bytes: usize,
    /// Open sessions this node accepts; 0 = unlimited.
    #[serde(default)]
    pub max_sessions: usize,
    /// Open sessions per environment this node accepts; 0 = unlimited.
    #[serde(default)]
    pub max_sessions_per_env: usize,
}

/// `[telemetry]`
#[derive(Debug, Deserialize)]
pub struct TelemetrySettings {
    /// `tracing` filter directives for the console.
    pub filter: String,
    /// `text` or `json`.
    pub format: LogFormat,
    /// OTLP/gRPC endpoint; unset disables trace export.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of exported traces.
    pub service_name: String,
}

/// Console log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[shutdown]`
#[derive(Debug, Deserialize)]
pub struct ShutdownSettings {
    /// Sessions are closed with 1001 at random moments within this many seconds.
    pub drain_window_seconds: u64,
    /// The whole shutdown (drain, request drain, writer and telemetry flush) takes at most this long.
    pub timeout_seconds: u64,
}

/// `[demo]`
#[derive(Debug, Deserialize)]
pub struct DemoSettings {
    /// Create and print a demo environment on the first start of an empty database.
    pub enabled: bool,
}

impl Settings {
    /// Loads defaults, then `file`, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_from(file, None)
    }

    /// Loads defaults, then `file`, then `env` (the process environment when `None`), and validates.
    pub fn load_from(file: Option<&Path>, env: Option<HashMap<String, String>>) -> Result<Self, SettingsError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).required(true));
        }
        let env = Environment::with_prefix("VANE").prefix_separator("__").separator("__").source(env);
        let mut settings: Self = builder.add_source(env).build()?.try_deserialize()?;
        // `VANE__ADMIN__TOKEN=` (empty, e.g. from a template) means unset.
        settings.admin.token = settings.admin.token.filter(|t| !t.expose_secret().trim().is_empty());
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key, problem: &str| Err(SettingsError::Invalid { key, problem: problem.into() });
        if self.http_addr().is_none() {
            return invalid("http.addr", "expected HOST:PORT, e.g. 0.0.0.0:5100");
        }
        let db = self.database.url.expose_secret();
        if !(db.starts_with("sqlite:") || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return invalid("database.url", "expected sqlite://PATH or postgres://…");
        }
        let scheme = |url: &Option<SecretString>, schemes: [&str; 2]| {
            url.as_ref().is_none_or(|u| schemes.iter().any(|s| u.expose_secret().starts_with(s)))
        };
        if !scheme(&self.bus.amqp_url, ["amqp://", "amqps://"]) {
            return invalid("bus.amqp_url", "expected amqp://… or amqps://…");
        }
        if !scheme(&self.cache.redis_url, ["redis://", "rediss://"]) {
            return invalid("cache.redis_url", "expected redis://… or rediss://…");
        }
        if let Some(problem) = self.admin.token.as_ref().and_then(|t| admin_token_problem(t.expose_secret())) {
            return invalid("admin.token", problem);
        }
        if self.admin.addr.as_deref().is_some_and(|a| a.parse::<SocketAddr>().is_err()) {
            return invalid("admin.addr", "expected HOST:PORT, e.g. 127.0.0.1:5101");
        }
        if self.admin.max_failures == 0 || self.admin.failure_window_seconds == 0 {
            return invalid("admin", "max_failures and failure_window_seconds must be ≥ 1");
        }
        if self.streaming.outbound_queue == 0 || self.streaming.max_frame_bytes < 1024 {
            return invalid("streaming", "outbound_queue must be ≥ 1 and max_frame_bytes ≥ 1024");
        }
        self.validate_rate_limits()
    }

    fn validate_rate_limits(&self) -> Result<(), SettingsError> {
        let r = &self.rate_limits;
        let policies = [
            ("rate_limits.polling", &r.polling),
            ("rate_limits.insights", &r.insights),
            ("rate_limits.streaming", &r.streaming),
            ("rate_limits.data_sync", &r.data_sync),
        ];
        for (key, policy) in policies {
            if let Some(problem) = policy.problem() {
                return Err(SettingsError::Invalid { key, problem: problem.into() });
            }
        }
        if r.shared && self.cache.redis_url.is_none() {
            let problem = "shared limits are counted in Redis: set cache.redis_url".into();
            return Err(SettingsError::Invalid { key: "rate_limits.shared", problem });
        }
        if self.http.body_timeout_seconds == 0 {
            return Err(SettingsError::Invalid { key: "http.body_timeout_seconds", problem: "must be ≥ 1".into() });
        }
        Ok(())
    }

    /// The parsed listen address (validated at load time).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.addr.parse().ok()
    }

    /// Embedded mode keeps data in SQLite (the in-process bus and cache follow their own settings).
    pub fn is_embedded_database(&self) -> bool {
        self.database.url.expose_secret().starts_with("sqlite:")
    }
}

/// Why a configured admin token is refused, if it is: too short, or a documented placeholder.
fn admin_token_problem(token: &str) -> Option<&'static str> {
    if token.trim().chars().count() < MIN_ADMIN_TOKEN_LEN {
        return Some("must be at least 32 characters (e.g. `openssl rand -hex 32`)");
    }
    let lower = token.to_ascii_lowercase();
    PLACEHOLDERS.iter().any(|p| lower.contains(p)).then_some("is a documented placeholder; set a random value")
}

#[cfg(test)]
mod tests;
