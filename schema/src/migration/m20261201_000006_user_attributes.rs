//! Stored user attributes: `user_attributes`, one row per `(env_id, key_id)` that a trusted backend set through
//! `PUT /api/v1/environments/{envId}/end-users/{keyId}`.
//!
//! A table of its own rather than columns of `end_users`: those rows hold what SDKs *reported*, which any browser
//! can claim, while these are merged into evaluation with precedence over what the SDK sends. `version` orders the
//! user messages (an older one never overwrites a newer one). The environment foreign key cascades, so deleting an
//! environment forgets its stored users too; being part of `CREATE TABLE`, it works on SQLite as on Postgres.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `user_attributes`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UserAttributes {
    Table,
    EnvId,
    KeyId,
    Name,
    CustomizedProperties,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Environments {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(UserAttributes::Table)
                .col(uuid(UserAttributes::EnvId))
                .col(text(UserAttributes::KeyId))
                .col(text_null(UserAttributes::Name))
                .col(json_binary(UserAttributes::CustomizedProperties))
                .col(big_integer(UserAttributes::Version))
                .col(timestamp_with_time_zone(UserAttributes::UpdatedAt))
                .primary_key(Index::create().col(UserAttributes::EnvId).col(UserAttributes::KeyId))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_user_attributes_env_id")
                        .from(UserAttributes::Table, UserAttributes::EnvId)
                        .to(Environments::Table, Environments::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(UserAttributes::Table).to_owned()).await
    }
}
