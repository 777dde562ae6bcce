//! Serializing snapshots into SDK frames: data-sync replies (`full`/`patch`) and change pushes, for server SDKs
//! (raw flags and segments) and client SDKs (flags evaluated for one user).

use std::borrow::Cow;
use std::sync::Arc;

use bytestring::ByteString;
use vane_schema::wire::EndUser;
use vane_schema::wire::sdk::{ClientFlag, ClientPayload, EventType, Frame, ServerPayload};
use vane_schema::wire::{FeatureFlag, Segment};

use super::{EnvSnapshot, SnapFlag};
use crate::eval::EvalUser;

fn frame<T: serde::Serialize>(data: T) -> ByteString {
    // Serializing owned, well-formed data into a String cannot fail.
    serde_json::to_string(&Frame::data_sync(data)).unwrap_or_default().into()
}

fn server_frame<'a>(
    event_type: EventType,
    flags: impl Iterator<Item = &'a FeatureFlag>,
    segments: impl Iterator<Item = &'a Segment>,
) -> ByteString {
    frame(ServerPayload {
        event_type,
        feature_flags: flags.map(Cow::Borrowed).collect(),
        segments: segments.map(Cow::Borrowed).collect(),
    })
}

/// One flag evaluated for `user`, as client SDKs receive it.
pub fn client_flag<'a>(snapshot: &EnvSnapshot, flag: &'a SnapFlag, user: &EvalUser<'_>) -> ClientFlag<'a> {
    let f = flag.flag();
    let result = flag.compiled.evaluate(&snapshot.segments, user);
    ClientFlag {
        id: Cow::Borrowed(&f.key),
        variation: result.value().map(Cow::Borrowed),
        variation_type: Cow::Borrowed(if f.variation_type.is_empty() { "string" } else { &f.variation_type }),
        variation_id: result.variation_id().map(Cow::Borrowed),
        match_reason: Cow::Borrowed(result.reason.as_str()),
        variation_options: Cow::Borrowed(&flag.options),
        send_to_experiment: result.send_to_experiment,
        timestamp: flag.updated_ms,
    }
}

fn client_frame<'a>(
    snapshot: &EnvSnapshot,
    event_type: EventType,
    user: &'a EndUser,
    flags: impl Iterator<Item = &'a Arc<SnapFlag>>,
) -> ByteString {
    // One index of the user's properties for every flag of the frame.
    let eval_user = EvalUser::new(user);
    frame(ClientPayload {
        event_type,
        user_key_id: Cow::Borrowed(&user.key_id),
        feature_flags: flags.map(|f| client_flag(snapshot, f, &eval_user)).collect(),
    })
}

impl EnvSnapshot {
    /// The reply to a server SDK's data-sync: `full` for timestamp 0 (serialized once per snapshot and shared),
    /// else a `patch` of everything newer than `timestamp`.
    pub fn server_sync(&self, timestamp: i64) -> ByteString {
        if timestamp == 0 {
            return self
                .server_full
                .get_or_init(|| {
                    server_frame(EventType::Full, self.flags_after(0).map(|f| f.flag()), self.segments_after(0))
                })
                .clone();
        }
        server_frame(EventType::Patch, self.flags_after(timestamp).map(|f| f.flag()), self.segments_after(timestamp))
    }

    /// Whether a server patch after `timestamp` would be empty (polling answers those with an empty body).
    pub fn is_unchanged_since(&self, timestamp: i64) -> bool {
        timestamp != 0
            && self.flags_after(timestamp).next().is_none()
            && self.segments_after(timestamp).next().is_none()
    }

    /// The reply to a client SDK's data-sync: every flag (or those newer than `timestamp`) evaluated for `user`.
    pub fn client_sync(&self, user: &EndUser, timestamp: i64) -> ByteString {
        client_frame(self, EventType::for_timestamp(timestamp), user, self.flags_after(timestamp))
    }

    /// Whether a client patch after `timestamp` would be empty.
    pub fn has_no_flags_after(&self, timestamp: i64) -> bool {
        timestamp != 0 && self.flags_after(timestamp).next().is_none()
    }

    /// The flags whose result for `after` differs from their result for `before` (a user's stored attributes
    /// changed): only those are pushed.
    pub fn flags_changed_for(&self, before: &EndUser, after: &EndUser) -> Vec<Arc<SnapFlag>> {
        let (before, after) = (EvalUser::new(before), EvalUser::new(after));
        let changed = |f: &&Arc<SnapFlag>| {
            let (b, a) = (f.compiled.evaluate(&self.segments, &before), f.compiled.evaluate(&self.segments, &after));
            b.variation_id() != a.variation_id() || b.send_to_experiment != a.send_to_experiment
        };
        self.flags.values().filter(changed).cloned().collect()
    }

    /// A push to client SDKs: `flags` re-evaluated for `user`.
    pub fn client_patch(&self, user: &EndUser, flags: &[Arc<SnapFlag>]) -> ByteString {
        client_frame(self, EventType::Patch, user, flags.iter())
    }
}

/// A push to server SDKs: the changed flags and segments as they are.
pub fn server_patch(flags: &[Arc<SnapFlag>], segments: &[Segment]) -> ByteString {
    server_frame(EventType::Patch, flags.iter().map(|f| f.flag()), segments.iter())
}
