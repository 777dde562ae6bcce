//! The flag sets the scenarios put into their environment: FeatBit's benchmark data (5 flags, 2 segments) and the
//! large environment (2,500 string flags and 500 JSON flags with 2 KiB variations, as in FeatBit's test).

use serde_json::{Value, json};

/// A flag with `values` as variations, everyone served the first, optionally a rule for segment members.
fn flag(name: &str, kind: &str, values: &[String], segment: Option<&str>) -> Value {
    let variations: Vec<Value> =
        values.iter().enumerate().map(|(i, v)| json!({"id": format!("v{i}"), "value": v})).collect();
    let rules = match segment {
        Some(seg) => json!([{"name": "members", "conditions": [{"property": "User is in segment", "op": null,
            "value": format!("[\"{seg}\"]")}], "variations": [{"id": "v1", "rollout": [0, 1]}]}]),
        None => json!([]),
    };
    json!({"name": name, "variationType": kind, "isEnabled": true, "disabledVariationId": "v0",
           "variations": variations, "rules": rules,
           "fallthrough": {"includedInExpt": true, "variations": [{"id": "v0", "rollout": [0, 1]}]}})
}

/// A boolean flag (on/off by `enabled`): what the fan-out scenario toggles.
pub fn toggle(enabled: bool) -> Value {
    let mut f = flag("toggle", "boolean", &["true".into(), "false".into()], None);
    f["isEnabled"] = json!(enabled);
    f["disabledVariationId"] = json!("v1");
    f
}

/// A segment body (segment ids are unique across environments: the caller makes them).
pub fn segment(i: usize) -> Value {
    json!({"name": format!("segment-{i}"), "included": [format!("user-{i}")], "excluded": []})
}

/// The small data set's 5 flags: three plain, two with a rule on `segments`.
pub fn small_flags(segments: &[String; 2]) -> Vec<(String, Value)> {
    let bools = ["true".to_owned(), "false".to_owned()];
    (0..5)
        .map(|i| {
            let segment = (i >= 3).then(|| segments[i - 3].as_str());
            (format!("flag-{i}"), flag(&format!("flag {i}"), "boolean", &bools, segment))
        })
        .collect()
}

/// `strings` string flags and `jsons` JSON flags whose two variations are ~`json_bytes` each.
pub fn large_flags(strings: usize, jsons: usize, json_bytes: usize) -> Vec<(String, Value)> {
    let strs = ["alpha".to_owned(), "beta".to_owned(), "gamma".to_owned()];
    let blob = |tag: usize| {
        let filler = "x".repeat(json_bytes.saturating_sub(40));
        json!({"variant": tag, "filler": filler}).to_string()
    };
    let string_flags = (0..strings).map(|i| (format!("str-{i}"), flag(&format!("string {i}"), "string", &strs, None)));
    let json_flags =
        (0..jsons).map(|i| (format!("json-{i}"), flag(&format!("json {i}"), "json", &[blob(0), blob(1)], None)));
    string_flags.chain(json_flags).collect()
}
