//! Keeping the [`SecretIndex`](crate::access::SecretIndex) current: secret lists from the bus, one environment
//! re-read when a secret of it was unknown, and every environment re-read by each catch-up (so a node that missed
//! a creation, rotation or deletion converges). Reads run in spawned tasks; results come back as messages.
//! Sessions opened with a secret that is no longer listed are closed with 4003.

use std::time::Instant;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use vane_schema::entity::environment;
use vane_schema::secret::EnvSecret;
use vane_schema::wire::change::EnvironmentSecrets;

use super::Hub;
use super::messages::{EnvDeleted, Evict, RefreshSecrets, SecretsChanged};
use crate::store::StoreError;

/// One environment re-read (`None`: it no longer exists).
#[derive(Message)]
#[rtype(result = "()")]
struct SecretsRead {
    env_id: Uuid,
    result: Result<Option<environment::Model>, StoreError>,
}

/// Every environment re-read by a catch-up that began at `began`.
#[derive(Message)]
#[rtype(result = "()")]
struct SecretsReloaded {
    began: Instant,
    result: Result<Vec<environment::Model>, StoreError>,
}

impl Hub {
    /// Applies an environment's secret list unless an newer one is held, closing sessions of revoked secrets.
    fn apply_secrets(&mut self, env_id: Uuid, updated_at: DateTime<Utc>, secrets: Vec<EnvSecret>) {
        let Some(revoked) = self.secrets.apply(env_id, updated_at, secrets) else { return };
        if revoked.is_empty() {
            return;
        }
        tracing::info!(env = %env_id, revoked = revoked.len(), "secrets revoked; closing their sessions");
        let Some(group) = self.sessions.get_mut(&env_id) else { return };
        group.retain(|_, s| {
            let keep = !revoked.contains(&s.secret_id);
            if !keep {
                s.evict.do_send(Evict::SecretRevoked);
            }
            keep
        });
    }

    /// Re-reads every environment's secrets (part of each catch-up).
    pub(super) fn reload_secrets(&mut self, ctx: &mut Context<Self>) {
        let (store, hub, began) = (self.store.clone(), ctx.address(), Instant::now());
        actix::spawn(async move {
            let result = store.environments().await;
            hub.do_send(SecretsReloaded { began, result });
        });
    }
}

impl Handler<SecretsChanged> for Hub {
    type Result = ();

    fn handle(&mut self, SecretsChanged(change): SecretsChanged, _: &mut Self::Context) {
        let EnvironmentSecrets { env_id, updated_at, secrets } = change;
        self.apply_secrets(env_id, updated_at, secrets);
    }
}

impl Handler<RefreshSecrets> for Hub {
    type Result = ();

    fn handle(&mut self, RefreshSecrets(env_id): RefreshSecrets, ctx: &mut Self::Context) {
        let (store, hub) = (self.store.clone(), ctx.address());
        actix::spawn(async move {
            let result = store.environment(env_id).await;
            hub.do_send(SecretsRead { env_id, result });
        });
    }
}

impl Handler<SecretsRead> for Hub {
    type Result = ();

    fn handle(&mut self, SecretsRead { env_id, result }: SecretsRead, ctx: &mut Self::Context) {
        match result {
            Ok(Some(env)) => self.apply_secrets(env_id, env.updated_at, env.secrets()),
            Ok(None) => <Hub as Handler<EnvDeleted>>::handle(self, EnvDeleted(env_id), ctx),
            Err(e) => tracing::warn!(env = %env_id, error = %e, "cannot re-read secrets; catch-up will"),
        }
    }
}

impl Handler<SecretsReloaded> for Hub {
    type Result = ();

    fn handle(&mut self, SecretsReloaded { began, result }: SecretsReloaded, ctx: &mut Self::Context) {
        let envs = match result {
            Ok(envs) => envs,
            Err(e) => return tracing::warn!(error = %e, "cannot re-read secrets; next catch-up will"),
        };
        let present: Vec<Uuid> = envs.iter().map(|e| e.id).collect();
        for env in envs {
            self.apply_secrets(env.id, env.updated_at, env.secrets());
        }
        for gone in self.secrets.missing_since(began, &present) {
            <Hub as Handler<EnvDeleted>>::handle(self, EnvDeleted(gone), ctx);
        }
    }
}
