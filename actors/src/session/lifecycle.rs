//! Sessions going away on purpose: a node draining for shutdown, and `streaming.max_connection_age_seconds`.
//!
//! Both close the socket with 1001 Going Away, which every FeatBit SDK answers by reconnecting (through the load
//! balancer, to another node). Each session picks a random moment in the drain window, and connection ages carry
//! jitter, so a fleet's SDKs do not all reconnect in the same millisecond.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rand::Rng as _;
use tokio::sync::watch;

use super::SdkSession;
use super::protocol::close;
use crate::metrics::{attr, label, metrics};

/// Share of `max_connection_age` taken off at random, so connections made together do not expire together.
const AGE_JITTER: f64 = 0.2;

/// Starts a drain of every session holding a [`DrainSignal`] from it. Held by the server's shutdown sequence.
#[derive(Debug, Clone)]
pub struct Drain(Arc<watch::Sender<Option<Duration>>>);

/// What a session watches for the drain; cheap to clone.
#[derive(Debug, Clone)]
pub struct DrainSignal(watch::Receiver<Option<Duration>>);

impl Default for Drain {
    fn default() -> Self {
        Self(Arc::new(watch::channel(None).0))
    }
}

impl Drain {
    /// A signal for new sessions; a session started after [`Drain::start`] is closed at once.
    pub fn signal(&self) -> DrainSignal {
        DrainSignal(self.0.subscribe())
    }

    /// Closes every session with 1001, each at a random moment within `window`. Later calls change nothing.
    pub fn start(&self, window: Duration) {
        self.0.send_if_modified(|w| {
            if w.is_some() {
                return false;
            }
            *w = Some(window);
            true
        });
    }

    /// Whether a drain has started.
    pub fn is_draining(&self) -> bool {
        self.0.borrow().is_some()
    }
}

// === impl SdkSession ===

impl SdkSession {
    /// Arms the drain watch and the connection age limit.
    pub(super) fn watch_lifecycle(&self, ctx: &mut Context<Self>) {
        let mut signal = self.deps.drain.0.clone();
        let drained = async move {
            let window = (*signal.wait_for(Option::is_some).await.ok()?)?;
            let window_ms = window.as_millis().max(1) as u64;
            tokio::time::sleep(Duration::from_millis(rand::rng().random_range(0..window_ms))).await;
            Some(())
        };
        ctx.spawn(drained.into_actor(self).map(|fired, act, ctx| {
            if fired.is_some() {
                act.go_away(ctx, "drain");
            }
        }));
        if let Some(age) = self.deps.config.max_connection_age {
            let jitter = age.mul_f64(rand::rng().random_range(0.0..AGE_JITTER));
            ctx.run_later(age.saturating_sub(jitter), |act, ctx| act.go_away(ctx, "max_age"));
        }
    }

    fn go_away(&mut self, ctx: &mut Context<Self>, reason: &'static str) {
        metrics().going_away.add(1, &label(attr::REASON, reason));
        self.close(ctx, close::GOING_AWAY, "going away, close by server");
    }
}
