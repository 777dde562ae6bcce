//! First-start bootstrap: the admin token (configured, or generated once and stored so every node agrees) and, on
//! an empty database, a demo environment with sample flags whose secrets are printed with a copy-paste snippet.
//!
//! The admin token never reaches a log or the database: only its hash is stored, and a generated token is written
//! to `admin.token_file` (mode 0600) by the node that generated it, which prints only the path.

mod demo;
mod lock;

use anyhow::Context as _;
use rand::RngCore;
use secrecy::ExposeSecret;
use vane_actors::store::{NewEnvironment, Store};
use vane_schema::entity::server_setting::ADMIN_TOKEN;
use vane_schema::secret::SecretType;

use crate::admin_auth::{hash_token, is_hash};
use crate::settings::Settings;

/// Under the start-up lock (Postgres): applies pending migrations (or, with `migrate == false`, refuses to start
/// while any is pending), then runs [`first_start`]. Returns the hash of the admin token in force.
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
/// Returns the hash of the admin token in force.
pub async fn first_start(store: &Store, settings: &Settings, port: u16) -> anyhow::Result<String> {
    let token = admin_token(store, settings).await?;
    let where_token = match &token.generated {
        Some(plain) => {
            write_token_file(&settings.admin.token_file, plain)?;
            format!("written to {} (readable by this user only)", settings.admin.token_file)
        }
        None if settings.admin.token.is_some() => "as configured (admin.token)".to_owned(),
        None => "generated earlier; only its hash is stored (see admin.token_file where it was generated)".to_owned(),
    };
    let empty = store.environment_count().await? == 0;
    if !(empty && settings.demo.enabled) {
        if token.generated.is_some() {
            println!("Vane admin token (management API, Authorization: Bearer …): {where_token}");
        }
        return Ok(token.hash);
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
    println!("{}", banner(&secret(SecretType::Server), &secret(SecretType::Client), &where_token, port));
    Ok(token.hash)
}

/// The admin token in force.
struct AdminToken {
    /// `sha256:<hex>`.
    hash: String,
    /// The token itself, when this call generated it.
    generated: Option<String>,
}

/// The configured token, else the stored one, else a new one stored (hashed) now.
async fn admin_token(store: &Store, settings: &Settings) -> anyhow::Result<AdminToken> {
    if let Some(token) = &settings.admin.token {
        return Ok(AdminToken { hash: hash_token(token.expose_secret().trim()), generated: None });
    }
    if let Some(stored) = store.setting(ADMIN_TOKEN).await? {
        if is_hash(&stored) {
            return Ok(AdminToken { hash: stored, generated: None });
        }
        // A plaintext token stored by an older version: keep it working, store only its hash from now on.
        let hash = hash_token(stored.trim());
        store.put_setting(ADMIN_TOKEN, &hash).await?;
        return Ok(AdminToken { hash, generated: None });
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash = hash_token(&fresh);
    let stored = store.setting_or_insert(ADMIN_TOKEN, &hash).await?;
    // Another node starting at the same time may have won; then only it knows the token.
    Ok(AdminToken { generated: (stored == hash).then_some(fresh), hash: stored })
}

/// Writes a generated token to `path`, readable and writable by this user only.
fn write_token_file(path: &str, token: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let path = std::path::Path::new(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing the admin token to {} (admin.token_file)", path.display()))?;
    // `mode` applies only to a new file; an existing one is narrowed too.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    writeln!(file, "{token}")?;
    Ok(())
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

/// `vane secrets`: every environment's secrets, and where the admin token is (it is never shown again).
pub async fn print_secrets(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    use std::io::Write as _;
    let source = if settings.admin.token.is_some() { "admin.token" } else { settings.admin.token_file.as_str() };
    let mut text = format!("admin token: only its hash is stored; see {source}\n");
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
