//! The track body parser: bytes of `POST /api/public/insight/track` → the items that may be stored and the ones
//! refused, with every [`Limits`] applied before anything is allocated per event.
//!
//! A pure function of the bytes (no I/O, no clock), so it is unit-tested and fuzzed directly. It works in passes
//! that each cost at most a constant factor of the body:
//! 1. the top-level array is split into borrowed raw items (no copy), stopping at `max_track_items`;
//! 2. each item's events are **counted** without being built (`IgnoredAny` elements allocate nothing), so an item
//!    with 40,000 `{}` metrics is refused before 40,000 structs exist;
//! 3. only then is the item parsed and checked ([`Limits::check_item`]), and the body's total events and
//!    expanded size ([`expanded_bytes`]) are added up against their budgets.
//!
//! Invalid items are named and skipped (a mixed batch keeps its valid items); a body over a body-wide budget is
//! refused whole, naming the item at which the budget ran out.

use std::cell::Cell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use vane_schema::wire::Insight;

use super::limits::{LimitError, Limits, expanded_bytes};

/// A track body that passed the body-wide limits.
#[derive(Debug, Default)]
pub struct TrackBody {
    /// Items that may be stored, in body order.
    pub items: Vec<Insight>,
    /// Items refused, in body order.
    pub rejected: Vec<Rejected>,
}

/// One refused item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Position in the body.
    pub index: usize,
    /// Why, starting with `item {index}: `.
    pub message: String,
    /// A short, fixed label for metrics.
    pub reason: &'static str,
}

/// Why a whole body is refused.
#[derive(Debug, thiserror::Error)]
pub enum TrackBodyError {
    /// Not JSON, or not an array.
    #[error("invalid JSON body: {0}")]
    Json(#[source] serde_json::Error),
    /// More items than `max_track_items`.
    #[error("more than {max} items in one body")]
    TooManyItems {
        /// The limit.
        max: usize,
    },
    /// The body's events exceed `max_track_events` at item `index`.
    #[error("item {index}: the body has more than {max} events")]
    TooManyEvents {
        /// Where the budget ran out.
        index: usize,
        /// The limit.
        max: usize,
    },
    /// The body would expand into more than `max_track_expanded_bytes` at item `index`.
    #[error("item {index}: the body would expand to more than {max} bytes")]
    TooLarge {
        /// Where the budget ran out.
        index: usize,
        /// The limit.
        max: usize,
    },
}

impl TrackBodyError {
    /// A short, fixed label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Json(_) => "invalid_json",
            Self::TooManyItems { .. } => "too_many_items",
            Self::TooManyEvents { .. } => "too_many_events",
            Self::TooLarge { .. } => "too_large",
        }
    }
}

/// Parses and checks a track body (see the module docs).
pub fn parse(body: &[u8], limits: &Limits) -> Result<TrackBody, TrackBodyError> {
    let raw = split(body, limits.max_track_items)?;
    let mut parsed = TrackBody::default();
    let (mut events, mut bytes) = (0usize, 0usize);
    for (index, raw) in raw.into_iter().enumerate() {
        let item = match item(raw, limits) {
            Ok(item) => item,
            Err((reason, why)) => {
                parsed.rejected.push(Rejected { index, message: format!("item {index}: {why}"), reason });
                continue;
            }
        };
        events += item.variations.len() + item.metrics.len();
        if events > limits.max_track_events {
            return Err(TrackBodyError::TooManyEvents { index, max: limits.max_track_events });
        }
        bytes += expanded_bytes(&item);
        if bytes > limits.max_track_expanded_bytes {
            return Err(TrackBodyError::TooLarge { index, max: limits.max_track_expanded_bytes });
        }
        parsed.items.push(item);
    }
    Ok(parsed)
}

/// One item: counted, then parsed and checked. Errors carry a metric label and a message.
fn item(raw: &RawValue, limits: &Limits) -> Result<Insight, (&'static str, String)> {
    let limit = |e: LimitError| (e.reason(), e.to_string());
    let invalid = |e: serde_json::Error| ("invalid_item", e.to_string());
    let shape: Shape = serde_json::from_str(raw.get()).map_err(invalid)?;
    limits.check_event_count(shape.variations.0 + shape.metrics.0).map_err(limit)?;
    let item: Insight = serde_json::from_str(raw.get()).map_err(invalid)?;
    limits.check_item(&item).map_err(limit)?;
    Ok(item)
}

/// The top-level array as borrowed raw items; refuses more than `max` without reading the rest.
fn split(body: &[u8], max: usize) -> Result<Vec<&RawValue>, TrackBodyError> {
    let too_many = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(body);
    let items = de.deserialize_seq(Items { max, too_many: &too_many }).and_then(|items| de.end().map(|()| items));
    match items {
        Ok(items) => Ok(items),
        Err(_) if too_many.get() => Err(TrackBodyError::TooManyItems { max }),
        Err(e) => Err(TrackBodyError::Json(e)),
    }
}

/// Visits the top-level array, at most `max` elements.
struct Items<'c> {
    /// The limit.
    max: usize,
    /// Set when the limit stopped the visit (the error itself is serde's).
    too_many: &'c Cell<bool>,
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of insights")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            if items.len() == self.max {
                self.too_many.set(true);
                return Err(de::Error::custom("too many items"));
            }
            items.push(item);
        }
        Ok(items)
    }
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = Vec<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

/// What is counted of an item before it is parsed. Field names and leniency follow [`Insight`]: a field of the
/// wrong type counts 0 here and is reported by the full parse.
#[derive(Deserialize)]
struct Shape {
    /// Skipped; declared so the positional (array) form of an item lines up with [`Insight`]'s.
    #[serde(default, rename = "user")]
    _user: IgnoredAny,
    /// Evaluation events.
    #[serde(default)]
    variations: Count,
    /// Metric events.
    #[serde(default)]
    metrics: Count,
}

/// The number of elements of a JSON array (0 for anything else), found without building them.
#[derive(Default)]
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CountVisitor)
    }
}

/// Counts sequence elements; accepts any other value as 0.
struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Count;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
        let mut n = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(Count(n))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Count(0))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_str<E>(self, _: &str) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_unit<E>(self) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_none<E>(self) -> Result<Count, E> {
        Ok(Count(0))
    }
}

#[cfg(test)]
mod tests;
