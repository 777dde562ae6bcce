//! Experiments: the `experiments` table and the per-flag `insights_enabled` switch (default true, so existing flags
//! keep their insights).
//!
//! No index on `events`: an `(env_id, distinct_id, timestamp)` index was measured (BENCHMARKS.md, "Experiment
//! results") and gave no gain — exposures are served by the initial `(distinct_id, timestamp)` index and metric
//! events by `(env_id, event, timestamp)` — while every index costs each insert of the ingestion path.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `experiments` and adds `feature_flags.insights_enabled`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Experiments {
    Table,
    Id,
    EnvId,
    Name,
    FlagKey,
    BaselineVariationId,
    Metrics,
    Start,
    End,
    Alpha,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FeatureFlags {
    Table,
    InsightsEnabled,
}

const EXPERIMENTS_INDEX: &str = "ix_experiments_env_id_created_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(experiments()).await?;
        m.create_index(
            Index::create()
                .name(EXPERIMENTS_INDEX)
                .table(Experiments::Table)
                .col(Experiments::EnvId)
                .col(Experiments::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(FeatureFlags::Table)
                .add_column(boolean(FeatureFlags::InsightsEnabled).default(true))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(FeatureFlags::Table).drop_column(FeatureFlags::InsightsEnabled).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Experiments::Table).to_owned()).await
    }
}

fn experiments() -> TableCreateStatement {
    Table::create()
        .table(Experiments::Table)
        .col(pk_uuid(Experiments::Id))
        .col(uuid(Experiments::EnvId))
        .col(string_len(Experiments::Name, 128))
        .col(string_len(Experiments::FlagKey, 128))
        .col(string_len(Experiments::BaselineVariationId, 128))
        .col(json_binary(Experiments::Metrics))
        .col(timestamp_with_time_zone(Experiments::Start))
        .col(timestamp_with_time_zone_null(Experiments::End))
        .col(double(Experiments::Alpha))
        .col(timestamp_with_time_zone(Experiments::CreatedAt))
        .col(timestamp_with_time_zone(Experiments::UpdatedAt))
        .to_owned()
}
