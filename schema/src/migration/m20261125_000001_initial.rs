//! The initial schema: environments, flags, segments, end users, insight events and server settings, with the
//! indexes of the hot queries (changes since a timestamp, user upserts, insight reports).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates every table of the first release.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Environments {
    Table,
    Id,
    Name,
    Key,
    Description,
    Secrets,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FeatureFlags {
    Table,
    Id,
    EnvId,
    Revision,
    Name,
    Description,
    Key,
    VariationType,
    Variations,
    TargetUsers,
    Rules,
    IsEnabled,
    DisabledVariationId,
    Fallthrough,
    ExptIncludeAllTargets,
    Tags,
    IsArchived,
    CreatedAt,
    UpdatedAt,
    CreatorId,
    UpdatorId,
}

#[derive(DeriveIden)]
enum Segments {
    Table,
    Id,
    EnvId,
    Name,
    Key,
    Description,
    Included,
    Excluded,
    Rules,
    Tags,
    IsArchived,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EndUsers {
    Table,
    Id,
    EnvId,
    KeyId,
    Name,
    CustomizedProperties,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    DistinctId,
    EnvId,
    Event,
    Properties,
    Timestamp,
}

#[derive(DeriveIden)]
enum ServerSettings {
    Table,
    Key,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(environments()).await?;
        m.create_table(feature_flags()).await?;
        m.create_table(segments()).await?;
        m.create_table(end_users()).await?;
        m.create_table(events()).await?;
        m.create_table(server_settings()).await?;
        for index in indexes() {
            m.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ServerSettings::Table.into_iden(),
            Events::Table.into_iden(),
            EndUsers::Table.into_iden(),
            Segments::Table.into_iden(),
            FeatureFlags::Table.into_iden(),
            Environments::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

fn environments() -> TableCreateStatement {
    Table::create()
        .table(Environments::Table)
        .col(pk_uuid(Environments::Id))
        .col(string_len(Environments::Name, 128))
        .col(string_len_uniq(Environments::Key, 128))
        .col(text(Environments::Description))
        .col(json_binary(Environments::Secrets))
        .col(timestamp_with_time_zone(Environments::CreatedAt))
        .col(timestamp_with_time_zone(Environments::UpdatedAt))
        .to_owned()
}

fn feature_flags() -> TableCreateStatement {
    Table::create()
        .table(FeatureFlags::Table)
        .col(pk_uuid(FeatureFlags::Id))
        .col(uuid(FeatureFlags::EnvId))
        .col(uuid(FeatureFlags::Revision))
        .col(string_len(FeatureFlags::Name, 128))
        .col(text(FeatureFlags::Description))
        .col(string_len(FeatureFlags::Key, 128))
        .col(string_len(FeatureFlags::VariationType, 64))
        .col(json_binary(FeatureFlags::Variations))
        .col(json_binary(FeatureFlags::TargetUsers))
        .col(json_binary(FeatureFlags::Rules))
        .col(boolean(FeatureFlags::IsEnabled))
        .col(string_len(FeatureFlags::DisabledVariationId, 128))
        .col(json_binary(FeatureFlags::Fallthrough))
        .col(boolean(FeatureFlags::ExptIncludeAllTargets))
        .col(json_binary(FeatureFlags::Tags))
        .col(boolean(FeatureFlags::IsArchived))
        .col(timestamp_with_time_zone(FeatureFlags::CreatedAt))
        .col(timestamp_with_time_zone(FeatureFlags::UpdatedAt))
        .col(uuid_null(FeatureFlags::CreatorId))
        .col(uuid_null(FeatureFlags::UpdatorId))
        .to_owned()
}

fn segments() -> TableCreateStatement {
    Table::create()
        .table(Segments::Table)
        .col(pk_uuid(Segments::Id))
        .col(uuid(Segments::EnvId))
        .col(string_len(Segments::Name, 128))
        .col(string_len(Segments::Key, 128))
        .col(text(Segments::Description))
        .col(json_binary(Segments::Included))
        .col(json_binary(Segments::Excluded))
        .col(json_binary(Segments::Rules))
        .col(json_binary(Segments::Tags))
        .col(boolean(Segments::IsArchived))
        .col(timestamp_with_time_zone(Segments::CreatedAt))
        .col(timestamp_with_time_zone(Segments::UpdatedAt))
        .to_owned()
}

fn end_users() -> TableCreateStatement {
    Table::create()
        .table(EndUsers::Table)
        .col(pk_uuid(EndUsers::Id))
        .col(uuid(EndUsers::EnvId))
        .col(string_len(EndUsers::KeyId, 512))
        .col(string_len(EndUsers::Name, 256))
        .col(json_binary(EndUsers::CustomizedProperties))
        .col(timestamp_with_time_zone(EndUsers::CreatedAt))
        .col(timestamp_with_time_zone(EndUsers::UpdatedAt))
        .to_owned()
}

fn events() -> TableCreateStatement {
    Table::create()
        .table(Events::Table)
        .col(pk_uuid(Events::Id))
        .col(string(Events::DistinctId))
        .col(uuid(Events::EnvId))
        .col(string_len(Events::Event, 128))
        .col(json_binary(Events::Properties))
        .col(timestamp_with_time_zone(Events::Timestamp))
        .to_owned()
}

fn server_settings() -> TableCreateStatement {
    Table::create()
        .table(ServerSettings::Table)
        .col(string_len(ServerSettings::Key, 128).primary_key())
        .col(text(ServerSettings::Value))
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    let idx = |name: &str| Index::create().name(name).to_owned();
    vec![
        idx("ix_feature_flags_env_id_updated_at")
            .table(FeatureFlags::Table)
            .col(FeatureFlags::EnvId)
            .col(FeatureFlags::UpdatedAt)
            .to_owned(),
        idx("ux_feature_flags_env_id_key")
            .table(FeatureFlags::Table)
            .col(FeatureFlags::EnvId)
            .col(FeatureFlags::Key)
            .unique()
            .to_owned(),
        idx("ix_segments_env_id_updated_at")
            .table(Segments::Table)
            .col(Segments::EnvId)
            .col(Segments::UpdatedAt)
            .to_owned(),
        idx("ux_end_users_env_id_key_id")
            .table(EndUsers::Table)
            .col(EndUsers::EnvId)
            .col(EndUsers::KeyId)
            .unique()
            .to_owned(),
        idx("ix_end_users_env_id_updated_at")
            .table(EndUsers::Table)
            .col(EndUsers::EnvId)
            .col(EndUsers::UpdatedAt)
            .to_owned(),
        idx("ix_events_env_id_event_timestamp")
            .table(Events::Table)
            .col(Events::EnvId)
            .col(Events::Event)
            .col(Events::Timestamp)
            .to_owned(),
        idx("ix_events_distinct_id_timestamp")
            .table(Events::Table)
            .col(Events::DistinctId)
            .col(Events::Timestamp)
            .to_owned(),
    ]
}
