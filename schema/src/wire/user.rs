//! End user JSON (featbit-protocol.md §4.3): who a flag is evaluated for.

use serde::{Deserialize, Serialize};

use super::de::{null_as_default, scalar_as_string};

/// An end user as SDKs attach it. `keyId` must be non-blank to be usable ([`EndUser::is_valid`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EndUser {
    /// The user's unique key.
    #[serde(default, deserialize_with = "null_as_default")]
    pub key_id: String,
    /// Display name; may be absent, which makes conditions on `name` fail (as in FeatBit).
    #[serde(default)]
    pub name: Option<String>,
    /// Custom attributes, looked up by exact name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub customized_properties: Vec<CustomizedProperty>,
}

/// One custom attribute. Numbers and booleans are accepted and kept as their JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CustomizedProperty {
    /// Attribute name (case-sensitive).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Attribute value.
    #[serde(default, deserialize_with = "scalar_as_string")]
    pub value: String,
}

impl EndUser {
    /// A user with just a key.
    pub fn with_key(key: impl Into<String>) -> Self {
        Self { key_id: key.into(), ..Self::default() }
    }

    /// Adds a custom property (builder style, for tests and tools).
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.customized_properties.push(CustomizedProperty { name: name.into(), value: value.into() });
        self
    }

    /// FeatBit rejects users whose `keyId` is blank.
    pub fn is_valid(&self) -> bool {
        !self.key_id.trim().is_empty()
    }

    /// The value FeatBit's `valueOf(property)` returns (§5.2): `None` only for a missing `name`; a missing custom
    /// property is `""`.
    pub fn value_of(&self, property: &str) -> Option<&str> {
        match property {
            "" => Some(""),
            "keyId" => Some(&self.key_id),
            "name" => self.name.as_deref(),
            _ => Some(self.customized_properties.iter().find(|p| p.name == property).map_or("", |p| p.value.as_str())),
        }
    }
}
