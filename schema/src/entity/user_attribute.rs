//! `user_attributes`: the attributes a trusted backend stored for one user of one environment (merged into
//! evaluation with precedence over what SDKs send).

use sea_orm::entity::prelude::*;

/// One user's stored attributes.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "user_attributes")]
pub struct Model {
    /// Environment.
    #[sea_orm(primary_key, auto_increment = false)]
    pub env_id: Uuid,
    /// The user's key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: String,
    /// Display name; `None` leaves the SDK-sent name in place.
    pub name: Option<String>,
    /// `[{name, value}]`.
    pub customized_properties: Json,
    /// Orders user messages: strictly increasing per user (Unix µs, or one more than the previous).
    pub version: i64,
    /// When the attributes were last set.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<Model> for crate::wire::user::StoredAttributes {
    fn from(m: Model) -> Self {
        Self {
            key_id: m.key_id,
            name: m.name,
            customized_properties: super::from_json(&m.customized_properties),
            updated_at: m.updated_at,
            version: m.version,
        }
    }
}
