//! `environments`: the unit of tenancy; each has a server and a client secret.

use sea_orm::entity::prelude::*;

use crate::secret::EnvSecret;

/// One environment row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "environments")]
pub struct Model {
    /// Environment id, also encoded in its secrets.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Short unique key (e.g. `prod`).
    #[sea_orm(unique)]
    pub key: String,
    /// Free text.
    pub description: String,
    /// `[{id, name, type, value}]`, as FeatBit stores it.
    pub secrets: Json,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The stored secrets; malformed entries are skipped.
    pub fn secrets(&self) -> Vec<EnvSecret> {
        match &self.secrets {
            Json::Array(items) => items.iter().filter_map(|v| serde_json::from_value(v.clone()).ok()).collect(),
            _ => Vec::new(),
        }
    }
}
