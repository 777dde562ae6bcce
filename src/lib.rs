//! The Vane server: process wiring, settings, telemetry and the HTTP surface. Runtime behaviour (evaluation,
//! actors, storage) lives in `vane-actors`; data shapes in `vane-schema`.

pub mod bootstrap;
pub mod cli;
pub mod error;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod telemetry;

use anyhow::Context as _;

use vane_actors::ingest::amqp::dead_letter;
use vane_schema::wire::message::{END_USERS_QUEUE, INSIGHTS_QUEUE};

use crate::cli::Command;
use crate::settings::Settings;
use crate::startup::Application;

/// Runs one CLI command to completion.
pub async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await.context("HTTP server")
        }
        Command::Migrate => {
            let store = startup::connect_store(&settings).await?;
            let pending = store.pending_migrations().await?;
            store.migrate().await.context("applying migrations")?;
            println!("applied {} migration(s): {}", pending.len(), pending.join(", "));
            Ok(())
        }
        Command::Secrets => {
            let store = startup::connect_store(&settings).await?;
            store.migrate().await.context("applying migrations")?;
            bootstrap::print_secrets(&store, &settings).await
        }
        Command::ReplayDeadLetters => {
            let amqp = startup::amqp_ingest_config(&settings).context("replay needs bus.amqp_url (cluster mode)")?;
            for queue in [END_USERS_QUEUE, INSIGHTS_QUEUE] {
                let moved = dead_letter::replay(&amqp, queue).await.with_context(|| format!("replaying {queue}"))?;
                println!("{queue}: {moved} dead-lettered message(s) moved back");
            }
            Ok(())
        }
    }
}
