//! What the management API accepts: data every SDK and the evaluator handle as intended. Rejecting bad data on
//! write is what makes "a condition that cannot be evaluated is false" a corner case instead of a surprise.

use std::collections::HashSet;

use uuid::Uuid;
use vane_schema::wire::{Condition, FeatureFlag, RolloutVariation, Segment};

use super::AdminError;
use crate::eval::{OPERATORS, is_valid_regex, parse_number};

const IN_SEGMENT: &str = "User is in segment";
const NOT_IN_SEGMENT: &str = "User is not in segment";
/// Tolerance when checking that rollout ranges tile `[0, 1]`.
const EPSILON: f64 = 1e-9;

fn invalid(code: &'static str, message: impl Into<String>) -> AdminError {
    AdminError::Invalid { code, message: message.into() }
}

/// Flag and segment keys: `^[a-zA-Z0-9._-]+$`, at most 128 characters.
pub fn key(key: &str) -> Result<(), AdminError> {
    let ok =
        !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok { Ok(()) } else { Err(AdminError::BadKey(key.to_owned())) }
}

/// A whole flag, against the environment's segment ids.
pub fn flag(f: &FeatureFlag, segments: &HashSet<Uuid>) -> Result<(), AdminError> {
    variations(f)?;
    let known: HashSet<&str> = f.variations.iter().map(|v| v.id.as_str()).collect();
    let exists = |id: &str, field: &str| {
        if known.contains(id) {
            Ok(())
        } else {
            Err(invalid("unknown_variation", format!("{field}: no variation with id {id:?}")))
        }
    };
    exists(&f.disabled_variation_id, "disabledVariationId")?;
    for (i, t) in f.target_users.iter().enumerate() {
        exists(&t.variation_id, &format!("targetUsers[{i}].variationId"))?;
    }
    for (i, rule) in f.rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        rollout(&rule.variations, &at, &exists)?;
        for (j, c) in rule.conditions.iter().enumerate() {
            condition(c, &format!("{at}.conditions[{j}]"), Some(segments))?;
        }
    }
    rollout(&f.fallthrough.variations, "fallthrough", &exists)
}

fn variations(f: &FeatureFlag) -> Result<(), AdminError> {
    if !matches!(f.variation_type.as_str(), "boolean" | "number" | "string" | "json") {
        return Err(invalid("invalid_variation_type", "variationType must be boolean, number, string or json"));
    }
    if f.variations.is_empty() {
        return Err(invalid("invalid_variations", "a flag needs at least one variation"));
    }
    let mut ids = HashSet::new();
    for v in &f.variations {
        if v.id.trim().is_empty() || !ids.insert(v.id.as_str()) {
            return Err(invalid(
                "invalid_variations",
                format!("variation ids must be non-empty and unique ({:?})", v.id),
            ));
        }
        let fits = match f.variation_type.as_str() {
            "boolean" => v.value == "true" || v.value == "false",
            "number" => v.value.trim().parse::<f64>().is_ok_and(f64::is_finite),
            "json" => serde_json::from_str::<serde_json::Value>(&v.value).is_ok(),
            _ => true,
        };
        if !fits {
            return Err(invalid("invalid_variations", format!("{:?} is not a {} value", v.value, f.variation_type)));
        }
    }
    Ok(())
}

/// Ranges within `[0, 1]` that tile it without gaps or overlaps, each naming a known variation.
fn rollout(
    split: &[RolloutVariation],
    at: &str,
    exists: &dyn Fn(&str, &str) -> Result<(), AdminError>,
) -> Result<(), AdminError> {
    if split.is_empty() {
        return Err(invalid("invalid_rollout", format!("{at}.variations: at least one variation is required")));
    }
    let mut ranges = Vec::with_capacity(split.len());
    for (i, v) in split.iter().enumerate() {
        exists(&v.id, &format!("{at}.variations[{i}].id"))?;
        let [min, max] = v.rollout[..] else {
            return Err(invalid("invalid_rollout", format!("{at}.variations[{i}].rollout must be [min, max]")));
        };
        if !(0.0..=1.0).contains(&min) || !(0.0..=1.0).contains(&max) || min > max {
            return Err(invalid("invalid_rollout", format!("{at}.variations[{i}].rollout must lie within [0, 1]")));
        }
        if v.expt_rollout.is_some_and(|e| !(0.0..=1.0).contains(&e)) {
            return Err(invalid("invalid_rollout", format!("{at}.variations[{i}].exptRollout must lie within [0, 1]")));
        }
        ranges.push((min, max));
    }
    ranges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut reach = 0.0;
    for (min, max) in ranges {
        if (min - reach).abs() > EPSILON && max > min {
            return Err(invalid(
                "invalid_rollout",
                format!("{at}: rollout ranges must cover [0, 1] without gaps or overlaps"),
            ));
        }
        reach = f64::max(reach, max);
    }
    if (reach - 1.0).abs() > EPSILON {
        return Err(invalid("invalid_rollout", format!("{at}: rollout ranges must cover [0, 1]")));
    }
    Ok(())
}

/// One condition; segment conditions are allowed only in flags (`segments` is `Some`).
fn condition(c: &Condition, at: &str, segments: Option<&HashSet<Uuid>>) -> Result<(), AdminError> {
    let value = c.value.as_deref();
    if let Some(ids) = segment_ids(c) {
        let Some(known) = segments else {
            return Err(invalid("invalid_condition", format!("{at}: segment rules cannot reference segments")));
        };
        let ids =
            ids.ok_or_else(|| invalid("invalid_condition", format!("{at}.value must be a JSON list of segment ids")))?;
        if ids.is_empty() {
            return Err(invalid("invalid_condition", format!("{at}.value lists no segment")));
        }
        return match ids.iter().find(|id| !known.contains(id)) {
            Some(id) => Err(invalid("unknown_segment", format!("{at}: no segment {id} in this environment"))),
            None => Ok(()),
        };
    }
    let op = c.op.as_deref().unwrap_or_default();
    if !OPERATORS.contains(&op) {
        return Err(invalid("unknown_operator", format!("{at}.op: unknown operator {op:?}")));
    }
    let Some(value) = value else { return Err(invalid("invalid_condition", format!("{at}.value is required"))) };
    match op {
        "MatchRegex" | "NotMatchRegex" if !is_valid_regex(value) => {
            Err(invalid("invalid_regex", format!("{at}.value: {value:?} is not a valid regular expression")))
        }
        "IsOneOf" | "NotOneOf" if serde_json::from_str::<Vec<String>>(value).is_err() => {
            Err(invalid("invalid_condition", format!("{at}.value must be a JSON list of strings")))
        }
        // The evaluator's grammar (.NET `double.TryParse`), so what is accepted is what is evaluated.
        "LessThan" | "LessEqualThan" | "BiggerThan" | "BiggerEqualThan" if parse_number(value).is_none() => {
            Err(invalid("invalid_condition", format!("{at}.value must be a number")))
        }
        _ => Ok(()),
    }
}

/// For a segment condition, the segment ids it lists (`Some(None)`: not a JSON list of ids); `None` otherwise.
pub fn segment_ids(c: &Condition) -> Option<Option<Vec<Uuid>>> {
    (c.property == IN_SEGMENT || c.property == NOT_IN_SEGMENT)
        .then(|| c.value.as_deref().and_then(|v| serde_json::from_str(v).ok()))
}

/// Whether any rule of `flag` references segment `id` (read from the raw conditions; nothing is compiled).
pub fn references_segment(flag: &FeatureFlag, id: Uuid) -> bool {
    flag.rules.iter().flat_map(|r| &r.conditions).filter_map(segment_ids).flatten().any(|ids| ids.contains(&id))
}

/// A whole segment.
pub fn segment(s: &Segment) -> Result<(), AdminError> {
    for (i, rule) in s.rules.iter().enumerate() {
        for (j, c) in rule.conditions.iter().enumerate() {
            condition(c, &format!("rules[{i}].conditions[{j}]"), None)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
