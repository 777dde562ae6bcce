//! Compiled flags and the evaluation order (featbit-protocol.md §5.1): archived → disabled → individual
//! targeting → rules in order → fallthrough.
//!
//! A [`CompiledFlag`] owns its [`FeatureFlag`] and refers to variations by index, so an [`Evaluation`] borrows the
//! served variation and the rule name from it and evaluation allocates nothing.

use foldhash::HashMap;
use uuid::Uuid;
use vane_schema::wire::{FeatureFlag, Variation};

use super::condition::Condition;
use super::dispatch::{Dispatch, Dispatched};
use super::segment::Segments;
use super::user::EvalUser;
use super::{Evaluation, Reason};

/// What FeatBit serves when no rollout range matches: a variation with empty id and value.
static EMPTY_VARIATION: Variation = Variation { id: String::new(), name: String::new(), value: String::new() };

/// A flag ready for evaluation. Compiling one flag never touches another; segment changes need no recompilation
/// (see [`CompiledFlag::segment_ids`]).
#[derive(Debug)]
pub struct CompiledFlag {
    /// The flag as loaded; served variations and rule names are borrowed from it.
    flag: FeatureFlag,
    /// Index of `disabledVariationId` in `flag.variations`.
    disabled: Option<usize>,
    /// User key → variation index of the first target entry listing it (`None` if that entry's id dangles).
    targets: HashMap<Box<str>, Option<usize>>,
    /// Rules in order, parallel to `flag.rules`.
    rules: Box<[Rule]>,
    /// The split for users no target or rule matched.
    fallthrough: Dispatch,
    /// Every segment id referenced by a rule condition, sorted and deduplicated.
    segment_ids: Box<[Uuid]>,
}

/// A compiled targeting rule.
#[derive(Debug)]
struct Rule {
    /// All must match; empty matches everyone.
    conditions: Box<[Condition]>,
    dispatch: Dispatch,
}

impl CompiledFlag {
    /// Compiles `flag`: builds regexes, decodes lists, parses numbers and resolves variation ids. Never fails;
    /// whatever the reference would throw on compiles to a non-matching condition.
    pub fn compile(flag: &FeatureFlag) -> Self {
        let flag = flag.clone();
        let index = |id: &str| flag.variations.iter().position(|v| v.id == id);
        let mut targets = HashMap::default();
        for target in &flag.target_users {
            let variation = index(&target.variation_id);
            for key in &target.key_ids {
                targets.entry(key.as_str().into()).or_insert(variation);
            }
        }
        let rules: Box<[Rule]> = flag
            .rules
            .iter()
            .map(|r| Rule {
                conditions: r.conditions.iter().map(Condition::compile).collect(),
                dispatch: Dispatch::compile(
                    r.dispatch_key.as_deref(),
                    r.included_in_expt,
                    &r.variations,
                    &flag.variations,
                ),
            })
            .collect();
        let ft = &flag.fallthrough;
        let fallthrough =
            Dispatch::compile(ft.dispatch_key.as_deref(), ft.included_in_expt, &ft.variations, &flag.variations);
        let mut segment_ids: Vec<Uuid> =
            rules.iter().flat_map(|r| r.conditions.iter().flat_map(Condition::segment_ids)).copied().collect();
        segment_ids.sort_unstable();
        segment_ids.dedup();
        let disabled = index(&flag.disabled_variation_id);
        Self { disabled, targets, rules, fallthrough, segment_ids: segment_ids.into(), flag }
    }

    /// The flag this was compiled from.
    pub fn flag(&self) -> &FeatureFlag {
        &self.flag
    }

    /// The segments this flag's rules reference: when one of them changes, only flags listing it need
    /// re-evaluation.
    pub fn segment_ids(&self) -> &[Uuid] {
        &self.segment_ids
    }

    /// Evaluates the flag for `user` (see [`super::evaluate`]).
    pub fn evaluate<'a>(&'a self, segments: &Segments, user: &EvalUser<'_>) -> Evaluation<'a> {
        let flag = &self.flag;
        if flag.is_archived {
            return Evaluation { variation: None, reason: Reason::Archived, send_to_experiment: false };
        }
        if !flag.is_enabled {
            return Evaluation {
                variation: self.variation(self.disabled),
                reason: Reason::Disabled,
                send_to_experiment: false,
            };
        }
        if let Some(&target) = self.targets.get(user.user().key_id.as_str()) {
            let send_to_experiment = flag.expt_include_all_targets;
            return Evaluation { variation: self.variation(target), reason: Reason::Targeted, send_to_experiment };
        }
        let matched = self
            .rules
            .iter()
            .zip(&flag.rules)
            .find(|(r, _)| r.conditions.iter().all(|c| c.matches(user, Some(segments))));
        match matched {
            Some((rule, wire)) => self.dispatch(&rule.dispatch, user, Reason::Rule(&wire.name)),
            None => self.dispatch(&self.fallthrough, user, Reason::Default),
        }
    }

    fn dispatch<'a>(&'a self, dispatch: &Dispatch, user: &EvalUser<'_>, reason: Reason<'a>) -> Evaluation<'a> {
        match dispatch.dispatch(&self.flag.key, user, self.flag.expt_include_all_targets) {
            Dispatched::Nothing => Evaluation {
                variation: Some(&EMPTY_VARIATION),
                reason,
                // Nothing chosen: only "all targets" can still send the user to the experiment.
                send_to_experiment: self.flag.expt_include_all_targets,
            },
            Dispatched::Chosen { variation, send_to_experiment } => {
                Evaluation { variation: self.variation(variation), reason, send_to_experiment }
            }
        }
    }

    fn variation(&self, index: Option<usize>) -> Option<&Variation> {
        index.and_then(|i| self.flag.variations.get(i))
    }
}
