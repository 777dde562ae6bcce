//! Experiments: the `experiments` table, the per-flag `insights_enabled` switch (default true, so existing flags
//! keep their insights) and one index on `events` for the experiment and series queries.
//!
//! Why `ix_events_env_id_distinct_id_timestamp`: exposures are `FlagValue` rows with `distinct_id =
//! "<envId>-<flagKey>"` and conversions are custom events with `distinct_id = <event name>`; the event name is not
//! unique across environments, so the existing `(distinct_id, timestamp)` index scans every environment's
//! "purchase" events. With `env_id` leading, both range scans touch exactly the rows of the window (measured in
//! BENCHMARKS.md).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `experiments`, adds `feature_flags.insights_enabled` and the events index.
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

#[derive(DeriveIden)]
enum Events {
    Table,
    EnvId,
    DistinctId,
    Timestamp,
}

const EVENTS_INDEX: &str = "ix_events_env_id_distinct_id_timestamp";
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
        .await?;
        m.create_index(
            Index::create()
                .name(EVENTS_INDEX)
                .table(Events::Table)
                .col(Events::EnvId)
                .col(Events::DistinctId)
                .col(Events::Timestamp)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name(EVENTS_INDEX).table(Events::Table).to_owned()).await?;
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
