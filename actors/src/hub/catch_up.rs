//! Catching up from the database and forgetting deleted environments.

use actix::prelude::*;
use uuid::Uuid;
use vane_schema::wire::{FeatureFlag, Segment};

use super::messages::{EnvDeleted, Evict, Resync};
use super::{Hub, HubError};
use crate::store::Store;

/// What the database holds for one environment (`None`: it was deleted).
type EnvState = (Uuid, Option<(Vec<FeatureFlag>, Vec<Segment>)>);

async fn read_all(store: Store, env_ids: Vec<Uuid>) -> Result<Vec<EnvState>, HubError> {
    let mut out = Vec::with_capacity(env_ids.len());
    for env_id in env_ids {
        if store.environment(env_id).await?.is_none() {
            out.push((env_id, None));
            continue;
        }
        out.push((env_id, Some((store.flags(env_id).await?, store.segments(env_id).await?))));
    }
    Ok(out)
}

impl Handler<Resync> for Hub {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: Resync, _: &mut Self::Context) -> Self::Result {
        let read = read_all(self.store.clone(), self.registry.env_ids());
        AtomicResponse::new(Box::pin(read.into_actor(self).map(|res, hub, ctx| match res {
            // Applying goes through the ordinary change path: only what is newer is applied and pushed.
            Ok(envs) => {
                for (env_id, state) in envs {
                    let Some((flags, segments)) = state else {
                        <Hub as Handler<EnvDeleted>>::handle(hub, EnvDeleted(env_id), ctx);
                        continue;
                    };
                    for segment in &segments {
                        hub.apply_segment(segment, &flags);
                    }
                    for flag in &flags {
                        hub.apply_flag(flag);
                    }
                }
                tracing::debug!("catch-up done");
            }
            Err(e) => tracing::warn!(error = %e, "catch-up failed; the next one will retry"),
        })))
    }
}

impl Handler<EnvDeleted> for Hub {
    type Result = ();

    fn handle(&mut self, EnvDeleted(env_id): EnvDeleted, _: &mut Self::Context) {
        self.registry.remove(env_id);
        for (_, session) in self.sessions.remove(&env_id).unwrap_or_default() {
            session.evict.do_send(Evict::EnvironmentDeleted);
        }
        tracing::info!(env = %env_id, "environment deleted; its sessions were closed");
    }
}
