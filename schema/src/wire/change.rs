//! Change messages between nodes (featbit-protocol.md §6.1): routing keys are FeatBit's topic names, bodies are
//! FeatBit's JSON, so a FeatBit API server publishing to the same exchange drives Vane nodes too.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::flag::FeatureFlag;
use super::segment::Segment;
use super::time::millis;
use super::user::StoredAttributes;
use crate::secret::EnvSecret;

/// Routing key of flag changes; the body is the full flag JSON.
pub const FLAG_CHANGE: &str = "featbit-feature-flag-change";
/// Routing key of segment changes; the body is a [`SegmentChange`].
pub const SEGMENT_CHANGE: &str = "featbit-segment-change";
/// Routing key of environment deletions (Vane's own); the body is an [`EnvironmentDeleted`].
pub const ENVIRONMENT_DELETED: &str = "vane-environment-deleted";
/// Routing key of an environment's secrets after a creation or rotation (Vane's own); the body is an
/// [`EnvironmentSecrets`].
pub const ENVIRONMENT_SECRETS: &str = "vane-environment-secrets";

/// Routing key of user messages (Vane's own); the body is a [`UserChange`].
pub const USER_CHANGE: &str = "vane-user-change";

/// Body of a user message: a user's stored attributes were set or forgotten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserChange {
    /// The user's environment.
    pub env_id: Uuid,
    /// The user's key.
    pub key_id: String,
    /// Orders messages of one user: a hub applies a message only if its version is newer than what it holds.
    pub version: i64,
    /// The new attributes; `None` when the user was deleted.
    pub attributes: Option<StoredAttributes>,
}

/// Body of a segment change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentChange {
    /// The segment as stored (its `envId` routes the change).
    pub segment: Segment,
    /// Flags whose evaluation the change can affect.
    pub affected_flag_ids: Vec<Uuid>,
}

/// Body of an environment deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentDeleted {
    /// The deleted environment.
    pub env_id: Uuid,
}

/// Body of a secrets change: the environment's whole secret list, so applying it is idempotent and a node that
/// missed an earlier one converges with the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentSecrets {
    /// The environment.
    pub env_id: Uuid,
    /// The environment's `updatedAt` after the change: a version, older lists are ignored.
    #[serde(with = "millis")]
    pub updated_at: DateTime<Utc>,
    /// Every secret the environment holds now.
    pub secrets: Vec<EnvSecret>,
}

/// Any change, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A flag was created, changed or archived.
    Flag(FeatureFlag),
    /// A segment was created, changed or archived.
    Segment(SegmentChange),
    /// An environment and everything in it was deleted.
    EnvironmentDeleted(EnvironmentDeleted),
    /// An environment was created or its secrets were rotated.
    EnvironmentSecrets(EnvironmentSecrets),
    /// A user's stored attributes were set or forgotten.
    User(UserChange),
}

/// A message whose routing key or body is not a change.
#[derive(Debug, thiserror::Error)]
#[error("undecodable change message ({routing_key})")]
pub struct DecodeError {
    /// The routing key it came with.
    pub routing_key: String,
    /// The JSON error, if the key was known.
    #[source]
    pub source: Option<serde_json::Error>,
}

impl Change {
    /// The routing key this change is published with.
    pub fn routing_key(&self) -> &'static str {
        match self {
            Self::Flag(_) => FLAG_CHANGE,
            Self::Segment(_) => SEGMENT_CHANGE,
            Self::EnvironmentDeleted(_) => ENVIRONMENT_DELETED,
            Self::EnvironmentSecrets(_) => ENVIRONMENT_SECRETS,
            Self::User(_) => USER_CHANGE,
        }
    }

    /// The environment it concerns.
    pub fn env_id(&self) -> Uuid {
        match self {
            Self::Flag(f) => f.env_id,
            Self::Segment(s) => s.segment.env_id,
            Self::EnvironmentDeleted(e) => e.env_id,
            Self::EnvironmentSecrets(e) => e.env_id,
            Self::User(u) => u.env_id,
        }
    }

    /// The message body.
    pub fn to_json(&self) -> Vec<u8> {
        let body = match self {
            Self::Flag(f) => serde_json::to_vec(f),
            Self::Segment(s) => serde_json::to_vec(s),
            Self::EnvironmentDeleted(e) => serde_json::to_vec(e),
            Self::EnvironmentSecrets(e) => serde_json::to_vec(e),
            Self::User(u) => serde_json::to_vec(u),
        };
        body.unwrap_or_default()
    }

    /// Decodes a message by routing key.
    pub fn decode(routing_key: &str, body: &[u8]) -> Result<Self, DecodeError> {
        let err = |source| DecodeError { routing_key: routing_key.to_owned(), source };
        match routing_key {
            FLAG_CHANGE => serde_json::from_slice(body).map(Self::Flag).map_err(|e| err(Some(e))),
            SEGMENT_CHANGE => serde_json::from_slice(body).map(Self::Segment).map_err(|e| err(Some(e))),
            ENVIRONMENT_DELETED => serde_json::from_slice(body).map(Self::EnvironmentDeleted).map_err(|e| err(Some(e))),
            ENVIRONMENT_SECRETS => serde_json::from_slice(body).map(Self::EnvironmentSecrets).map_err(|e| err(Some(e))),
            USER_CHANGE => serde_json::from_slice(body).map(Self::User).map_err(|e| err(Some(e))),
            _ => Err(err(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip_through_their_routing_keys() {
        let flag =
            FeatureFlag { id: Uuid::new_v4(), env_id: Uuid::new_v4(), key: "k".into(), ..FeatureFlag::default() };
        let seg = SegmentChange {
            segment: Segment { id: Uuid::new_v4(), ..Segment::default() },
            affected_flag_ids: vec![flag.id],
        };
        for change in [
            Change::Flag(flag.clone()),
            Change::Segment(seg),
            Change::EnvironmentDeleted(EnvironmentDeleted { env_id: flag.env_id }),
            Change::EnvironmentSecrets(EnvironmentSecrets {
                env_id: flag.env_id,
                updated_at: crate::wire::time::now_ms(),
                secrets: vec![EnvSecret::generate(flag.env_id, crate::secret::SecretType::Client)],
            }),
            Change::User(UserChange { env_id: flag.env_id, key_id: "u1".into(), version: 7, attributes: None }),
        ] {
            let decoded = Change::decode(change.routing_key(), &change.to_json()).expect("decodes");
            assert_eq!(decoded, change);
        }
        let body = br#"{"segment":{"id":"0779d76b-afc6-4886-ab65-af8c004273ad","envId":""},"affectedFlagIds":[]}"#;
        assert!(matches!(Change::decode(SEGMENT_CHANGE, body), Ok(Change::Segment(_))));
        assert!(Change::decode("other", b"{}").is_err());
        assert!(Change::decode(FLAG_CHANGE, b"nope").is_err());
    }
}
