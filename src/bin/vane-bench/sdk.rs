//! What a FeatBit SDK sends and expects on the streaming socket: a connection token built from the secret (as the
//! SDKs build it), one `data-sync` right after open, `ping` every 18 s (the node and Python SDKs' cadence).

use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use vane_schema::secret::ConnectionToken;

use crate::net::{Dialer, Ws};

/// The SDKs' ping interval (node and Python server SDKs: 18 s).
pub const PING_EVERY: Duration = Duration::from_secs(18);
/// Longest wait for one reply (a full sync of a large environment on a loaded node included).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// Which SDK side a session plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Server SDK: receives raw flags and segments.
    Server,
    /// Client SDK: receives flags evaluated for its user.
    Client,
}

/// A connection token for `secret`, as the SDKs build it (timestamp now, start position varied by `i`).
pub fn token(secret: &str, i: usize) -> String {
    ConnectionToken::build(secret, chrono::Utc::now().timestamp_millis(), 2 + i % 40)
}

/// Opens one streaming session.
pub async fn open(dialer: &Dialer, kind: Kind, secret: &str, i: usize) -> anyhow::Result<Ws> {
    let kind = match kind {
        Kind::Server => "server",
        Kind::Client => "client",
    };
    dialer.streaming(kind, &token(secret, i)).await
}

/// The `data-sync` request: server SDKs send a timestamp, client SDKs also their user (`user-i`).
pub fn data_sync(kind: Kind, i: usize) -> String {
    let data = match kind {
        Kind::Server => json!({"timestamp": 0}),
        Kind::Client => json!({"timestamp": 0, "user": {"keyId": format!("user-{i}"), "name": format!("User {i}")}}),
    };
    json!({"messageType": "data-sync", "data": data}).to_string()
}

/// The SDKs' ping frame.
pub fn ping() -> Message {
    Message::text(r#"{"messageType":"ping","data":null}"#)
}

/// The `messageType` of a frame, read from its first bytes only (full syncs are megabytes long).
pub fn message_type(text: &str) -> Option<&str> {
    let head = &text[..text.len().min(64)];
    let start = head.find("\"messageType\"")? + "\"messageType\"".len();
    let rest = head[start..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    rest.split('"').next()
}

/// Sends `data-sync` and waits for the server's data-sync reply; returns its size in bytes.
pub async fn sync(ws: &mut Ws, kind: Kind, i: usize) -> anyhow::Result<usize> {
    ws.send(Message::text(data_sync(kind, i))).await?;
    next_of(ws, "data-sync").await
}

/// Waits for the next frame of `message_type` (other frames are skipped); returns its size.
pub async fn next_of(ws: &mut Ws, wanted: &str) -> anyhow::Result<usize> {
    let wait = async {
        while let Some(msg) = ws.next().await {
            match msg? {
                Message::Text(t) if message_type(&t) == Some(wanted) => return Ok(t.len()),
                Message::Close(c) => bail!("closed by server: {c:?}"),
                _ => {}
            }
        }
        bail!("socket ended")
    };
    tokio::time::timeout(REPLY_TIMEOUT, wait).await.context("no reply in time")?
}

/// Checks a JSON body names a secret of `kind` and returns it.
pub fn secret_of(env: &Value, kind: &str) -> anyhow::Result<String> {
    let secrets = env["secrets"].as_array().context("environment without secrets")?;
    let secret = secrets.iter().find(|s| s["type"] == kind).context("no secret of that type")?;
    Ok(secret["value"].as_str().context("secret value")?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_reads_the_head_only() {
        assert_eq!(message_type(r#"{"messageType":"data-sync","data":{}}"#), Some("data-sync"));
        assert_eq!(message_type(r#"{"messageType": "pong","data":{}}"#), Some("pong"));
        assert_eq!(message_type("{}"), None);
    }
}
