//! The FeatBit JSON model (featbit-protocol.md §2–§4, §6.3).
//!
//! All types are camelCase on the wire, tolerate unknown fields and JSON `null` where FeatBit's own store may hold
//! one, and write timestamps with millisecond precision (`2024-01-02T03:04:05.123Z`) so every SDK derives the same
//! version from them.

pub mod change;
mod de;
pub mod flag;
pub mod insight;
pub mod message;
pub mod sdk;
pub mod segment;
pub mod time;
pub mod user;

pub use flag::{Condition, Fallthrough, FeatureFlag, RolloutVariation, TargetRule, TargetUser, Variation};
pub use insight::{Insight, InsightVariation, MetricInsight, VariationInsight};
pub use segment::{Segment, SegmentRule};
pub use user::{CustomizedProperty, EndUser, StoredAttributes};
