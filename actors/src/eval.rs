//! The flag evaluator: FeatBit's server-side algorithm (featbit-protocol.md §5), bit-exact, without I/O.
//!
//! Flags and segments are compiled once when loaded or changed ([`CompiledFlag::compile`],
//! [`CompiledSegment::compile`]); [`evaluate`] then allocates nothing and returns an [`Evaluation`] that borrows
//! from the compiled flag. An environment's segments live in a [`Segments`] map of `Arc`s, so a segment change
//! swaps one entry, and [`CompiledFlag::segment_ids`] says which flags it affects.
//!
//! Where the reference server throws (invalid regex, malformed list, missing segment or field), the condition is
//! simply false (§5.7): evaluation never fails and never panics.
//!
//! Layout: `flag` (order of evaluation), `condition` (operators), `number` (.NET number parsing), `pattern`
//! (.NET regex semantics), `dispatch` (percentage rollout, experiments), `segment` (membership), `user` (the
//! user's properties indexed once per evaluation pass).
//!
//! Lookups during evaluation (target keys, segment ids and key lists, `IsOneOf` sets) use `foldhash` rather than
//! SipHash: every table is built from management data, and a caller controls only the key looked up, which cannot
//! degrade a table it did not build; a 3,000-flag sync does several thousand such lookups.

mod condition;
mod dispatch;
mod flag;
mod number;
mod pattern;
mod segment;
#[cfg(test)]
mod tests;
mod user;

#[cfg(test)]
use dispatch::in_rollout;
pub use dispatch::rollout_of_key;
pub use flag::CompiledFlag;
pub(crate) use number::parse_number;
pub use segment::{CompiledSegment, Segments, compile_segments};
pub use user::EvalUser;
use vane_schema::wire::{EndUser, Variation};

/// The 16 operators FeatBit defines (§5.3); any other `op` never matches, and the management API rejects it.
pub const OPERATORS: [&str; 16] = [
    "Equal",
    "NotEqual",
    "Contains",
    "NotContain",
    "StartsWith",
    "EndsWith",
    "MatchRegex",
    "NotMatchRegex",
    "IsOneOf",
    "NotOneOf",
    "IsTrue",
    "IsFalse",
    "LessThan",
    "LessEqualThan",
    "BiggerThan",
    "BiggerEqualThan",
];

/// Whether `pattern` compiles as a FeatBit (.NET-syntax) regular expression; the management API rejects the rest.
pub fn is_valid_regex(pattern: &str) -> bool {
    pattern::Pattern::compile(pattern).is_some()
}

/// Evaluates `flag` for `user` against the environment's `segments`. To evaluate many flags for one user, build
/// one [`EvalUser`] and call [`CompiledFlag::evaluate`], so its properties are indexed once.
pub fn evaluate<'a>(flag: &'a CompiledFlag, segments: &Segments, user: &EndUser) -> Evaluation<'a> {
    flag.evaluate(segments, &EvalUser::new(user))
}

/// The result of evaluating one flag for one user (what ELS sends as `variation`, `variationId`, `matchReason`
/// and `sendToExperiment`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation<'a> {
    /// The served variation: `None` for an archived flag or a dangling variation id; the empty variation
    /// (`id` and `value` both `""`) when no rollout range matched.
    pub variation: Option<&'a Variation>,
    /// Why this variation was served.
    pub reason: Reason<'a>,
    /// Whether the user takes part in the flag's experiment.
    pub send_to_experiment: bool,
}

impl<'a> Evaluation<'a> {
    /// The served variation's id (`variationId` on the wire).
    pub fn variation_id(&self) -> Option<&'a str> {
        self.variation.map(|v| v.id.as_str())
    }

    /// The served value (`variation` on the wire).
    pub fn value(&self) -> Option<&'a str> {
        self.variation.map(|v| v.value.as_str())
    }
}

/// The match reason (§5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason<'a> {
    /// `flag archived`.
    Archived,
    /// `flag disabled`.
    Disabled,
    /// `targeted`: the user key is listed in the flag's individual targeting.
    Targeted,
    /// A rule matched; the reason on the wire is the rule's name.
    Rule(&'a str),
    /// `default`: the fallthrough split.
    Default,
}

impl<'a> Reason<'a> {
    /// The exact `matchReason` string.
    pub fn as_str(&self) -> &'a str {
        match *self {
            Self::Archived => "flag archived",
            Self::Disabled => "flag disabled",
            Self::Targeted => "targeted",
            Self::Rule(name) => name,
            Self::Default => "default",
        }
    }
}

impl std::fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
