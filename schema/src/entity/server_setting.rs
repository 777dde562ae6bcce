//! `server_settings`: Vane's own key/value table for values generated on first start (the admin token).

use sea_orm::entity::prelude::*;

/// Key of the generated management-API token.
pub const ADMIN_TOKEN: &str = "admin_token";

/// One setting.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "server_settings")]
pub struct Model {
    /// Setting name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Setting value.
    #[sea_orm(column_type = "Text")]
    pub value: String,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
