//! Who may connect: SDK connection-token validation for `/streaming` (featbit-protocol.md §1.3, in FeatBit's
//! order) and secret checks for the HTTP endpoints, answered from this node's [`SecretIndex`] without I/O.

mod index;

use std::time::Duration;

use actix::Addr;
use uuid::Uuid;
use vane_schema::secret::{ConnectionToken, SecretType, env_id};

pub use self::index::{Lookup, REFRESH_EVERY, SecretIndex};
use crate::hub::{Hub, RefreshSecrets};
use crate::metrics::{attr, label, metrics};

/// What a valid SDK secret grants: its environment, whether it is a server or client key, and which secret it is
/// (sessions opened with it are closed when it is revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretInfo {
    /// The environment.
    pub env_id: Uuid,
    /// Server or client.
    pub kind: SecretType,
    /// The secret's id in the environment's secret list.
    pub id: Uuid,
}

/// Why a request was refused: bad parameters, token or secret (WebSocket close 4003, HTTP 401).
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Permanent; the text is for logs only.
    #[error("invalid request: {0}")]
    Invalid(String),
}

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

/// Resolves secrets to environments from memory; cheap to clone.
#[derive(Debug, Clone)]
pub struct Access {
    /// Every environment's secrets.
    index: SecretIndex,
    /// Asked to re-read an environment when one of its secrets is unknown here (throttled by the index).
    hub: Addr<Hub>,
    /// Accepted token clock skew, both ways.
    token_window_ms: i64,
}

impl Access {
    /// An access checker accepting tokens within `token_window` of this node's clock.
    pub fn new(index: SecretIndex, hub: Addr<Hub>, token_window: Duration) -> Self {
        let token_window_ms = i64::try_from(token_window.as_millis()).unwrap_or(i64::MAX);
        Self { index, hub, token_window_ms }
    }

    /// Validates a streaming request as FeatBit's `RequestValidator` does, returning the environment and the
    /// secret type. `now_ms` is this node's clock.
    pub fn authorize_stream(&self, params: &StreamParams, now_ms: i64) -> Result<SecretInfo, AccessError> {
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
        let Some(info) = self.secret(&token.secret) else { return invalid("secret is not found".into()) };
        if info.kind != kind {
            return invalid(format!("inconsistent secret used: {} for type {}", info.kind.as_str(), kind.as_str()));
        }
        Ok(info)
    }

    /// Checks an HTTP `Authorization: <secret>` header value: it must be a current secret.
    pub fn authorize_secret(&self, header: Option<&str>) -> Result<SecretInfo, AccessError> {
        let secret = header.map(str::trim).unwrap_or_default();
        if env_id(secret).is_err() {
            return Err(AccessError::Invalid("missing or malformed secret".into()));
        }
        self.secret(secret).ok_or_else(|| AccessError::Invalid("secret is not found".into()))
    }

    /// Looks a well-formed secret up in memory; an unknown secret of a known environment may make the hub
    /// re-read that environment in the background (`vane.secret.lookups{source="store"}`).
    fn secret(&self, secret: &str) -> Option<SecretInfo> {
        let (found, source) = match self.index.lookup(secret) {
            Lookup::Found(info) => (Some(info), "memory"),
            Lookup::Unknown => (None, "memory"),
            Lookup::Refresh(env_id) => {
                self.hub.do_send(RefreshSecrets(env_id));
                (None, "store")
            }
        };
        metrics().secret_lookups.add(1, &label(attr::SOURCE, source));
        found
    }
}
