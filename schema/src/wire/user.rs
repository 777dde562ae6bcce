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

/// The attributes a trusted backend stored for a user (`PUT …/end-users/{keyId}`), as the management API shows
/// them and as user messages carry them. Merged into evaluation over what the SDK sent ([`EndUser::merged`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredAttributes {
    /// The user's key.
    pub key_id: String,
    /// Display name; absent leaves the SDK-sent name in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Custom attributes; each replaces an SDK-sent attribute of the same name.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(value_type = Vec<Object>)]
    pub customized_properties: Vec<CustomizedProperty>,
    /// When they were last set.
    #[serde(with = "super::time::millis")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Strictly increasing per user; orders user messages.
    #[serde(default)]
    pub version: i64,
}

impl EndUser {
    /// This (SDK-sent) user with `stored` attributes merged in: a stored name replaces the sent one, and a stored
    /// property replaces every sent property of the same name (stored values come from a trusted backend).
    pub fn merged(&self, stored: &StoredAttributes) -> EndUser {
        let sent = self
            .customized_properties
            .iter()
            .filter(|p| !stored.customized_properties.iter().any(|s| s.name == p.name));
        EndUser {
            key_id: self.key_id.clone(),
            name: stored.name.clone().or_else(|| self.name.clone()),
            customized_properties: stored.customized_properties.iter().chain(sent).cloned().collect(),
        }
    }
}

#[cfg(test)]
mod merge_tests {
    use super::*;

    #[test]
    fn stored_attributes_win_over_sent_ones_of_the_same_name() {
        let sent = EndUser { name: Some("Sent".into()), ..EndUser::with_key("u1") }
            .with_property("plan", "free")
            .with_property("country", "fr")
            .with_property("plan", "free-again");
        let stored = StoredAttributes {
            key_id: "u1".into(),
            customized_properties: vec![CustomizedProperty { name: "plan".into(), value: "pro".into() }],
            ..StoredAttributes::default()
        };
        let merged = sent.merged(&stored);
        assert_eq!(merged.value_of("plan"), Some("pro"));
        assert_eq!(merged.value_of("country"), Some("fr"));
        assert_eq!(merged.name.as_deref(), Some("Sent"));
        assert_eq!(merged.customized_properties.len(), 2);
        let named = StoredAttributes { name: Some("Stored".into()), ..stored };
        assert_eq!(sent.merged(&named).name.as_deref(), Some("Stored"));
    }
}
