//! What bounds a session's `data-sync`s: the per-session limit (`[rate_limits.data_sync]`) and the end-user
//! sighting dedupe.
//!
//! Over the limit the session is closed with 1013 Try Again Later rather than having its extra syncs ignored: an
//! SDK that sent a sync waits for its reply, and an ignored identify would leave it evaluating for the wrong user;
//! after a 1013 every FeatBit SDK reconnects with backoff and syncs its current user, so a legitimate burst heals
//! itself, while a loop pays a connect (itself limited by `[rate_limits.streaming]`) per burst.
//!
//! A client SDK re-sending data-sync for the same user is answered every time, but the user is handed to the
//! end-user flow only when it changed, or once per dedupe window (FeatBit's 3 minutes) to refresh its last-seen
//! time. The session remembers only the user it already holds and one instant, so memory stays bounded.

use std::time::Instant;

use actix::Context;
use vane_schema::wire::EndUser;

use super::SdkSession;
use super::protocol::close;
use crate::ingest::dedupe::WINDOW;
use crate::metrics::{attr, label, metrics};

// === impl SdkSession ===

impl SdkSession {
    /// Counts one data-sync; false (and the session closing with 1013) when it is over the session's limit.
    pub(super) fn sync_allowed(&mut self, ctx: &mut Context<Self>) -> bool {
        if self.sync_meter.take(&self.deps.config.data_sync, Instant::now()).is_ok() {
            return true;
        }
        metrics().rate_limited.add(1, &label(attr::POLICY, "data_sync"));
        self.close(ctx, close::TRY_AGAIN_LATER, "too many data-sync, close by server");
        false
    }

    /// Hands `user` to the end-user flow unless it is the user this session already reported within the window.
    pub(super) fn sight(&mut self, user: &EndUser) {
        let same = self.user.as_ref() == Some(user);
        if same && self.sighted.is_some_and(|at| at.elapsed() < WINDOW) {
            return;
        }
        (self.deps.users)(self.access.env_id, user);
        self.sighted = Some(Instant::now());
    }
}
