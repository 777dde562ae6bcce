//! Flags and segments belong to an existing environment: foreign keys `env_id → environments.id` with
//! `ON DELETE CASCADE`, so a flag or segment write can never race an environment deletion into an orphan (the
//! write either commits first and is deleted with the environment, or fails because the environment is gone).
//!
//! Rows whose environment no longer exists (unreachable through any API) are deleted first. Postgres adds the
//! constraints in place; SQLite cannot, so each table is rebuilt from its own `CREATE TABLE` text with the
//! constraint appended (SQLite's documented procedure for schema changes), keeping its indexes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Adds the environment foreign keys of `feature_flags` and `segments`.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables that hold an environment's rows.
const TABLES: [&str; 2] = ["feature_flags", "segments"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on every backend: SQLite's table rebuild must not be seen half done, and must run on one
    /// connection (the pool's other connections would otherwise race its DDL).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            let orphans = format!(r#"DELETE FROM "{table}" WHERE "env_id" NOT IN (SELECT "id" FROM "environments")"#);
            m.get_connection().execute_unprepared(&orphans).await?;
            match m.get_database_backend() {
                DbBackend::Sqlite => rebuild_with_foreign_key(m, table).await?,
                _ => m.create_foreign_key(foreign_key(table)).await?,
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Sqlite {
            // The constraint is harmless to keep; rebuilding the tables back is not worth the risk.
            return Ok(());
        }
        for table in TABLES {
            m.drop_foreign_key(ForeignKey::drop().name(fk_name(table)).table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}

fn fk_name(table: &str) -> String {
    format!("fk_{table}_env_id")
}

fn foreign_key(table: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(fk_name(table))
        .from(Alias::new(table), Alias::new("env_id"))
        .to(Alias::new("environments"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// SQLite: `CREATE TABLE new (… , FOREIGN KEY …)`, copy, drop, rename, recreate the indexes.
async fn rebuild_with_foreign_key(m: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let db = m.get_connection();
    let sql_of = |kind: &str| {
        Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT sql FROM sqlite_master WHERE type = ? AND tbl_name = ? AND sql IS NOT NULL",
            [kind.into(), table.into()],
        )
    };
    let create: String = db
        .query_one_raw(sql_of("table"))
        .await?
        .ok_or_else(|| DbErr::Migration(format!("table {table} not found")))?
        .try_get_by_index(0)?;
    let mut indexes = Vec::new();
    for row in db.query_all_raw(sql_of("index")).await? {
        indexes.push(row.try_get_by_index::<String>(0)?);
    }
    let body = create.trim_end().strip_suffix(')').ok_or_else(|| DbErr::Migration(format!("odd schema: {create}")))?;
    let (_, columns) = body.split_once('(').ok_or_else(|| DbErr::Migration(format!("odd schema: {create}")))?;
    let new = format!("{table}_with_fk");
    let statements = [
        format!(
            r#"CREATE TABLE "{new}" ({columns}, CONSTRAINT "{}" FOREIGN KEY ("env_id") REFERENCES "environments" ("id") ON DELETE CASCADE)"#,
            fk_name(table)
        ),
        format!(r#"INSERT INTO "{new}" SELECT * FROM "{table}""#),
        format!(r#"DROP TABLE "{table}""#),
        format!(r#"ALTER TABLE "{new}" RENAME TO "{table}""#),
    ];
    for sql in statements.iter().chain(&indexes) {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}
