//! Bounded cost per request: the `[limits]` settings and the checks every public endpoint runs on what an SDK
//! sends **before** any work is done with it (no dedupe, no lock, no expansion into messages, no evaluation).
//!
//! A client secret ships in every browser bundle, so anything it can send must cost a node a small, bounded amount.
//! Three kinds of limits:
//! * **user size** ([`Limits::check_user`]): key, name, number of custom properties, property name and value
//!   lengths. Used by the track intake, `featureflag/evaluate`, client polling and the client streaming
//!   `data-sync` — one function, so every endpoint refuses the same users;
//! * **storable text**: Postgres `text` cannot hold U+0000, and one such value fails a whole multi-row batch, so
//!   it is refused here, where the SDK can still be told, instead of failing in a writer after a 200;
//! * **track bodies** ([`Limits::check_item`], [`expanded_bytes`]): events per item and per body, event field
//!   lengths, and a budget on the bytes the body expands into (each event copies the user's key and name).
//!
//! Lengths count characters (the columns are `varchar(n)`, which counts characters).

use serde::Deserialize;
use vane_schema::wire::{EndUser, Insight};

/// The `[limits]` settings; every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Longest user `keyId` (`end_users.key_id` is `varchar(512)`).
    pub max_key_chars: usize,
    /// Longest user `name` (`end_users.name` is `varchar(256)`).
    pub max_name_chars: usize,
    /// Most custom properties per user.
    pub max_properties: usize,
    /// Longest custom property name.
    pub max_property_name_chars: usize,
    /// Longest custom property value.
    pub max_property_value_chars: usize,
    /// Most items in one track body (SDKs send at most 50).
    pub max_track_items: usize,
    /// Most events (evaluations + metrics) in one track body.
    pub max_track_events: usize,
    /// Most events in one track item.
    pub max_item_events: usize,
    /// Longest text field of an event (flag key, variation id, metric name, route, type, app type).
    pub max_event_field_chars: usize,
    /// Budget on the bytes a track body expands into (messages and rows), checked before expanding it.
    pub max_track_expanded_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_key_chars: 512,
            max_name_chars: 256,
            max_properties: 100,
            max_property_name_chars: 256,
            max_property_value_chars: 1_024,
            max_track_items: 500,
            max_track_events: 5_000,
            max_item_events: 1_000,
            max_event_field_chars: 512,
            max_track_expanded_bytes: 4 << 20,
        }
    }
}

/// Why a user or a track item is refused. The text names the field, so SDK owners can find it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// No usable `keyId`.
    #[error("user.keyId is required")]
    MissingKey,
    /// A text field is longer than allowed.
    #[error("{field} has {chars} characters, more than the {max} allowed")]
    TooLong {
        /// Path of the field, e.g. `user.keyId`.
        field: String,
        /// Its length.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A text field holds U+0000, which the database cannot store.
    #[error("{0} contains U+0000, which cannot be stored")]
    Nul(String),
    /// Too many custom properties.
    #[error("user has {count} customizedProperties, more than the {max} allowed")]
    TooManyProperties {
        /// How many were sent.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Too many events in one item.
    #[error("{count} events, more than the {max} allowed per item")]
    TooManyEvents {
        /// How many were sent.
        count: usize,
        /// The limit.
        max: usize,
    },
}

impl LimitError {
    /// A short, fixed label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingKey => "missing_key",
            Self::TooLong { .. } => "too_long",
            Self::Nul(_) => "nul",
            Self::TooManyProperties { .. } => "too_many_properties",
            Self::TooManyEvents { .. } => "too_many_events",
        }
    }
}

impl Limits {
    /// Whether `user` may be evaluated and stored: a non-blank key and every field within its limit and storable.
    pub fn check_user(&self, user: &EndUser) -> Result<(), LimitError> {
        if !user.is_valid() {
            return Err(LimitError::MissingKey);
        }
        text("user.keyId", &user.key_id, self.max_key_chars)?;
        if let Some(name) = &user.name {
            text("user.name", name, self.max_name_chars)?;
        }
        let count = user.customized_properties.len();
        if count > self.max_properties {
            return Err(LimitError::TooManyProperties { count, max: self.max_properties });
        }
        for (i, p) in user.customized_properties.iter().enumerate() {
            text_at("user.customizedProperties", i, "name", &p.name, self.max_property_name_chars)?;
            text_at("user.customizedProperties", i, "value", &p.value, self.max_property_value_chars)?;
        }
        Ok(())
    }

    /// Whether a parsed track item may be stored: its user ([`check_user`](Self::check_user)), its event count and
    /// every stored text field of its events.
    pub fn check_item(&self, item: &Insight) -> Result<(), LimitError> {
        self.check_user(item.user.as_ref().ok_or(LimitError::MissingKey)?)?;
        self.check_event_count(item.variations.len() + item.metrics.len())?;
        let max = self.max_event_field_chars;
        for (i, v) in item.variations.iter().enumerate() {
            text_at("variations", i, "featureFlagKey", &v.feature_flag_key, max)?;
            if let Some(variation) = &v.variation {
                text_at("variations", i, "variation.id", &variation.id, max)?;
            }
        }
        for (i, m) in item.metrics.iter().enumerate() {
            text_at("metrics", i, "eventName", &m.event_name, max)?;
            text_at("metrics", i, "route", &m.route, max)?;
            text_at("metrics", i, "type", &m.kind, max)?;
            text_at("metrics", i, "appType", &m.app_type, max)?;
        }
        Ok(())
    }

    /// Whether an item with `count` events is within [`max_item_events`](Self::max_item_events).
    pub fn check_event_count(&self, count: usize) -> Result<(), LimitError> {
        if count > self.max_item_events {
            return Err(LimitError::TooManyEvents { count, max: self.max_item_events });
        }
        Ok(())
    }
}

/// Fixed bytes of one insight message and row besides the copied text: the uuid, the timestamp, the JSON keys of
/// the properties object, the environment id written three times, and allocation overhead. Measured on the
/// FlagValue message (the larger of the two kinds) and rounded up.
const EVENT_OVERHEAD: usize = 768;
/// Fixed bytes of one end-user message and row.
const USER_OVERHEAD: usize = 256;
/// Fixed bytes per custom property (two `String`s and the JSON around them).
const PROPERTY_OVERHEAD: usize = 64;

/// An upper estimate of the bytes a checked item expands into: every event copies the user's key and name twice
/// and its own fields up to three times (message fields and properties JSON, escaped), plus one user message.
pub fn expanded_bytes(item: &Insight) -> usize {
    let Some(user) = &item.user else { return 0 };
    let user_text = 2 * (json_len(&user.key_id) + user.name.as_deref().map_or(0, json_len));
    let per_event = EVENT_OVERHEAD + user_text;
    let variations: usize = item
        .variations
        .iter()
        .map(|v| per_event + 3 * (json_len(&v.feature_flag_key) + v.variation.as_ref().map_or(0, |x| json_len(&x.id))))
        .sum();
    let metrics: usize = item
        .metrics
        .iter()
        .map(|m| {
            per_event + 3 * (json_len(&m.event_name) + json_len(&m.route) + json_len(&m.kind) + json_len(&m.app_type))
        })
        .sum();
    let properties: usize =
        user.customized_properties.iter().map(|p| PROPERTY_OVERHEAD + json_len(&p.name) + json_len(&p.value)).sum();
    USER_OVERHEAD + user_text + properties + variations + metrics
}

/// Length of `s` as a JSON string body: control characters take up to six bytes, quotes and backslashes two.
fn json_len(s: &str) -> usize {
    s.bytes()
        .map(|b| {
            if b < 0x20 {
                6
            } else if b == b'"' || b == b'\\' {
                2
            } else {
                1
            }
        })
        .sum()
}

/// Checks one text field: storable, and at most `max` characters.
fn text(field: &str, value: &str, max: usize) -> Result<(), LimitError> {
    // Bytes bound characters from above: most values pass without counting.
    if value.len() > max {
        let chars = value.chars().count();
        if chars > max {
            return Err(LimitError::TooLong { field: field.to_owned(), chars, max });
        }
    }
    if value.contains('\0') {
        return Err(LimitError::Nul(field.to_owned()));
    }
    Ok(())
}

/// [`text`] for a field of a list element, named `list[i].field` only when refused.
fn text_at(list: &str, i: usize, field: &str, value: &str, max: usize) -> Result<(), LimitError> {
    text("", value, max).map_err(|e| {
        let name = format!("{list}[{i}].{field}");
        match e {
            LimitError::TooLong { chars, max, .. } => LimitError::TooLong { field: name, chars, max },
            _ => LimitError::Nul(name),
        }
    })
}

#[cfg(test)]
mod tests;
