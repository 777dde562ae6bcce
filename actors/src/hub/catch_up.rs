//! Catching up from the database (on start, after each broker reconnect, periodically) and forgetting deleted
//! environments.
//!
//! Each loaded environment is read on its own, a few at a time, in a task outside the hub; each result comes back
//! as [`CaughtUp`]. One environment's failure is logged, counted and retried after [`RETRY`] without holding up
//! the others. The same read repairs the shared cache, which may have missed writes while Redis was away.

use std::time::Duration;

use actix::prelude::*;
use futures_util::StreamExt;
use uuid::Uuid;
use vane_schema::wire::{FeatureFlag, Segment};

use super::messages::{EnvDeleted, Evict, Resync};
use super::{Hub, Source};
use crate::admin::validate::references_segment;
use crate::cache::Cache;
use crate::metrics::{attr, label, metrics};
use crate::store::{Store, StoreError};

/// Environments read at once by one pass (each read holds a pooled connection).
const CONCURRENCY: usize = 4;
/// Delay before an environment whose catch-up failed is read again.
const RETRY: Duration = Duration::from_secs(5);

/// What the database holds for one environment (`None`: it was deleted).
type EnvState = Option<(Vec<FeatureFlag>, Vec<Segment>)>;

/// One environment's catch-up read, handed back to the hub.
#[derive(Message)]
#[rtype(result = "()")]
struct CaughtUp {
    env_id: Uuid,
    result: Result<EnvState, StoreError>,
}

async fn read(store: &Store, cache: &Cache, env_id: Uuid) -> Result<EnvState, StoreError> {
    if store.environment(env_id).await?.is_none() {
        return Ok(None);
    }
    let (flags, segments) = (store.flags(env_id).await?, store.segments(env_id).await?);
    cache.reconcile_environment(env_id, &flags, &segments).await;
    Ok(Some((flags, segments)))
}

impl Handler<Resync> for Hub {
    type Result = ();

    fn handle(&mut self, _: Resync, ctx: &mut Self::Context) {
        self.catch_up(self.registry.env_ids(), ctx);
        self.reload_secrets(ctx);
        self.catch_up_users(ctx);
    }
}

impl Hub {
    /// Starts reading `env_ids` (those still loaded); one already being read is read again once its read is done,
    /// since it may have started before what this catch-up is for.
    fn catch_up(&mut self, env_ids: Vec<Uuid>, ctx: &mut Context<Self>) {
        let mut todo = Vec::new();
        for env_id in env_ids.into_iter().filter(|id| self.registry.get(*id).is_some()) {
            match self.catching_up.get_mut(&env_id) {
                Some(again) => *again = true,
                None => {
                    self.catching_up.insert(env_id, false);
                    todo.push(env_id);
                }
            }
        }
        if todo.is_empty() {
            return;
        }
        let (store, cache, hub) = (self.store.clone(), self.cache.clone(), ctx.address());
        actix::spawn(async move {
            let reads = futures_util::stream::iter(todo).map(|env_id| {
                let (store, cache) = (&store, &cache);
                async move { CaughtUp { env_id, result: read(store, cache, env_id).await } }
            });
            let mut results = reads.buffer_unordered(CONCURRENCY);
            while let Some(caught_up) = results.next().await {
                hub.do_send(caught_up);
            }
        });
    }

    /// Applies what the database holds: segments that are newer (with the flags that reference them), then every
    /// newer flag. Unchanged segments re-apply nothing.
    fn apply_env(&mut self, env_id: Uuid, flags: &[FeatureFlag], segments: &[Segment]) {
        let Some(held) = self.registry.get(env_id) else { return };
        for segment in segments {
            let newer = held.segments().get(&segment.id).is_none_or(|h| h.segment().updated_at < segment.updated_at);
            if newer {
                let bumped: Vec<_> = flags.iter().filter(|f| references_segment(f, segment.id)).cloned().collect();
                self.apply_segment(segment, &bumped, Source::CatchUp);
            }
        }
        for flag in flags {
            self.apply_flag(flag, Source::CatchUp);
        }
    }
}

impl Handler<CaughtUp> for Hub {
    type Result = ();

    fn handle(&mut self, CaughtUp { env_id, result }: CaughtUp, ctx: &mut Self::Context) {
        let again = self.catching_up.remove(&env_id).unwrap_or(false);
        let outcome = match result {
            Ok(Some((flags, segments))) => {
                self.apply_env(env_id, &flags, &segments);
                "ok"
            }
            Ok(None) => {
                <Hub as Handler<EnvDeleted>>::handle(self, EnvDeleted(env_id), ctx);
                "ok"
            }
            Err(e) => {
                tracing::warn!(env = %env_id, error = %e, "catch-up failed; retrying in {RETRY:?}");
                if self.retrying.insert(env_id) {
                    ctx.run_later(RETRY, move |hub, ctx| {
                        hub.retrying.remove(&env_id);
                        hub.catch_up(vec![env_id], ctx);
                    });
                }
                "error"
            }
        };
        metrics().catch_up_runs.add(1, &label(attr::OUTCOME, outcome));
        if again {
            self.catch_up(vec![env_id], ctx);
        }
    }
}

impl Handler<EnvDeleted> for Hub {
    type Result = ();

    fn handle(&mut self, EnvDeleted(env_id): EnvDeleted, _: &mut Self::Context) {
        self.forget_loading(env_id);
        self.forget_users(env_id);
        self.registry.remove(env_id);
        self.secrets.remove(env_id);
        for (_, session) in self.sessions.remove(&env_id).unwrap_or_default() {
            session.evict.do_send(Evict::EnvironmentDeleted);
        }
        tracing::info!(env = %env_id, "environment deleted; its sessions were closed");
    }
}
