//! Unit tests of the evaluator: the vectors of featbit-protocol.md §5, operator tables and property tests.

#![allow(clippy::unwrap_used)]

mod operators;
mod properties;
mod semantics;
mod vectors;

use serde_json::{Value, json};
use vane_schema::wire::{EndUser, FeatureFlag, Segment};

use super::{CompiledFlag, Evaluation, Segments, compile_segments, evaluate};

/// Two variations `v-true`/`v-false`, enabled, fallthrough `[0,1]` to `v-false`, no experiment.
fn base_flag() -> Value {
    json!({
        "id": "7a04ac4e-b468-4bb5-8123-af980022fe54",
        "key": "the-flag",
        "variationType": "boolean",
        "variations": [
            {"id": "v-true", "name": "True", "value": "true"},
            {"id": "v-false", "name": "False", "value": "false"}
        ],
        "targetUsers": [],
        "rules": [],
        "isEnabled": true,
        "disabledVariationId": "v-false",
        "fallthrough": {"dispatchKey": null, "includedInExpt": false,
                        "variations": [{"id": "v-false", "rollout": [0, 1], "exptRollout": 1}]},
        "exptIncludeAllTargets": false,
        "isArchived": false,
        "updatedAt": "2023-01-28T02:08:14.804Z"
    })
}

/// `base_flag` with one rule `rule-1` serving `v-true` when all `conditions` hold.
fn flag_with_conditions(conditions: Value) -> FeatureFlag {
    let mut flag = base_flag();
    flag["rules"] = json!([{
        "id": "r1", "name": "rule-1", "dispatchKey": null, "includedInExpt": false,
        "conditions": conditions,
        "variations": [{"id": "v-true", "rollout": [0, 1], "exptRollout": 1}]
    }]);
    serde_json::from_value(flag).unwrap()
}

fn parse_flag(v: Value) -> FeatureFlag {
    serde_json::from_value(v).unwrap()
}

fn parse_segments(v: Value) -> Segments {
    let segments: Vec<Segment> = serde_json::from_value(v).unwrap();
    compile_segments(&segments)
}

/// Evaluates and returns (variation id, reason) as owned strings for easy comparison.
fn run(flag: &FeatureFlag, segments: &Segments, user: &EndUser) -> (Option<String>, String) {
    let compiled = CompiledFlag::compile(flag);
    let e: Evaluation<'_> = evaluate(&compiled, segments, user);
    (e.variation_id().map(str::to_owned), e.reason.as_str().to_owned())
}
