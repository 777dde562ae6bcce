//! Criterion benchmarks of the evaluator (`cargo bench -p vane-actors --bench eval`); results in BENCHMARKS.md.
//!
//! Cases: a plain boolean flag, a rule with a segment and a regex, a percentage rollout (one MD5), every flag of a
//! 3,000-flag environment for one user (one client full sync) — with one regex text shared by its 750 rule flags,
//! with 750 distinct texts, and without the regex — and the same for a user with 100 custom properties (the most
//! `[limits]` accept) whose looked-up properties come last.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use vane_actors::eval::{CompiledFlag, EvalUser, Segments, compile_segments, evaluate};
use vane_schema::wire::{EndUser, FeatureFlag, Segment};

const SEGMENT_ID: &str = "0779d76b-afc6-4886-ab65-af8c004273ad";

fn flag(key: &str, rules: Value, fallthrough: Value) -> FeatureFlag {
    serde_json::from_value(json!({
        "id": "7a04ac4e-b468-4bb5-8123-af980022fe54", "key": key, "variationType": "boolean",
        "variations": [{"id": "t", "name": "True", "value": "true"}, {"id": "f", "name": "False", "value": "false"}],
        "targetUsers": [{"keyIds": ["qa-1", "qa-2"], "variationId": "t"}],
        "rules": rules, "isEnabled": true, "disabledVariationId": "f",
        "fallthrough": {"dispatchKey": null, "includedInExpt": true, "variations": fallthrough},
        "exptIncludeAllTargets": false, "isArchived": false, "updatedAt": "2024-01-02T03:04:05.123Z"
    }))
    .unwrap()
}

fn plain() -> FeatureFlag {
    flag("plain", json!([]), json!([{"id": "f", "rollout": [0, 1], "exptRollout": 1}]))
}

fn rule_with_segment_and_regex() -> FeatureFlag {
    rule_with_regex(r"^[a-z0-9._-]+@featbit\.(co|com)$")
}

/// The same rule with a regex text of its own per flag (`n` picks it), matching exactly what the shared one does.
fn rule_with_own_regex(n: usize) -> FeatureFlag {
    rule_with_regex(&format!(r"^[a-z0-9._-]+@featbit\.(co|com|x{n})$"))
}

fn rule_with_regex(pattern: &str) -> FeatureFlag {
    let rules = json!([{"id": "r", "name": "Rule 1", "dispatchKey": null, "includedInExpt": false, "conditions": [
        {"property": "User is in segment", "op": null, "value": format!("[\"{SEGMENT_ID}\"]")},
        {"property": "email", "op": "MatchRegex", "value": pattern}],
        "variations": [{"id": "t", "rollout": [0, 1], "exptRollout": 1}]}]);
    flag("rule-segment-regex", rules, json!([{"id": "f", "rollout": [0, 1], "exptRollout": 1}]))
}

fn rule_with_segment() -> FeatureFlag {
    let rules = json!([{"id": "r", "name": "Rule 1", "dispatchKey": null, "includedInExpt": false, "conditions": [
        {"property": "User is in segment", "op": null, "value": format!("[\"{SEGMENT_ID}\"]")},
        {"property": "email", "op": "EndsWith", "value": "@featbit.co"}],
        "variations": [{"id": "t", "rollout": [0, 1], "exptRollout": 1}]}]);
    flag("rule-segment", rules, json!([{"id": "f", "rollout": [0, 1], "exptRollout": 1}]))
}

fn rollout() -> FeatureFlag {
    flag(
        "rollout",
        json!([]),
        json!([{"id": "t", "rollout": [0, 0.1], "exptRollout": 1}, {"id": "f", "rollout": [0.1, 1], "exptRollout": 1}]),
    )
}

fn segments() -> Segments {
    let segment: Segment = serde_json::from_value(json!({
        "id": SEGMENT_ID, "included": ["vip-1"], "excluded": ["banned-1"],
        "rules": [{"id": "s", "name": "Beta", "conditions": [
            {"property": "country", "op": "IsOneOf", "value": "[\"cn\",\"us\",\"es\"]"},
            {"property": "age", "op": "BiggerEqualThan", "value": "18"}]}],
        "isArchived": false, "updatedAt": "2024-01-02T03:04:05.123Z"
    }))
    .unwrap();
    compile_segments([&segment])
}

fn user() -> EndUser {
    let mut user = EndUser::with_key("3db19c81-e149-4b97-8a0d-79d34531fe59")
        .with_property("email", "tester@featbit.co")
        .with_property("country", "us")
        .with_property("age", "32");
    user.name = Some("tester".into());
    user
}

/// A 3,000-flag environment: half plain flags, a quarter rollouts, a quarter rule flags (`rule(i)` makes them).
fn environment(rule: impl Fn(usize) -> FeatureFlag) -> Vec<CompiledFlag> {
    (0..3000)
        .map(|i| {
            let mut f = match i % 4 {
                0 | 1 => plain(),
                2 => rollout(),
                _ => rule(i),
            };
            f.key = format!("flag-{i:04}");
            CompiledFlag::compile(&f)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (segments, user) = (segments(), user());
    for (name, f) in [
        ("plain boolean flag", plain()),
        ("rule with segment + regex", rule_with_segment_and_regex()),
        ("percentage rollout", rollout()),
    ] {
        let compiled = CompiledFlag::compile(&f);
        c.bench_function(name, |b| {
            b.iter(|| evaluate(black_box(&compiled), &segments, black_box(&user)).variation_id())
        });
    }
    // Equal regex texts share one compiled pattern; 750 distinct texts (each its own automaton and caches) are the
    // worst case, and the mix without the regex condition isolates the rest of the evaluation.
    for (name, rule) in [
        ("3,000 flags for one user", (|_| rule_with_segment_and_regex()) as fn(usize) -> FeatureFlag),
        ("3,000 flags, 750 distinct regexes", rule_with_own_regex),
        ("3,000 flags, rules without regex", |_| rule_with_segment()),
    ] {
        let env = environment(rule);
        c.bench_function(name, |b| {
            b.iter(|| env.iter().filter(|f| evaluate(f, &segments, black_box(&user)).value() == Some("true")).count())
        });
    }
    // The user's properties are indexed once for the whole pass (as a sync does), not scanned per condition.
    let env = environment(|_| rule_with_segment_and_regex());
    let mut wide = EndUser::with_key(user.key_id.clone());
    for i in 0..97 {
        wide = wide.with_property(format!("p{i}"), "x");
    }
    wide.customized_properties.extend(user.customized_properties.iter().cloned());
    c.bench_function("3,000 flags, user with 100 properties", |b| {
        b.iter(|| {
            let eval_user = EvalUser::new(black_box(&wide));
            env.iter().filter(|f| f.evaluate(&segments, &eval_user).value() == Some("true")).count()
        })
    });
    let wire = rule_with_segment_and_regex();
    c.bench_function("compile rule with segment + regex", |b| b.iter(|| CompiledFlag::compile(black_box(&wire))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
