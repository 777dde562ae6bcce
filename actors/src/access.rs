//! Who may connect: SDK connection-token validation for `/streaming` (featbit-protocol.md §1.3, in FeatBit's
//! order) and secret checks for the HTTP endpoints, through a short-lived in-memory cache in front of the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vane_schema::secret::{ConnectionToken, SecretType, env_id};

use crate::cache::Cache;
use crate::store::{SecretInfo, Store, StoreError};

/// How long a looked-up secret is trusted before the store is asked again (a revoked secret stops working
/// within this time).
const POSITIVE_TTL: Duration = Duration::from_secs(30);
/// Unknown secrets are remembered briefly so a misconfigured SDK fleet cannot hammer the database.
const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Bound on cached secrets; the cache is cleared when it is reached (secrets are few in practice).
const MAX_ENTRIES: usize = 100_000;

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Permanent: bad parameters, token or secret (WebSocket close 4003, HTTP 401).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Transient: the store could not be asked (close 1011, HTTP 503).
    #[error("secret store unavailable")]
    Unavailable(#[from] StoreError),
}

/// A looked-up secret (`None`: unknown) and when it was looked up.
type CachedSecret = (Option<SecretInfo>, Instant);

/// The query parameters of a streaming request (keys already matched case-insensitively).
#[derive(Debug, Default, Clone)]
pub struct StreamParams {
    /// `type`: `server` or `client` (`relay-proxy` is not supported).
    pub kind: Option<String>,
    /// `version`: absent, empty, `1` or `2`.
    pub version: Option<String>,
    /// `token`: the obfuscated connection token.
    pub token: Option<String>,
}

/// Resolves secrets to environments: cache first, then the store.
#[derive(Debug, Clone)]
pub struct Access {
    /// Source of truth.
    store: Store,
    /// Shared cache (Redis in cluster mode), asked before the store.
    shared: Cache,
    /// secret → (what it grants, or unknown; when looked up).
    cache: Arc<Mutex<HashMap<String, CachedSecret>>>,
    /// Accepted token clock skew, both ways.
    token_window_ms: i64,
}

impl Access {
    /// An access checker accepting tokens within `token_window` of this node's clock.
    pub fn new(store: Store, shared: Cache, token_window: Duration) -> Self {
        let token_window_ms = i64::try_from(token_window.as_millis()).unwrap_or(i64::MAX);
        Self { store, shared, cache: Arc::default(), token_window_ms }
    }

    /// Validates a streaming request as FeatBit's `RequestValidator` does, returning the environment and the
    /// secret type. `now_ms` is this node's clock.
    pub async fn authorize_stream(&self, params: &StreamParams, now_ms: i64) -> Result<SecretInfo, AccessError> {
        let invalid = |why: String| Err(AccessError::Invalid(why));
        let kind = params.kind.as_deref().unwrap_or_default();
        let Some(kind) = SecretType::parse(kind) else { return invalid(format!("invalid type: {kind}")) };
        if !matches!(params.version.as_deref().unwrap_or(""), "" | "1" | "2") {
            return invalid(format!("invalid version: {}", params.version.as_deref().unwrap_or_default()));
        }
        let Some(token) = params.token.as_deref().filter(|t| !t.trim().is_empty()) else {
            return invalid("missing token".into());
        };
        let Ok(token) = ConnectionToken::parse(token) else { return invalid("malformed token".into()) };
        if env_id(&token.secret).is_err() {
            return invalid("malformed secret".into());
        }
        if (now_ms - token.timestamp).abs() > self.token_window_ms {
            return invalid(format!("token is expired (skew {} ms)", now_ms - token.timestamp));
        }
        let Some(info) = self.secret(&token.secret).await? else { return invalid("secret is not found".into()) };
        if info.kind != kind {
            return invalid(format!("inconsistent secret used: {} for type {}", info.kind.as_str(), kind.as_str()));
        }
        Ok(info)
    }

    /// Checks an HTTP `Authorization: <secret>` header value: it must be a stored secret.
    pub async fn authorize_secret(&self, header: Option<&str>) -> Result<SecretInfo, AccessError> {
        let secret = header.map(str::trim).unwrap_or_default();
        if env_id(secret).is_err() {
            return Err(AccessError::Invalid("missing or malformed secret".into()));
        }
        self.secret(secret).await?.ok_or_else(|| AccessError::Invalid("secret is not found".into()))
    }

    /// Looks a secret up: this node's memory, then the shared cache, then the store.
    pub async fn secret(&self, secret: &str) -> Result<Option<SecretInfo>, AccessError> {
        if let Some(hit) = self.cached(secret) {
            return Ok(hit);
        }
        let found = match self.shared.secret(secret).await {
            Some(info) => Some(info),
            None => {
                let found = self.store.find_secret(secret).await?;
                if let Some(info) = found {
                    self.shared.put_secret(secret, info).await;
                }
                found
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(secret.to_owned(), (found, Instant::now()));
        Ok(found)
    }

    fn cached(&self, secret: &str) -> Option<Option<SecretInfo>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let (info, at) = cache.get(secret)?;
        let ttl = if info.is_some() { POSITIVE_TTL } else { NEGATIVE_TTL };
        (at.elapsed() < ttl).then_some(*info)
    }

    /// Drops every cached secret (after secrets change).
    pub fn invalidate(&self) {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
