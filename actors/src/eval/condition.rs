//! Compiled conditions and the 16 operators (featbit-protocol.md §5.2–§5.3, §5.7).
//!
//! Everything that depends only on the flag is done once in [`Condition::compile`]: the operator name is resolved,
//! rule numbers are parsed, regexes built, `IsOneOf` lists and segment-id lists decoded. A condition whose rule
//! value would make the reference throw (invalid regex, malformed list) or can never match (`null` value, unknown
//! operator, unparsable number) compiles to [`Condition::Never`].

use std::sync::Arc;

use foldhash::HashSet;
use uuid::Uuid;
use vane_schema::wire;

use super::number::parse_number;
use super::pattern::Pattern;
use super::segment::Segments;
use super::user::EvalUser;

/// `property` of a condition that requires membership of any listed segment.
pub(crate) const IN_SEGMENT: &str = "User is in segment";
/// `property` of a condition that forbids membership of every listed segment.
pub(crate) const NOT_IN_SEGMENT: &str = "User is not in segment";

/// A user attribute, resolved once from the property name (`valueOf`, §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attr {
    /// A null, empty or white-space property name: always `""`.
    Blank,
    /// `keyId`.
    KeyId,
    /// `name`, which may be absent (then every operator is false).
    Name,
    /// The first custom property with this exact name, `""` if there is none.
    Custom(Box<str>),
}

impl Attr {
    /// Resolves a property name.
    pub(crate) fn of(property: &str) -> Self {
        match property {
            p if p.trim().is_empty() => Self::Blank,
            "keyId" => Self::KeyId,
            "name" => Self::Name,
            p => Self::Custom(p.into()),
        }
    }

    /// The user's value; `None` only for an absent `name`.
    pub(crate) fn value<'u>(&self, user: &EvalUser<'u>) -> Option<&'u str> {
        match self {
            Self::Blank => Some(""),
            Self::KeyId => Some(&user.user().key_id),
            Self::Name => user.user().name.as_deref(),
            Self::Custom(p) => Some(user.custom(p)),
        }
    }
}

/// Ordinal string tests. FeatBit's `StartsWith`/`EndsWith` use the invariant culture, which differs from ordinal
/// only for Unicode ignorable characters and canonical equivalents (§5.3); ordinal is what users expect of keys and
/// ids, and it is what every SDK does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextOp {
    Equal,
    NotEqual,
    Contains,
    NotContain,
    StartsWith,
    EndsWith,
}

/// IEEE comparisons of the user's number with the rule's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumOp {
    Less,
    LessEqual,
    Bigger,
    BiggerEqual,
}

/// One compiled condition.
#[derive(Debug)]
pub(crate) enum Condition {
    /// Never matches (null rule value, unknown operator, invalid regex, malformed list, unparsable number).
    Never,
    /// Ordinal string test against the rule value.
    Text { attr: Attr, op: TextOp, arg: Box<str> },
    /// Numeric comparison; the rule side is pre-parsed.
    Number { attr: Attr, op: NumOp, arg: f64 },
    /// `IsTrue` (`want: true`) / `IsFalse`.
    Bool { attr: Attr, want: bool },
    /// `MatchRegex` / `NotMatchRegex` (`negate`).
    Regex { attr: Attr, pattern: Arc<Pattern>, negate: bool },
    /// `IsOneOf` / `NotOneOf` (`negate`) over a decoded JSON list.
    OneOf { attr: Attr, set: HashSet<Box<str>>, negate: bool },
    /// `NotOneOf` over a JSON `null` list: true for any non-null user value.
    NotOneOfNull { attr: Attr },
    /// `User is in segment` / `User is not in segment` (`negate`); ids that are not UUIDs can name no segment and
    /// are dropped.
    Segment { ids: Box<[Uuid]>, negate: bool },
}

impl Condition {
    /// Compiles a flag-rule condition (segment conditions allowed).
    pub(crate) fn compile(c: &wire::Condition) -> Self {
        match c.property.as_str() {
            IN_SEGMENT => Self::segment(c.value.as_deref(), false),
            NOT_IN_SEGMENT => Self::segment(c.value.as_deref(), true),
            _ => Self::compile_plain(c),
        }
    }

    /// Compiles a segment-rule condition: nested segment conditions are not supported by FeatBit and fall out as
    /// a `null` operator, i.e. [`Condition::Never`].
    pub(crate) fn compile_plain(c: &wire::Condition) -> Self {
        let (Some(op), Some(value)) = (c.op.as_deref(), c.value.as_deref()) else {
            return Self::Never;
        };
        let attr = Attr::of(&c.property);
        let text = |op| Self::Text { attr: attr.clone(), op, arg: value.into() };
        let num = |op| parse_number(value).map_or(Self::Never, |arg| Self::Number { attr: attr.clone(), op, arg });
        let regex = |negate| {
            Pattern::shared(value).map_or(Self::Never, |pattern| Self::Regex { attr: attr.clone(), pattern, negate })
        };
        match op {
            "Equal" => text(TextOp::Equal),
            "NotEqual" => text(TextOp::NotEqual),
            "Contains" => text(TextOp::Contains),
            "NotContain" => text(TextOp::NotContain),
            "StartsWith" => text(TextOp::StartsWith),
            "EndsWith" => text(TextOp::EndsWith),
            "LessThan" => num(NumOp::Less),
            "LessEqualThan" => num(NumOp::LessEqual),
            "BiggerThan" => num(NumOp::Bigger),
            "BiggerEqualThan" => num(NumOp::BiggerEqual),
            "IsTrue" => Self::Bool { attr, want: true },
            "IsFalse" => Self::Bool { attr, want: false },
            "MatchRegex" => regex(false),
            "NotMatchRegex" => regex(true),
            "IsOneOf" => Self::one_of(attr, value, false),
            "NotOneOf" => Self::one_of(attr, value, true),
            _ => Self::Never,
        }
    }

    /// `IsOneOf`/`NotOneOf`: the value must be a JSON array of strings (`null` elements allowed, as .NET's
    /// `List<string>` allows them) or the literal `null`.
    fn one_of(attr: Attr, value: &str, negate: bool) -> Self {
        match serde_json::from_str::<Option<Vec<Option<String>>>>(value) {
            Ok(Some(list)) => Self::OneOf { attr, set: list.into_iter().flatten().map(Into::into).collect(), negate },
            Ok(None) if negate => Self::NotOneOfNull { attr },
            Ok(None) | Err(_) => Self::Never,
        }
    }

    /// Segment conditions: a JSON array of ids (a `null` list is empty); anything else never matches.
    fn segment(value: Option<&str>, negate: bool) -> Self {
        let Some(Ok(list)) = value.map(serde_json::from_str::<Option<Vec<Option<String>>>>) else {
            return Self::Never;
        };
        let ids = list.into_iter().flatten().flatten().filter_map(|id| Uuid::parse_str(&id).ok()).collect();
        Self::Segment { ids, negate }
    }

    /// The segment ids this condition references (empty for other conditions).
    pub(crate) fn segment_ids(&self) -> &[Uuid] {
        match self {
            Self::Segment { ids, .. } => ids,
            _ => &[],
        }
    }

    /// Whether `user` satisfies the condition; segment conditions look segments up in `segments` (`None` inside
    /// segment rules, where they cannot occur).
    pub(crate) fn matches(&self, user: &EvalUser<'_>, segments: Option<&Segments>) -> bool {
        match self {
            Self::Never => false,
            Self::Text { attr, op, arg } => attr.value(user).is_some_and(|v| text(*op, v, arg)),
            Self::Number { attr, op, arg } => {
                attr.value(user).and_then(parse_number).is_some_and(|v| num(*op, v, *arg))
            }
            Self::Bool { attr, want } => {
                attr.value(user).is_some_and(|v| v.eq_ignore_ascii_case(if *want { "true" } else { "false" }))
            }
            Self::Regex { attr, pattern, negate } => attr.value(user).is_some_and(|v| pattern.is_match(v) != *negate),
            Self::OneOf { attr, set, negate } => attr.value(user).is_some_and(|v| set.contains(v) != *negate),
            Self::NotOneOfNull { attr } => attr.value(user).is_some(),
            Self::Segment { ids, negate } => {
                let member = |id| segments.and_then(|m| m.get(id)).is_some_and(|s| s.contains(user));
                let any = ids.iter().any(member);
                any != *negate
            }
        }
    }
}

fn text(op: TextOp, user: &str, rule: &str) -> bool {
    match op {
        TextOp::Equal => user == rule,
        TextOp::NotEqual => user != rule,
        TextOp::Contains => user.contains(rule),
        TextOp::NotContain => !user.contains(rule),
        TextOp::StartsWith => user.starts_with(rule),
        TextOp::EndsWith => user.ends_with(rule),
    }
}

fn num(op: NumOp, user: f64, rule: f64) -> bool {
    match op {
        NumOp::Less => user < rule,
        NumOp::LessEqual => user <= rule,
        NumOp::Bigger => user > rule,
        NumOp::BiggerEqual => user >= rule,
    }
}
