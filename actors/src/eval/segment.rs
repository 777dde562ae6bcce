//! Compiled segments and the per-environment segment map (featbit-protocol.md §5.3, §5.7).
//!
//! A segment is compiled on its own, so a segment change is applied by swapping one entry of [`Segments`];
//! flags hold segment *ids*, never compiled segments, and need no recompilation. Membership: `excluded` →
//! `included` → any rule whose conditions all match. Archived segments are evaluated like live ones, as FeatBit
//! does.

use std::sync::Arc;

use foldhash::{HashMap, HashSet};
use uuid::Uuid;
use vane_schema::wire::Segment;

use super::condition::Condition;
use super::user::EvalUser;

/// The compiled segments of one environment, keyed by segment id. A referenced id that is not in the map is a
/// segment with no members.
pub type Segments = HashMap<Uuid, Arc<CompiledSegment>>;

/// A segment ready for evaluation.
#[derive(Debug)]
pub struct CompiledSegment {
    /// The segment as loaded.
    segment: Segment,
    /// Keys that are never members (checked first).
    excluded: HashSet<Box<str>>,
    /// Keys that are always members unless excluded.
    included: HashSet<Box<str>>,
    /// Rules; each is a conjunction (empty = everyone).
    rules: Box<[Box<[Condition]>]>,
}

impl CompiledSegment {
    /// Compiles `segment`. Never fails: malformed conditions compile to non-matching ones.
    pub fn compile(segment: &Segment) -> Self {
        let set = |keys: &[String]| keys.iter().map(|k| k.as_str().into()).collect();
        Self {
            segment: segment.clone(),
            excluded: set(&segment.excluded),
            included: set(&segment.included),
            rules: segment.rules.iter().map(|r| r.conditions.iter().map(Condition::compile_plain).collect()).collect(),
        }
    }

    /// The segment this was compiled from.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// The segment's id (its key in [`Segments`]).
    pub fn id(&self) -> Uuid {
        self.segment.id
    }

    /// Whether `user` is a member.
    pub fn contains(&self, user: &EvalUser<'_>) -> bool {
        let key = user.user().key_id.as_str();
        if self.excluded.contains(key) {
            return false;
        }
        if self.included.contains(key) {
            return true;
        }
        // Segment rules hold no segment conditions (FeatBit does not nest them), so no map is passed down.
        self.rules.iter().any(|rule| rule.iter().all(|c| c.matches(user, None)))
    }
}

/// Compiles a list of segments into an environment's map (a later duplicate id replaces an earlier one).
pub fn compile_segments<'s>(segments: impl IntoIterator<Item = &'s Segment>) -> Segments {
    segments.into_iter().map(|s| (s.id, Arc::new(CompiledSegment::compile(s)))).collect()
}
