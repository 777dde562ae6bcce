//! Seeded generator of random (flag, segments, user) cases for the differential test.
//!
//! Values come from small pools chosen so that conditions match about half the time and every operator,
//! targeting, rules, segments, rollouts and dispatch keys are exercised, including the inputs on which the SDKs
//! are known to deviate (featbit-protocol.md §5.8). Two inputs are never generated because the model cannot
//! predict the SDKs on them: user values containing `/` or a final newline tested by a regex (node turns them into
//! pattern flags; JS `$` differs), and segment conditions nested in segment rules (python evaluates them).
//! Segment-condition values are always JSON lists or nulls: anything else crashes node's data loader.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;
use vane_schema::wire::{EndUser, FeatureFlag, Segment};

/// One generated case: the flag, the segments of its environment, the user.
pub struct Case {
    pub flag: FeatureFlag,
    pub segments: Vec<Segment>,
    pub user: EndUser,
}

const USER_KEYS: &[&str] = &["u1", "u2", "u3", "alice", "bob-qa"];
const NAMES: &[&str] =
    &["alice", "bob_qa", "group-admin-user", "Ann", "alice", "bob_qa", "group-admin-user", "Ann", " "];
const PROPERTIES: &[&str] = &["country", "age", "email", "plan", "beta"];
const CONDITION_PROPERTIES: &[&str] =
    &["keyId", "name", "country", "age", "email", "plan", "beta", "missing", "", "KeyId", "key"];
const DISPATCH_KEYS: &[Option<&str>] = &[
    None,
    None,
    None,
    Some(""),
    Some(" "),
    Some("keyId"),
    Some("name"),
    Some("country"),
    Some("age"),
    Some("missing"),
];
const TEXT_VALUES: &[&str] = &["us", "cn", "", "u", "gmail", "@", "1", "alice", "_qa", "group", "x"];
const NUMBER_VALUES: &[&str] = &[
    "18",
    "30",
    "30.000001",
    "1,000",
    " 42 ",
    "1e3",
    "2.5",
    "abc",
    "Infinity",
    "-1",
    "0x10",
    "1_000",
    "NaN",
    "",
    "999.99999",
];
const REGEX_VALUES: &[&str] = &["^u", r"\d+", "^[a-z]+$", r"gmail\.com$", "a(", "^$", ".", "(?i)US", "^1[0-9]{2}"];
const LIST_VALUES: &[&str] =
    &[r#"["us","cn"]"#, r#"["18","30"]"#, "[]", "null", r#""us""#, "[1]", "us,cn", r#"[""]"#, r#"["alice","u1"]"#];
const OPS: &[&str] = &[
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

/// Property values by property; regex-tested ones never contain `/` or end with `\n`.
fn property_value(rng: &mut StdRng, property: &str) -> String {
    let pool: &[&str] = match property {
        "country" => &["us", "cn", "US", "", "fr"],
        "age" => &["18", "30", "30.000001", "1,000", " 42 ", "1e3", "abc", "Infinity", "1_000", "-0", "1000"],
        "email" => &["a.b@gmail.com", "x@featbit.co", "", "x("],
        "plan" => &["free", "pro", "[a-z]+", "u1"],
        _ => &["true", "FALSE", "True", "yes", ""],
    };
    pick(rng, pool).to_owned()
}

fn pick<'a, T: ?Sized>(rng: &mut StdRng, pool: &[&'a T]) -> &'a T {
    pool[rng.random_range(0..pool.len())]
}

fn chance(rng: &mut StdRng, percent: u32) -> bool {
    rng.random_range(0..100) < percent
}

/// Generates `n` cases from `seed`; the same seed always gives the same cases.
pub fn cases(seed: u64, n: usize) -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|i| case(&mut rng, i)).collect()
}

fn case(rng: &mut StdRng, i: usize) -> Case {
    let segments: Vec<Value> = (0..rng.random_range(0..=2)).map(|_| segment(rng)).collect();
    let ids: Vec<String> = segments.iter().map(|s| s["id"].as_str().unwrap_or_default().to_owned()).collect();
    let flag = flag(rng, i, &ids);
    Case {
        flag: serde_json::from_value(flag).expect("generated flag is valid JSON"),
        segments: serde_json::from_value(Value::from(segments)).expect("generated segments are valid JSON"),
        user: user(rng),
    }
}

fn uuid(rng: &mut StdRng) -> String {
    Uuid::from_u128(rng.random()).to_string()
}

fn segment(rng: &mut StdRng) -> Value {
    let keys = |rng: &mut StdRng| -> Vec<&str> { (0..rng.random_range(0..=2)).map(|_| pick(rng, USER_KEYS)).collect() };
    let rules: Vec<Value> = (0..rng.random_range(0..=2))
        .map(|_| {
            let conditions: Vec<Value> = (0..rng.random_range(0..=2)).map(|_| plain_condition(rng)).collect();
            json!({"id": "sr", "name": "segment rule", "conditions": conditions})
        })
        .collect();
    json!({"id": uuid(rng), "name": "segment", "included": keys(rng), "excluded": keys(rng), "rules": rules,
           "isArchived": chance(rng, 10), "updatedAt": "2024-01-02T03:04:05.123Z"})
}

fn plain_condition(rng: &mut StdRng) -> Value {
    let op = if chance(rng, 3) { "Bogus" } else { pick(rng, OPS) };
    let value = match op {
        "LessThan" | "LessEqualThan" | "BiggerThan" | "BiggerEqualThan" => pick(rng, NUMBER_VALUES),
        "MatchRegex" | "NotMatchRegex" => pick(rng, REGEX_VALUES),
        "IsOneOf" | "NotOneOf" => pick(rng, LIST_VALUES),
        "IsTrue" | "IsFalse" => op,
        _ => pick(rng, TEXT_VALUES),
    };
    let value = if chance(rng, 3) { Value::Null } else { json!(value) };
    json!({"property": pick(rng, CONDITION_PROPERTIES), "op": op, "value": value})
}

fn segment_condition(rng: &mut StdRng, ids: &[String]) -> Value {
    let property = if chance(rng, 70) { "User is in segment" } else { "User is not in segment" };
    let mut list: Vec<String> = ids.iter().filter(|_| chance(rng, 70)).cloned().collect();
    if list.is_empty() || chance(rng, 15) {
        list.push(uuid(rng)); // a segment that exists nowhere
    }
    // Only lists and nulls: node's data loader crashes the process on any other segment-condition value
    // (§5.8), so malformed lists are covered by the unit tests instead.
    let value = match rng.random_range(0..100) {
        0..=2 => json!("null"),
        3..=4 => json!("[]"),
        5 => Value::Null,
        _ => json!(serde_json::to_string(&list).unwrap_or_default()),
    };
    json!({"property": property, "op": null, "value": value})
}

fn flag(rng: &mut StdRng, i: usize, segment_ids: &[String]) -> Value {
    let key = format!("flag-{i:05}");
    let n = rng.random_range(2..=4);
    let variations: Vec<Value> = (0..n)
        .map(|v| json!({"id": format!("v{v}"), "name": format!("V{v}"), "value": format!("{key}:v{v}")}))
        .collect();
    let targets: Vec<Value> = (0..rng.random_range(0..=2))
        .map(|_| {
            let keys: Vec<&str> = (0..rng.random_range(0..=2)).map(|_| pick(rng, USER_KEYS)).collect();
            json!({"keyIds": keys, "variationId": variation_id(rng, n)})
        })
        .collect();
    let rules: Vec<Value> = (0..rng.random_range(0..=3))
        .map(|r| {
            let conditions: Vec<Value> = (0..rng.random_range(0..=2))
                .map(|_| {
                    if !segment_ids.is_empty() && chance(rng, 30) {
                        segment_condition(rng, segment_ids)
                    } else {
                        plain_condition(rng)
                    }
                })
                .collect();
            json!({"id": format!("r{r}"), "name": format!("rule {r}"), "dispatchKey": pick_dispatch(rng),
                   "includedInExpt": chance(rng, 50), "conditions": conditions, "variations": split(rng, n)})
        })
        .collect();
    json!({
        "id": uuid(rng), "key": key, "name": key, "variationType": "string", "variations": variations,
        "targetUsers": targets, "rules": rules, "isEnabled": !chance(rng, 8),
        "disabledVariationId": variation_id(rng, n),
        "fallthrough": {"dispatchKey": pick_dispatch(rng), "includedInExpt": chance(rng, 50), "variations": split(rng, n)},
        "exptIncludeAllTargets": chance(rng, 30), "isArchived": chance(rng, 3), "updatedAt": "2024-01-02T03:04:05.123Z"
    })
}

fn pick_dispatch(rng: &mut StdRng) -> Option<&'static str> {
    DISPATCH_KEYS[rng.random_range(0..DISPATCH_KEYS.len())]
}

/// A variation id of the flag, or (rarely) a dangling one.
fn variation_id(rng: &mut StdRng, n: usize) -> String {
    if chance(rng, 3) { "v-gone".to_owned() } else { format!("v{}", rng.random_range(0..n)) }
}

/// A percentage split: mostly well-formed, sometimes with gaps, the `[0, ≥0.99999]` and `[0, 0]` shortcuts, or a
/// malformed range.
fn split(rng: &mut StdRng, n: usize) -> Value {
    let range = |id: String, min: f64, max: f64, rng: &mut StdRng| {
        let expt = if chance(rng, 10) { Value::Null } else { json!(f64::from(rng.random_range(0..=10u8)) / 10.0) };
        json!({"id": id, "rollout": [min, max], "exptRollout": expt})
    };
    let cut = (f64::from(rng.random_range(1..100u8)) / 100.0).min(0.99);
    match rng.random_range(0..100) {
        0..=39 => json!([range(variation_id(rng, n), 0.0, 1.0, rng)]),
        40..=74 => json!([range(variation_id(rng, n), 0.0, cut, rng), range(variation_id(rng, n), cut, 1.0, rng)]),
        75..=84 => {
            let second = (cut + 0.3).min(1.0);
            json!([range(variation_id(rng, n), 0.0, cut, rng), range(variation_id(rng, n), second, 1.0, rng)])
        }
        85..=89 => json!([range(variation_id(rng, n), 0.0, 0.999_995, rng)]),
        90..=94 => json!([range(variation_id(rng, n), 0.0, 0.0, rng), range(variation_id(rng, n), 0.0, 1.0, rng)]),
        _ => {
            json!([{"id": variation_id(rng, n), "rollout": [0.5], "exptRollout": 1}, range(variation_id(rng, n), cut, 1.0, rng)])
        }
    }
}

fn user(rng: &mut StdRng) -> EndUser {
    let key = if chance(rng, 30) { uuid(rng) } else { pick(rng, USER_KEYS).to_owned() };
    let mut user = EndUser::with_key(key);
    user.name = (!chance(rng, 5)).then(|| pick(rng, NAMES).to_owned());
    for property in PROPERTIES {
        if chance(rng, 60) {
            let value = property_value(rng, property);
            user = user.with_property(*property, value);
        }
    }
    user
}
