//! One fresh database per test: a Postgres database `t_<uuid>` (dropped by [`TestDb::cleanup`]) or a SQLite file
//! in a temporary directory.

use sea_orm::{ConnectionTrait, Database, Statement};
use uuid::Uuid;

/// Where the test Postgres server is (`VANE_TEST_POSTGRES`, default the local trust-auth server).
pub fn postgres_base() -> String {
    std::env::var("VANE_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A database created for one test.
pub struct TestDb {
    /// Connection URL for the app.
    pub url: String,
    /// Postgres database name, when it is one.
    pg_name: Option<String>,
    /// Keeps the SQLite directory alive.
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new, empty Postgres database.
    pub async fn postgres() -> Self {
        let name = format!("t_{}", Uuid::new_v4().simple());
        let admin = Database::connect(format!("{}/postgres", postgres_base())).await.expect("postgres reachable");
        admin
            .execute_raw(Statement::from_string(admin.get_database_backend(), format!("CREATE DATABASE \"{name}\"")))
            .await
            .expect("create test database");
        admin.close().await.ok();
        Self { url: format!("{}/{name}", postgres_base()), pg_name: Some(name), _dir: None }
    }

    /// A new SQLite file in its own temporary directory (the directory itself is created by the app).
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/data/vane.db?mode=rwc", dir.path().display());
        Self { url, pg_name: None, _dir: Some(dir) }
    }

    /// Drops the Postgres database (terminating leftover connections).
    pub async fn cleanup(self) {
        self.drop_now().await;
    }

    /// Drops the Postgres database now, under whoever is connected (to test outages).
    pub async fn drop_now(&self) {
        let Some(name) = &self.pg_name else { return };
        let admin = Database::connect(format!("{}/postgres", postgres_base())).await.expect("postgres reachable");
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        admin.execute_raw(Statement::from_string(admin.get_database_backend(), sql)).await.expect("drop test database");
        admin.close().await.ok();
    }
}
