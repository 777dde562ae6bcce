//! A per-environment snapshot: every flag compiled once, every segment compiled once, and the server `full`
//! payload serialized once per version and shared as bytes by every session.
//!
//! Snapshots are immutable and shared as `Arc<EnvSnapshot>`: a change builds a new snapshot that shares every
//! untouched flag and segment with the old one, so sessions keep reading a consistent version while the hub swaps
//! in the next. Applying a change is idempotent: anything not newer than what is held is ignored.

mod payload;

pub use payload::{client_flag, server_patch};

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use bytestring::ByteString;
use uuid::Uuid;
use vane_schema::wire::sdk::VariationOption;
use vane_schema::wire::time::unix_ms;
use vane_schema::wire::{FeatureFlag, Segment};

use crate::eval::{CompiledFlag, CompiledSegment, Segments};

/// One flag of a snapshot: compiled for evaluation, with what client payloads need precomputed.
#[derive(Debug)]
pub struct SnapFlag {
    /// The compiled flag (holds the raw flag too).
    compiled: CompiledFlag,
    /// `variationOptions` as client SDKs receive them.
    options: Vec<VariationOption<'static>>,
    /// `updatedAt` in Unix ms: the SDK-visible version.
    updated_ms: i64,
}

impl SnapFlag {
    /// Compiles a flag.
    pub fn new(flag: &FeatureFlag) -> Self {
        let options = flag
            .variations
            .iter()
            .map(|v| VariationOption { id: v.id.clone().into(), value: v.value.clone().into() })
            .collect();
        Self { compiled: CompiledFlag::compile(flag), options, updated_ms: unix_ms(&flag.updated_at) }
    }

    /// The raw flag.
    pub fn flag(&self) -> &FeatureFlag {
        self.compiled.flag()
    }

    /// The compiled flag.
    pub fn compiled(&self) -> &CompiledFlag {
        &self.compiled
    }

    /// `updatedAt` in Unix ms.
    pub fn updated_ms(&self) -> i64 {
        self.updated_ms
    }
}

/// The result of [`EnvSnapshot::with_segment`].
#[derive(Debug)]
pub struct SegmentApplied {
    /// The new snapshot.
    pub snapshot: EnvSnapshot,
    /// Flags that reference the segment (client SDKs re-evaluate them).
    pub affected: Vec<Arc<SnapFlag>>,
    /// Flags the change bumped and that were applied (server SDKs receive them).
    pub changed: Vec<Arc<SnapFlag>>,
}

/// Everything a node knows about one environment, at one version.
#[derive(Debug)]
pub struct EnvSnapshot {
    /// The environment.
    env_id: Uuid,
    /// Flags by id.
    flags: HashMap<Uuid, Arc<SnapFlag>>,
    /// Compiled segments by id (also what evaluation reads).
    segments: Segments,
    /// The server `full` frame, serialized on first use and then shared.
    server_full: OnceLock<ByteString>,
}

impl EnvSnapshot {
    /// Compiles a whole environment.
    pub fn new(env_id: Uuid, flags: &[FeatureFlag], segments: &[Segment]) -> Self {
        let flags = flags.iter().map(|f| (f.id, Arc::new(SnapFlag::new(f)))).collect();
        let segments = segments.iter().map(|s| (s.id, Arc::new(CompiledSegment::compile(s)))).collect();
        Self { env_id, flags, segments, server_full: OnceLock::new() }
    }

    /// An environment with nothing in it yet.
    pub fn empty(env_id: Uuid) -> Self {
        Self::new(env_id, &[], &[])
    }

    /// The environment id.
    pub fn env_id(&self) -> Uuid {
        self.env_id
    }

    /// Number of flags.
    pub fn flag_count(&self) -> usize {
        self.flags.len()
    }

    /// The compiled segments, for evaluation.
    pub fn segments(&self) -> &Segments {
        &self.segments
    }

    /// Every flag, in no particular order.
    pub fn flags(&self) -> impl Iterator<Item = &Arc<SnapFlag>> {
        self.flags.values()
    }

    /// The newest `updatedAt` (ms) of any flag or segment: what an up-to-date SDK sends as its timestamp.
    pub fn version(&self) -> i64 {
        let flags = self.flags.values().map(|f| f.updated_ms);
        let segments = self.segments.values().map(|s| unix_ms(&s.segment().updated_at));
        flags.chain(segments).max().unwrap_or(0)
    }

    /// The snapshot with `flag` applied, and the new compiled flag; `None` when the snapshot already holds this
    /// version or a newer one (duplicate or out-of-order delivery).
    pub fn with_flag(&self, flag: &FeatureFlag) -> Option<(Self, Arc<SnapFlag>)> {
        if self.flags.get(&flag.id).is_some_and(|held| held.flag().updated_at >= flag.updated_at) {
            return None;
        }
        let compiled = Arc::new(SnapFlag::new(flag));
        let mut flags = self.flags.clone();
        flags.insert(flag.id, compiled.clone());
        Some((
            Self { env_id: self.env_id, flags, segments: self.segments.clone(), server_full: OnceLock::new() },
            compiled,
        ))
    }

    /// The snapshot with `segment` applied together with the flags its change bumped (those of `bumped` newer
    /// than held). Returns the snapshot, the flags whose evaluation the change can affect (for client pushes) and
    /// the bumped flags that were applied (for server pushes); `None` when the segment is not newer.
    pub fn with_segment(&self, segment: &Segment, bumped: &[FeatureFlag]) -> Option<SegmentApplied> {
        if self.segments.get(&segment.id).is_some_and(|held| held.segment().updated_at >= segment.updated_at) {
            return None;
        }
        let mut segments = self.segments.clone();
        segments.insert(segment.id, Arc::new(CompiledSegment::compile(segment)));
        let mut flags = self.flags.clone();
        let mut changed = Vec::new();
        for flag in bumped.iter().filter(|f| f.env_id == self.env_id) {
            if flags.get(&flag.id).is_none_or(|held| held.flag().updated_at < flag.updated_at) {
                let compiled = Arc::new(SnapFlag::new(flag));
                flags.insert(flag.id, compiled.clone());
                changed.push(compiled);
            }
        }
        let affected = flags.values().filter(|f| f.compiled.segment_ids().contains(&segment.id)).cloned().collect();
        let snapshot = Self { env_id: self.env_id, flags, segments, server_full: OnceLock::new() };
        Some(SegmentApplied { snapshot, affected, changed })
    }

    /// Flags changed after `timestamp` (ms, strict `>`), or all of them for 0.
    fn flags_after(&self, timestamp: i64) -> impl Iterator<Item = &Arc<SnapFlag>> {
        self.flags.values().filter(move |f| timestamp == 0 || f.updated_ms > timestamp)
    }

    /// Segments changed after `timestamp` (ms, strict `>`), or all of them for 0.
    fn segments_after(&self, timestamp: i64) -> impl Iterator<Item = &Segment> {
        self.segments
            .values()
            .map(|s| s.segment())
            .filter(move |s| timestamp == 0 || unix_ms(&s.updated_at) > timestamp)
    }
}

#[cfg(test)]
mod tests;
