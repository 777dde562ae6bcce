//! `end_users`: users seen by client syncs and insights, upserted on `(env_id, key_id)`.

use sea_orm::entity::prelude::*;

/// One end-user row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "end_users")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Environment the user was seen in.
    pub env_id: Uuid,
    /// The user's key (unique per environment).
    pub key_id: String,
    /// Display name (`""` when unknown, as FeatBit).
    pub name: String,
    /// `[{name, value}]`.
    pub customized_properties: Json,
    /// First seen.
    pub created_at: DateTimeUtc,
    /// Last seen with these attributes.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
