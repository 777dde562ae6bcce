//! First-start bootstrap: the admin token (configured, or generated once and stored so every node agrees) and, on
//! an empty database, a demo environment with sample flags whose secrets are printed with a copy-paste snippet.

mod demo;
mod lock;

use anyhow::Context as _;
use rand::RngCore;
use secrecy::ExposeSecret;
use vane_actors::store::{NewEnvironment, Store};
use vane_schema::entity::server_setting::ADMIN_TOKEN;
use vane_schema::secret::SecretType;

use crate::settings::Settings;

/// Under the start-up lock (Postgres): applies pending migrations (or, with `migrate == false`, refuses to start
/// while any is pending), then runs [`first_start`]. Returns the admin token in force.
pub async fn prepare(store: &Store, settings: &Settings, port: u16, migrate: bool) -> anyhow::Result<String> {
    let lock = lock::acquire(store).await?;
    if migrate {
        store.migrate().await.context("applying database migrations")?;
    } else {
        let pending = store.pending_migrations().await?;
        anyhow::ensure!(
            pending.is_empty(),
            "--no-migrate: pending migrations {}; run `vane migrate`",
            pending.join(", ")
        );
    }
    let token = first_start(store, settings, port).await?;
    if let Some(lock) = lock {
        lock.commit().await.context("start-up lock: releasing")?;
    }
    Ok(token)
}

/// Resolves the admin token and creates the demo environment when the database is empty and the demo is enabled.
/// Returns the admin token in force.
pub async fn first_start(store: &Store, settings: &Settings, port: u16) -> anyhow::Result<String> {
    let (token, generated) = admin_token(store, settings).await?;
    let empty = store.environment_count().await? == 0;
    if !(empty && settings.demo.enabled) {
        if generated {
            println!("Vane admin token (management API, Authorization: Bearer …): {token}");
        }
        return Ok(token);
    }
    let env = store
        .create_environment(NewEnvironment {
            name: "Demo".into(),
            key: "demo".into(),
            description: "Created on first start; delete it when you no longer need it.".into(),
        })
        .await
        .context("creating the demo environment")?;
    for flag in demo::flags(env.id) {
        store.upsert_flag(&flag).await.context("creating the demo flags")?;
    }
    let secret = |kind| env.secrets().into_iter().find(|s| s.kind == kind).map(|s| s.value).unwrap_or_default();
    println!("{}", banner(&secret(SecretType::Server), &secret(SecretType::Client), &token, port));
    Ok(token)
}

/// The configured token, else the stored one, else a new one stored now (`true` when this call generated it).
async fn admin_token(store: &Store, settings: &Settings) -> anyhow::Result<(String, bool)> {
    if let Some(token) = &settings.admin.token {
        return Ok((token.expose_secret().to_owned(), false));
    }
    if let Some(token) = store.setting(ADMIN_TOKEN).await? {
        return Ok((token, false));
    }
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let stored = store.setting_or_insert(ADMIN_TOKEN, &fresh).await?;
    Ok((stored.clone(), stored == fresh))
}

fn banner(server: &str, client: &str, admin: &str, port: u16) -> String {
    format!(
        r#"
================================================================================
 Vane is ready — demo environment created (flags: welcome-banner, checkout-flow, new-pricing)

   server secret : {server}
   client secret : {client}
   admin token   : {admin}

 Point a FeatBit SDK at this node:
   node   : new FbClientBuilder().sdkKey("{server}")
              .streamingUri("ws://127.0.0.1:{port}").eventsUri("http://127.0.0.1:{port}").build()
   python : FbClient(Config("{server}", "http://127.0.0.1:{port}", "ws://127.0.0.1:{port}"))
   browser: FbClientBuilder().sdkKey("{client}").streamingUri("ws://127.0.0.1:{port}")
              .eventsUri("http://127.0.0.1:{port}").user(...)
 Secrets are printed once; `vane secrets` shows them again.
================================================================================"#
    )
}

/// `vane secrets`: every environment's secrets and the admin token.
pub async fn print_secrets(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    use std::io::Write as _;
    let (token, _) = admin_token(store, settings).await?;
    let mut text = format!("admin token: {token}\n");
    for env in store.environments().await? {
        text.push_str(&format!("environment {} ({}, key {:?})\n", env.id, env.name, env.key));
        for s in env.secrets() {
            text.push_str(&format!("  {:<6} {}\n", s.kind.as_str(), s.value));
        }
    }
    // A closed pipe (`vane secrets | head -1`) is not an error worth a panic.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
