//! The durable store: SeaORM over Postgres (cluster) or SQLite (embedded), with the same entities and migrations.
//!
//! Everything that reads or writes the database goes through [`Store`], a cheap `Clone` handle around the
//! connection pool that actors and routes share.

mod environments;
mod flags;
mod users;

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use vane_schema::entity::server_setting;
use vane_schema::migration::Migrator;

pub use environments::{NewEnvironment, lock_environment_in};
pub use flags::{
    bump_flags_in, flag_by_key_in, flag_env_in, next_version, segment_env_in, segment_in, upsert_flag_in,
    upsert_segment_in,
};

/// Database failures, with the cause kept for logs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a statement, or could not be reached.
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    /// The SQLite directory could not be created.
    #[error("cannot create the database directory {path}")]
    Directory {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A uniqueness rule was violated (e.g. an environment key already in use).
    #[error("{0} already exists")]
    Conflict(String),
    /// A write addressed a row by an id that belongs to another environment; nothing was written.
    #[error("{0} belongs to another environment")]
    InOtherEnvironment(String),
    /// The environment of a flag or segment write no longer exists (deleted concurrently).
    #[error("the environment does not exist")]
    NoEnvironment,
    /// The environment holds no such secret.
    #[error("the environment has no such secret")]
    NoSecret,
    /// Revoking would leave the environment without a secret of this type.
    #[error("the last {} secret of an environment cannot be revoked", .0.as_str())]
    LastSecret(vane_schema::secret::SecretType),
}

/// Pool settings for [`Store::connect`].
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// How long a request waits for a pooled connection.
    pub acquire_timeout: Duration,
}

/// Handle to the database, shared by every actor and route.
#[derive(Debug, Clone)]
pub struct Store {
    /// The SeaORM pool; cloning shares it.
    db: DatabaseConnection,
}

impl Store {
    /// Connects (creating the SQLite file's directory when needed). Does not migrate.
    pub async fn connect(config: &StoreConfig) -> Result<Self, StoreError> {
        ensure_sqlite_dir(&config.url)?;
        let mut options = ConnectOptions::new(config.url.clone());
        options
            .max_connections(config.max_connections)
            .min_connections(1)
            .acquire_timeout(config.acquire_timeout)
            .connect_timeout(config.acquire_timeout)
            .sqlx_logging(false);
        Ok(Self { db: Database::connect(options).await? })
    }

    /// Wraps an existing connection (tests).
    pub fn from_connection(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Ok(Migrator::up(&self.db, None).await?)
    }

    /// The names of the migrations not yet applied.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        Ok(Migrator::get_pending_migrations(&self.db).await?.iter().map(|m| m.name().to_owned()).collect())
    }

    /// Starts a write transaction: on SQLite `BEGIN IMMEDIATE`, so concurrent writers queue for the write lock
    /// up front instead of failing when a read-then-write transaction tries to upgrade; on Postgres the usual
    /// `READ COMMITTED` with row locks taken by the reads that need them.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, StoreError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(self.db.begin_with_options(options).await?)
    }

    /// The pool, for SeaORM queries elsewhere in the crate.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// `postgres` or `sqlite`.
    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// One round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.execute_raw(Statement::from_string(self.backend(), "SELECT 1")).await?;
        Ok(())
    }

    /// A value of `server_settings`.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        use sea_orm::EntityTrait;
        Ok(server_setting::Entity::find_by_id(key.to_owned()).one(&self.db).await?.map(|m| m.value))
    }

    /// Writes a value of `server_settings`, replacing any.
    pub async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        use sea_orm::sea_query::OnConflict;
        use sea_orm::{EntityTrait, Set};
        let row = server_setting::ActiveModel { key: Set(key.to_owned()), value: Set(value.to_owned()) };
        let upsert =
            OnConflict::column(server_setting::Column::Key).update_column(server_setting::Column::Value).to_owned();
        server_setting::Entity::insert(row).on_conflict(upsert).exec_without_returning(&self.db).await?;
        Ok(())
    }

    /// Writes a value of `server_settings` unless one exists; returns the value now stored (first writer wins,
    /// so nodes starting together agree on one generated value).
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        use sea_orm::sea_query::OnConflict;
        use sea_orm::{EntityTrait, Set};
        let row = server_setting::ActiveModel { key: Set(key.to_owned()), value: Set(value.to_owned()) };
        server_setting::Entity::insert(row)
            .on_conflict(OnConflict::column(server_setting::Column::Key).do_nothing().to_owned())
            .exec_without_returning(&self.db)
            .await?;
        Ok(self.setting(key).await?.unwrap_or_else(|| value.to_owned()))
    }
}

/// `sqlite://dir/file.db?…` needs `dir` to exist before SQLite can create the file.
fn ensure_sqlite_dir(url: &str) -> Result<(), StoreError> {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Ok(());
    };
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|source| StoreError::Directory { path: dir.display().to_string(), source }),
        _ => Ok(()),
    }
}
