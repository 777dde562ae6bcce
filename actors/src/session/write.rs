//! A session's one write path. Small frames go out as one WebSocket message. Large ones (full syncs of big
//! environments, megabytes each) go out as continuation fragments that are slices of the one shared serialized
//! frame, under a node-wide budget of bytes in flight.
//!
//! Why: actix-ws encodes each queued message into the connection's body buffer and actix-http copies that chunk
//! again into the connection's write buffer, so one 5 MB message costs 5–10 MB per socket until the socket has
//! drained it; a reconnect storm of thousands of sessions multiplies that (measured: ~3.4 MB RSS per in-flight
//! full sync). Fragments keep at most [`WINDOW`] copied per socket, and the budget bounds how many sockets hold
//! that much at once. RFC 6455 §5.4 fragmentation is understood by every WebSocket client the SDKs use.

use std::sync::Arc;
use std::time::Duration;

use actix_ws::{Closed, Item, Session};
use bytestring::ByteString;
use tokio::sync::Semaphore;

/// Frames longer than this are fragmented.
const FRAGMENT: usize = 16 * 1024;
/// The most of one fragmented frame a socket holds copied: actix-ws's 32-message outbound channel drained into
/// its body buffer, then copied into the connection's write buffer.
const WINDOW: usize = 2 * 32 * FRAGMENT;
/// Longest wait for the budget. A reconnect storm drains at memory-copy speed (10,000 syncs of 4 MB took minutes
/// on a loaded debug build), and a waiting session costs only its own few KiB, so this is a backstop against a
/// wedged node, not a pacing tool: sessions dropped here reconnect and queue again at the back.
const BUDGET_WAIT: Duration = Duration::from_secs(300);

/// Why a write failed; any failure ends the session (the SDK reconnects).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The socket is closed.
    #[error("socket closed")]
    Closed,
    /// The socket accepted nothing for the write timeout.
    #[error("socket write timed out")]
    Timeout,
    /// The node-wide budget stayed exhausted for too long.
    #[error("no write budget within {BUDGET_WAIT:?}")]
    Budget,
}

/// The node-wide bound on large-frame bytes in flight, shared by every session (cheap to clone).
#[derive(Debug, Clone)]
pub struct WriteBudget {
    /// One permit per KiB.
    permits: Arc<Semaphore>,
    /// Total permits, so one frame never asks for more than exist.
    total: u32,
}

impl WriteBudget {
    /// A budget of `bytes` (at least one [`WINDOW`], so a large frame can always go out).
    pub fn new(bytes: usize) -> Self {
        let total = u32::try_from(bytes.max(WINDOW) / 1024).unwrap_or(u32::MAX >> 3);
        Self { permits: Arc::new(Semaphore::new(total as usize)), total }
    }
}

async fn within(timeout: Duration, fut: impl Future<Output = Result<(), Closed>>) -> Result<(), WriteError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(Closed)) => Err(WriteError::Closed),
        Err(_) => Err(WriteError::Timeout),
    }
}

/// Writes `frame`, waiting at most `timeout` for the socket to accept each piece.
pub async fn write(
    ws: &mut Session,
    frame: ByteString,
    budget: &WriteBudget,
    timeout: Duration,
) -> Result<(), WriteError> {
    if frame.len() <= FRAGMENT {
        return within(timeout, ws.text(frame)).await;
    }
    let kib = u32::try_from(frame.len().min(WINDOW).div_ceil(1024)).unwrap_or(budget.total).min(budget.total);
    let _permit = tokio::time::timeout(BUDGET_WAIT, budget.permits.acquire_many(kib))
        .await
        .map_err(|_| WriteError::Budget)?
        .map_err(|_| WriteError::Budget)?;
    let bytes = frame.into_bytes();
    let last = (bytes.len() - 1) / FRAGMENT;
    for (i, start) in (0..bytes.len()).step_by(FRAGMENT).enumerate() {
        let piece = bytes.slice(start..(start + FRAGMENT).min(bytes.len()));
        let item = match i {
            0 => Item::FirstText(piece),
            _ if i == last => Item::Last(piece),
            _ => Item::Continue(piece),
        };
        within(timeout, ws.continuation(item)).await?;
    }
    Ok(())
}
