//! Migrations that create Vane's tables, identical on Postgres and SQLite (`Migrator::up`).

use sea_orm_migration::prelude::*;

mod m20261125_000001_initial;
mod m20261201_000001_integrity;
mod m20261201_000005_experiments;
mod m20261201_000006_user_attributes;
mod m20261201_000008_experiment_rollup;

/// Applies Vane's migrations in order; the history lives in `seaql_migrations`.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_initial::Migration),
            Box::new(m20261201_000001_integrity::Migration),
            Box::new(m20261201_000005_experiments::Migration),
            Box::new(m20261201_000006_user_attributes::Migration),
            Box::new(m20261201_000008_experiment_rollup::Migration),
        ]
    }
}
