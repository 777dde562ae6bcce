//! Frames on the SDK WebSocket and the polling endpoints (featbit-protocol.md §2, §3.2).
//!
//! Every frame is `{"messageType": …, "data": …}`. Payload types borrow where they can (`Cow`) so a node can
//! serialize a 3,000-flag client sync without copying flag strings.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};

use super::flag::FeatureFlag;
use super::segment::Segment;
use super::user::EndUser;

/// `messageType` of a data-sync request and reply.
pub const DATA_SYNC: &str = "data-sync";
/// The exact bytes of the reply to `ping` (byte-exact in FeatBit's tests).
pub const PONG_FRAME: &str = r#"{"messageType":"pong","data":{}}"#;

/// A frame envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Frame<T> {
    /// `data-sync`, `ping`, `pong`, `echo`.
    pub message_type: Cow<'static, str>,
    /// The payload.
    pub data: T,
}

impl<T> Frame<T> {
    /// A `data-sync` frame around `data`.
    pub fn data_sync(data: T) -> Self {
        Self { message_type: Cow::Borrowed(DATA_SYNC), data }
    }
}

/// Whether a data-sync reply carries everything or only what changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// Everything (request timestamp 0).
    Full,
    /// Only what changed after the request timestamp.
    Patch,
}

impl EventType {
    /// `full` for timestamp 0, `patch` otherwise.
    pub fn for_timestamp(ts: i64) -> Self {
        if ts == 0 { Self::Full } else { Self::Patch }
    }
}

/// `data` of a data-sync request. A missing, `null` or non-integer `timestamp` is 0 (full sync).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataSyncRequest {
    /// The SDK's newest known version in Unix ms.
    #[serde(default, deserialize_with = "integer_or_zero")]
    pub timestamp: i64,
    /// The user a client SDK attaches (required for `type=client`).
    #[serde(default)]
    pub user: Option<EndUser>,
}

fn integer_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(serde_json::Value::deserialize(d)?.as_i64().unwrap_or(0))
}

/// Reply for server SDKs: raw flags and segments. Both arrays are always present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerPayload<'a> {
    /// `full` or `patch`.
    pub event_type: EventType,
    /// Flags newer than the request timestamp.
    pub feature_flags: Vec<Cow<'a, FeatureFlag>>,
    /// Segments newer than the request timestamp.
    pub segments: Vec<Cow<'a, Segment>>,
}

/// Reply for client SDKs: flags evaluated for the attached user. There is no `segments` key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientPayload<'a> {
    /// `full` or `patch`.
    pub event_type: EventType,
    /// The attached user's key; the js SDK drops replies for any other user.
    pub user_key_id: Cow<'a, str>,
    /// One entry per flag.
    #[serde(borrow)]
    pub feature_flags: Vec<ClientFlag<'a>>,
}

/// A flag evaluated for one user, as client SDKs receive it (§2.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientFlag<'a> {
    /// The flag **key**.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// Served value, `null` when there is none (archived flag, missing variation).
    #[serde(borrow)]
    pub variation: Option<Cow<'a, str>>,
    /// The flag's variation type (`string` when unset).
    #[serde(borrow)]
    pub variation_type: Cow<'a, str>,
    /// Served variation id, `null` when there is none.
    #[serde(borrow)]
    pub variation_id: Option<Cow<'a, str>>,
    /// `flag archived`, `flag disabled`, `targeted`, a rule name, or `default`.
    #[serde(borrow)]
    pub match_reason: Cow<'a, str>,
    /// All variations of the flag, `{id, value}` only.
    #[serde(borrow)]
    pub variation_options: Cow<'a, [VariationOption<'a>]>,
    /// Whether the SDK should send this evaluation to experiments.
    pub send_to_experiment: bool,
    /// The flag's `updatedAt` in Unix ms (the client SDK's version).
    pub timestamp: i64,
}

/// A variation as client SDKs see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariationOption<'a> {
    /// Variation id.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// Variation value.
    #[serde(borrow)]
    pub value: Cow<'a, str>,
}
