//! What sessions report about themselves: `vane.push.duration` / `vane.push.frames` once a push was written,
//! `vane.data_sync.duration` once a data-sync reply was written, and the session gauges and close codes.

use std::time::Instant;

use vane_schema::wire::sdk::EventType;

use crate::metrics::{attr, label, metrics};

/// A write to measure, with when its clock started and the span it belongs to (held until the frame is written,
/// so the span's end is the write's end).
#[derive(Debug, Clone)]
pub(super) enum Timing {
    /// A push of a change the hub applied at this instant (the hub's fan-out span).
    Push(Instant, tracing::Span),
    /// A data-sync reply to a frame received at this instant (the session's `data-sync` span).
    Sync(Instant, EventType, tracing::Span),
}

impl Timing {
    /// Records the measurement; called after the frame was written.
    pub(super) fn record(self) {
        match self {
            Self::Push(applied_at, _span) => {
                metrics().push_duration.record(applied_at.elapsed().as_secs_f64(), &[]);
                metrics().push_frames.add(1, &[]);
            }
            Self::Sync(received, kind, _span) => {
                let kind = match kind {
                    EventType::Full => "full",
                    EventType::Patch => "patch",
                };
                metrics().data_sync_duration.record(received.elapsed().as_secs_f64(), &label(attr::EVENT_TYPE, kind));
            }
        }
    }
}

// === impl SdkSession ===

impl super::SdkSession {
    /// Counts a session opening (`up`) or ending.
    pub(super) fn count(&self, up: bool) {
        let sdk = label(attr::SDK_TYPE, self.access.kind.as_str());
        if up {
            metrics().sessions.add(1, &sdk);
            metrics().session_connects.add(1, &sdk);
        } else {
            metrics().sessions.add(-1, &sdk);
            let code = i64::from(self.close_code.unwrap_or(super::protocol::close::ABNORMAL));
            metrics().session_closes.add(1, &label(attr::CLOSE_CODE, code));
        }
    }
}
