//! A small interpretive model of FeatBit evaluation with switchable SDK quirks, used to *explain* every
//! disagreement between Vane and a published SDK.
//!
//! With no quirk switched on the model is the server semantics (featbit-protocol.md §5) written a second time,
//! independently of `vane_actors::eval`: the test asserts that it agrees with Vane on every case. With all of an
//! SDK's quirks on, it must reproduce that SDK on every case. A disagreement between Vane and the SDK is then
//! attributed to the single quirk that reproduces the SDK's answer (or to the smallest combination that does).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;
use vane_actors::eval::rollout_of_key;
use vane_schema::wire::{Condition, RolloutVariation};

use super::generator::Case;

/// Which SDK is modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sdk {
    Node,
    Python,
}

/// A known deviation of an SDK's local evaluation (§5.8): one bit of the model.
pub struct Deviation {
    pub bit: u32,
    pub name: &'static str,
}

pub const N_UNDEFINED: u32 = 1;
pub const N_REGEX_REVERSED: u32 = 1 << 1;
pub const N_DISPATCH_UNDEFINED: u32 = 1 << 2;
pub const N_ARCHIVED: u32 = 1 << 3;
pub const N_NO_RANGE_DEFAULT: u32 = 1 << 4;
pub const N_PARSE_FLOAT: u32 = 1 << 5;
pub const N_ONE_OF_JS: u32 = 1 << 6;
pub const N_SEGMENT_LIST_JS: u32 = 1 << 7;

pub const P_NAME_REQUIRED: u32 = 1 << 8;
pub const P_HALF_OPEN_RANGES: u32 = 1 << 9;
pub const P_BUILTINS_CASE_INSENSITIVE: u32 = 1 << 10;
pub const P_MISSING_IS_NONE: u32 = 1 << 11;
pub const P_NOT_IS_NEGATION: u32 = 1 << 12;
pub const P_NUMBERS: u32 = 1 << 13;
pub const P_REGEX_ABORTS: u32 = 1 << 14;
pub const P_ONE_OF_LOOSE: u32 = 1 << 15;
pub const P_WHITESPACE_DISPATCH: u32 = 1 << 16;
pub const P_ARCHIVED_SEGMENTS: u32 = 1 << 17;
pub const P_IS_TRUE_IGNORES_NULL: u32 = 1 << 18;

/// node-server-sdk 1.3.0.
pub const NODE: &[Deviation] = &[
    Deviation { bit: N_UNDEFINED, name: "missing property or absent name is `undefined`, not \"\"" },
    Deviation { bit: N_REGEX_REVERSED, name: "regex arguments reversed (user value is the pattern)" },
    Deviation { bit: N_DISPATCH_UNDEFINED, name: "dispatch by a missing property appends \"undefined\"" },
    Deviation { bit: N_ARCHIVED, name: "archived flags evaluated like live ones" },
    Deviation { bit: N_NO_RANGE_DEFAULT, name: "no matching rollout range serves the SDK default" },
    Deviation { bit: N_PARSE_FLOAT, name: "numbers parsed with parseFloat, compared by sign(a - b)" },
    Deviation { bit: N_ONE_OF_JS, name: "IsOneOf/NotOneOf via JSON.parse + includes (substring on JSON strings)" },
    Deviation { bit: N_SEGMENT_LIST_JS, name: "segment-id lists via JSON.parse (malformed throws, non-lists lenient)" },
];

/// fb-python-sdk 1.2.1.
pub const PYTHON: &[Deviation] = &[
    Deviation { bit: P_NAME_REQUIRED, name: "users without a (non-blank) name are rejected" },
    Deviation { bit: P_HALF_OPEN_RANGES, name: "ranges [min, max), shortcut only for [0, 1], no range falls through" },
    Deviation { bit: P_BUILTINS_CASE_INSENSITIVE, name: "keyId/name/key looked up case-insensitively" },
    Deviation { bit: P_MISSING_IS_NONE, name: "a missing property is None, not \"\"" },
    Deviation { bit: P_NOT_IS_NEGATION, name: "negated operators are `not positive` (true on null/malformed)" },
    Deviation { bit: P_NUMBERS, name: "numbers via float() rounded to 5 decimals" },
    Deviation { bit: P_REGEX_ABORTS, name: "an invalid regex aborts the whole evaluation" },
    Deviation { bit: P_ONE_OF_LOOSE, name: "IsOneOf/NotOneOf via json.loads + `in` (substring on JSON strings)" },
    Deviation { bit: P_WHITESPACE_DISPATCH, name: "a white-space dispatchKey is used literally" },
    Deviation { bit: P_ARCHIVED_SEGMENTS, name: "archived segments never match" },
    Deviation { bit: P_IS_TRUE_IGNORES_NULL, name: "IsTrue/IsFalse ignore a null rule value" },
];

/// The model evaluation could not finish (the SDK threw): it serves its default.
struct Abort;

/// A user value as an SDK sees it.
#[derive(Clone, Copy)]
enum Val<'a> {
    Str(&'a str),
    /// Absent (`null`/`None`): every server operator is false.
    Null,
    /// JavaScript `undefined` (node only): passes node's null check.
    Undefined,
}

/// Evaluates `case` as `sdk` with `quirks` on; `None` = no value (SDK default, null variation), `Some("")` = the
/// empty variation, else the served variation id.
pub fn evaluate(case: &Case, sdk: Sdk, quirks: u32) -> Option<String> {
    Model { case, sdk, quirks }.flag().unwrap_or(None)
}

struct Model<'c> {
    case: &'c Case,
    sdk: Sdk,
    quirks: u32,
}

impl Model<'_> {
    fn on(&self, bit: u32) -> bool {
        self.quirks & bit != 0
    }

    fn flag(&self) -> Result<Option<String>, Abort> {
        let (f, user) = (&self.case.flag, &self.case.user);
        if self.on(P_NAME_REQUIRED) && user.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Ok(None);
        }
        if f.is_archived && !self.on(N_ARCHIVED) {
            return Ok(None);
        }
        if !f.is_enabled {
            return Ok(self.variation(&f.disabled_variation_id));
        }
        if let Some(t) = f.target_users.iter().find(|t| t.key_ids.contains(&user.key_id)) {
            return Ok(self.variation(&t.variation_id));
        }
        for rule in &f.rules {
            if self.all(&rule.conditions, true)? {
                match self.dispatch(rule.dispatch_key.as_deref(), &rule.variations) {
                    Some(id) => return Ok(self.variation(id)),
                    None if self.on(P_HALF_OPEN_RANGES) => break,
                    None => return Ok(self.no_range()),
                }
            }
        }
        let ft = &f.fallthrough;
        Ok(match self.dispatch(ft.dispatch_key.as_deref(), &ft.variations) {
            Some(id) => self.variation(id),
            None if self.on(P_HALF_OPEN_RANGES) => None,
            None => self.no_range(),
        })
    }

    fn no_range(&self) -> Option<String> {
        if self.on(N_NO_RANGE_DEFAULT) { None } else { Some(String::new()) }
    }

    fn variation(&self, id: &str) -> Option<String> {
        self.case.flag.variations.iter().any(|v| v.id == id).then(|| id.to_owned())
    }

    fn all(&self, conditions: &[Condition], allow_segments: bool) -> Result<bool, Abort> {
        for c in conditions {
            let segment = match c.property.as_str() {
                "User is in segment" if allow_segments => Some(false),
                "User is not in segment" if allow_segments => Some(true),
                _ => None,
            };
            let matched = match segment {
                Some(negate) => self.segment_condition(c.value.as_deref(), negate)?,
                None => self.condition(c)?,
            };
            if !matched {
                return Ok(false);
            }
        }
        Ok(true)
    }

    // === values ===

    fn value(&self, property: &str) -> Val<'_> {
        let user = &self.case.user;
        let custom = user.customized_properties.iter().find(|p| p.name == property).map(|p| p.value.as_str());
        let builtin = if self.on(P_BUILTINS_CASE_INSENSITIVE) {
            match property.to_lowercase().as_str() {
                "keyid" | "key" => Some(Val::Str(&user.key_id)),
                "name" => Some(user.name.as_deref().map_or(Val::Null, Val::Str)),
                _ => None,
            }
        } else {
            match property {
                p if p.trim().is_empty() && !self.on(P_MISSING_IS_NONE) && !self.on(N_UNDEFINED) => Some(Val::Str("")),
                "keyId" => Some(Val::Str(&user.key_id)),
                "name" if self.on(N_UNDEFINED) => Some(user.name.as_deref().map_or(Val::Undefined, Val::Str)),
                "name" => Some(user.name.as_deref().map_or(Val::Null, Val::Str)),
                _ => None,
            }
        };
        builtin.unwrap_or(match custom {
            Some(v) => Val::Str(v),
            None if self.on(N_UNDEFINED) => Val::Undefined,
            None if self.on(P_MISSING_IS_NONE) => Val::Null,
            None => Val::Str(""),
        })
    }

    fn dispatch<'a>(&self, key: Option<&str>, rollouts: &'a [RolloutVariation]) -> Option<&'a str> {
        let user = &self.case.user;
        let value: String = match key {
            None | Some("") => user.key_id.clone(),
            Some(k) if k.trim().is_empty() && !self.on(P_WHITESPACE_DISPATCH) => user.key_id.clone(),
            Some(k) if self.on(N_DISPATCH_UNDEFINED) => node_value(user, k).unwrap_or("undefined").to_owned(),
            Some(k) => match self.value(k) {
                Val::Str(s) => s.to_owned(),
                Val::Null | Val::Undefined => String::new(),
            },
        };
        let p = rollout_of_key(&format!("{}{value}", self.case.flag.key));
        rollouts
            .iter()
            .find(|r| r.rollout.len() >= 2 && self.in_range(r.rollout[0], r.rollout[1], p))
            .map(|r| r.id.as_str())
    }

    fn in_range(&self, min: f64, max: f64, p: f64) -> bool {
        if self.on(P_HALF_OPEN_RANGES) {
            return (min == 0.0 && max == 1.0) || (min <= p && p < max);
        }
        if min == 0.0 && 1.0 - max < 1e-5 {
            return true;
        }
        !(min == 0.0 && max == 0.0) && min <= p && p <= max
    }

    // === segments ===

    fn segment_condition(&self, value: Option<&str>, negate: bool) -> Result<bool, Abort> {
        let parsed: Option<Value> = value.and_then(|v| serde_json::from_str(v).ok());
        let server_list = parsed.as_ref().and_then(string_list);
        let ids: Vec<String> = match (&parsed, value) {
            (_, None) if self.on(N_SEGMENT_LIST_JS) => vec![], // JSON.parse(null) is null
            (None, Some(_)) if self.on(N_SEGMENT_LIST_JS) => return Err(Abort),
            (Some(Value::Array(items)), _) if self.on(N_SEGMENT_LIST_JS) || self.on(P_NOT_IS_NEGATION) => {
                items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect()
            }
            _ => match &server_list {
                Some(ids) => ids.clone(),
                // Malformed for the server: the condition is false whichever way it is negated.
                None if self.on(N_SEGMENT_LIST_JS) || self.on(P_NOT_IS_NEGATION) => vec![],
                None => return Ok(false),
            },
        };
        let mut any = false;
        for id in &ids {
            match self.in_segment(id) {
                Ok(true) => {
                    any = true;
                    break;
                }
                Ok(false) => {}
                // python catches errors of the whole membership test (`_in_segment`): not a member.
                Err(_) if self.sdk == Sdk::Python => break,
                Err(abort) => return Err(abort),
            }
        }
        Ok(any != negate)
    }

    fn in_segment(&self, id: &str) -> Result<bool, Abort> {
        let Some(s) = self.case.segments.iter().find(|s| s.id.to_string() == id) else { return Ok(false) };
        if s.is_archived && self.on(P_ARCHIVED_SEGMENTS) {
            return Ok(false);
        }
        let key = &self.case.user.key_id;
        if s.excluded.contains(key) {
            return Ok(false);
        }
        if s.included.contains(key) {
            return Ok(true);
        }
        for rule in &s.rules {
            if self.all(&rule.conditions, false)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    // === operators ===

    fn condition(&self, c: &Condition) -> Result<bool, Abort> {
        let op = c.op.as_deref().unwrap_or("");
        let negated = matches!(op, "NotEqual" | "NotContain" | "NotOneOf" | "NotMatchRegex");
        if self.sdk == Sdk::Python && negated && self.on(P_NOT_IS_NEGATION) {
            let positive = match op {
                "NotEqual" => "Equal",
                "NotContain" => "Contains",
                "NotOneOf" => "IsOneOf",
                _ => "MatchRegex",
            };
            let flipped = Condition { op: Some(positive.to_owned()), ..c.clone() };
            return Ok(!self.condition(&flipped)?);
        }
        if matches!(op, "IsTrue" | "IsFalse") && self.on(P_IS_TRUE_IGNORES_NULL) {
            let want = if op == "IsTrue" { "true" } else { "false" };
            return Ok(matches!(self.value(&c.property), Val::Str(v) if v.eq_ignore_ascii_case(want)));
        }
        let Some(rule) = c.value.as_deref() else { return Ok(false) };
        match self.value(&c.property) {
            Val::Null => Ok(false),
            Val::Undefined => undefined_operator(op, rule),
            Val::Str(user) => self.operator(op, user, rule),
        }
    }

    fn operator(&self, op: &str, user: &str, rule: &str) -> Result<bool, Abort> {
        Ok(match op {
            "Equal" => user == rule,
            "NotEqual" => user != rule,
            "Contains" => user.contains(rule),
            "NotContain" => !user.contains(rule),
            "StartsWith" => user.starts_with(rule),
            "EndsWith" => user.ends_with(rule),
            "IsTrue" => user.eq_ignore_ascii_case("true"),
            "IsFalse" => user.eq_ignore_ascii_case("false"),
            // An invalid pattern is false for the server whichever way it is negated.
            "MatchRegex" | "NotMatchRegex" => self.regex(user, rule)?.is_some_and(|m| m != (op == "NotMatchRegex")),
            "IsOneOf" | "NotOneOf" => return self.one_of(user, rule, op == "NotOneOf"),
            "LessThan" | "LessEqualThan" | "BiggerThan" | "BiggerEqualThan" => self.numbers(op, user, rule),
            _ => false,
        })
    }

    fn regex(&self, user: &str, rule: &str) -> Result<Option<bool>, Abort> {
        let (pattern, input) = if self.on(N_REGEX_REVERSED) { (user, rule) } else { (rule, user) };
        match compiled(pattern) {
            Some(re) => Ok(Some(re.is_match(input).unwrap_or(false))),
            None if self.on(N_REGEX_REVERSED) || self.on(P_REGEX_ABORTS) => Err(Abort),
            None => Ok(None),
        }
    }

    fn one_of(&self, user: &str, rule: &str, negate: bool) -> Result<bool, Abort> {
        let parsed: Option<Value> = serde_json::from_str(rule).ok();
        if self.on(N_ONE_OF_JS) || self.on(P_ONE_OF_LOOSE) {
            return Ok(match parsed {
                Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(user)) != negate,
                Some(Value::String(s)) => s.contains(user) != negate,
                _ => false,
            });
        }
        Ok(match parsed {
            Some(Value::Null) => negate,
            Some(v) => string_list(&v).is_some_and(|list| list.iter().any(|i| i == user) != negate),
            None => false,
        })
    }

    fn numbers(&self, op: &str, user: &str, rule: &str) -> bool {
        let parse = |s: &str| {
            if self.on(N_PARSE_FLOAT) {
                Some(js_parse_float(s))
            } else if self.on(P_NUMBERS) {
                python_float(s).map(round5)
            } else {
                dotnet_number(s)
            }
        };
        let (Some(a), Some(b)) = (parse(user), parse(rule)) else { return false };
        if a.is_nan() || b.is_nan() || (self.on(N_PARSE_FLOAT) && (a - b).is_nan()) {
            return false;
        }
        match op {
            "LessThan" => a < b,
            "LessEqualThan" => a <= b,
            "BiggerThan" => a > b,
            _ => a >= b,
        }
    }
}

/// Patterns compiled once per thread: the pools are small, and compiling per evaluation dominates debug builds.
fn compiled(pattern: &str) -> Option<Rc<fancy_regex::Regex>> {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Option<Rc<fancy_regex::Regex>>>> = RefCell::new(HashMap::new());
    }
    CACHE.with_borrow_mut(|cache| {
        cache.entry(pattern.to_owned()).or_insert_with(|| fancy_regex::Regex::new(pattern).ok().map(Rc::new)).clone()
    })
}

/// node's `context.value(property)`: `None` is `undefined`.
fn node_value<'u>(user: &'u vane_schema::wire::EndUser, property: &str) -> Option<&'u str> {
    match property {
        "keyId" => Some(&user.key_id),
        "name" => user.name.as_deref(),
        p => user.customized_properties.iter().find(|c| c.name == p).map(|c| c.value.as_str()),
    }
}

/// node's operators applied to `undefined` (a missing property): string methods throw, `!==` is true.
fn undefined_operator(op: &str, rule: &str) -> Result<bool, Abort> {
    match op {
        "NotEqual" => Ok(true),
        "Contains" | "NotContain" | "StartsWith" | "EndsWith" | "MatchRegex" | "NotMatchRegex" => Err(Abort),
        "NotOneOf" => Ok(matches!(serde_json::from_str::<Value>(rule), Ok(Value::Array(_) | Value::String(_)))),
        _ => Ok(false),
    }
}

/// A JSON array of strings (nulls allowed), as .NET's `List<string>` reads it.
fn string_list(v: &Value) -> Option<Vec<String>> {
    if v.is_null() {
        return Some(vec![]);
    }
    let items = v.as_array()?;
    items.iter().filter(|i| !i.is_null()).map(|i| i.as_str().map(str::to_owned)).collect()
}

/// .NET `double.TryParse(Float | AllowThousands)` for the generator's pool of numbers.
fn dotnet_number(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c == ' ' || ('\t'..='\r').contains(&c));
    if t.eq_ignore_ascii_case("infinity") || t.eq_ignore_ascii_case("+infinity") {
        return Some(f64::INFINITY);
    }
    if t.eq_ignore_ascii_case("-infinity") {
        return Some(f64::NEG_INFINITY);
    }
    if !t.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c))
        || t.contains(|c: char| !"0123456789+-.eE,".contains(c))
    {
        return None;
    }
    t.replace(',', "").parse().ok()
}

/// JavaScript `parseFloat`: the longest numeric prefix after leading white space, else NaN.
fn js_parse_float(s: &str) -> f64 {
    let t = s.trim_start();
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    if rest.starts_with("Infinity") {
        return sign * f64::INFINITY;
    }
    let b = rest.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut end = digits(0);
    let int = end;
    if b.get(end) == Some(&b'.') {
        end += 1 + digits(end + 1);
    }
    if int == 0 && end <= 1 {
        return f64::NAN;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign_len = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let n = digits(end + 1 + sign_len);
        if n > 0 {
            end += 1 + sign_len + n;
        }
    }
    rest[..end].parse::<f64>().map_or(f64::NAN, |v| sign * v)
}

/// Python `float(str)`: surrounding white space, `_` between digits, `inf`/`nan` in any case.
fn python_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let b = t.as_bytes();
    let underscores_ok = b.iter().enumerate().all(|(i, c)| {
        *c != b'_' || (i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
    });
    if !underscores_ok || t.contains(',') {
        return None;
    }
    t.replace('_', "").parse().ok()
}

/// Python `round(x, 5)`: correctly rounded to 5 decimals.
fn round5(x: f64) -> f64 {
    if x.is_finite() { format!("{x:.5}").parse().unwrap_or(x) } else { x }
}
