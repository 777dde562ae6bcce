//! Evaluation order, match reasons, targeting, segments, dispatch and experiments (§5.1, §5.3–§5.5, §5.7).

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;
use vane_schema::wire::{EndUser, Segment};

use super::super::{CompiledFlag, CompiledSegment, Reason, Segments, evaluate, in_rollout, rollout_of_key};
use super::{base_flag, flag_with_conditions, parse_flag, parse_segments, run};

const SEG_A: &str = "0779d76b-afc6-4886-ab65-af8c004273ad";
const SEG_B: &str = "556c11b2-f08a-4e10-b0b7-af8e008125b3";
const SEG_MISSING: &str = "11111111-2222-3333-4444-555555555555";

fn segments() -> Segments {
    parse_segments(json!([
        {"id": SEG_A, "included": ["in-1"], "excluded": ["out-1"],
         "rules": [{"id": "s1", "name": "r", "conditions": [{"property": "age", "op": "BiggerThan", "value": "20"}]}],
         "isArchived": true, "updatedAt": "2023-01-28T05:54:43.583Z"},
        {"id": SEG_B, "included": [], "excluded": [],
         "rules": [{"id": "s2", "name": "r", "conditions": [
             {"property": "User is in segment", "op": null, "value": format!("[\"{SEG_A}\"]")}]}],
         "isArchived": false, "updatedAt": "2023-01-28T05:54:43.583Z"}
    ]))
}

fn in_segment(prop: &str, ids: &[&str]) -> serde_json::Value {
    json!([{"property": prop, "op": null, "value": serde_json::to_string(ids).unwrap()}])
}

#[test]
fn order_is_archived_disabled_targeted_rules_default() {
    let mut v = base_flag();
    v["targetUsers"] = json!([{"keyIds": ["t-1"], "variationId": "v-true"}]);
    v["rules"] = json!([{"id": "r", "name": "everyone", "dispatchKey": null, "includedInExpt": false,
        "conditions": [{"property": "keyId", "op": "StartsWith", "value": "r-"}],
        "variations": [{"id": "v-true", "rollout": [0, 1], "exptRollout": 1}]}]);
    let segs = Segments::default();
    assert_eq!(
        run(&parse_flag(v.clone()), &segs, &EndUser::with_key("t-1")),
        (Some("v-true".into()), "targeted".into())
    );
    assert_eq!(
        run(&parse_flag(v.clone()), &segs, &EndUser::with_key("r-1")),
        (Some("v-true".into()), "everyone".into())
    );
    assert_eq!(run(&parse_flag(v.clone()), &segs, &EndUser::with_key("x")), (Some("v-false".into()), "default".into()));
    v["isEnabled"] = json!(false);
    assert_eq!(
        run(&parse_flag(v.clone()), &segs, &EndUser::with_key("t-1")),
        (Some("v-false".into()), "flag disabled".into())
    );
    v["isArchived"] = json!(true);
    assert_eq!(run(&parse_flag(v), &segs, &EndUser::with_key("t-1")), (None, "flag archived".into()));
}

#[test]
fn reasons_render_to_the_wire_strings() {
    let names = [Reason::Archived, Reason::Disabled, Reason::Targeted, Reason::Rule("Rule 1"), Reason::Default];
    let strings: Vec<_> = names.iter().map(Reason::as_str).collect();
    assert_eq!(strings, ["flag archived", "flag disabled", "targeted", "Rule 1", "default"]);
    assert_eq!(Reason::Rule("规则 1").to_string(), "规则 1");
}

#[test]
fn archived_and_disabled_never_send_to_experiment_and_dangling_ids_serve_null() {
    let mut v = base_flag();
    v["exptIncludeAllTargets"] = json!(true);
    v["isEnabled"] = json!(false);
    v["disabledVariationId"] = json!("nope");
    let flag = CompiledFlag::compile(&parse_flag(v));
    let e = evaluate(&flag, &Segments::default(), &EndUser::with_key("u"));
    assert_eq!((e.variation, e.reason, e.send_to_experiment), (None, Reason::Disabled, false));
}

#[test]
fn the_first_target_entry_listing_the_user_wins_and_sends_per_expt_include_all_targets() {
    let mut v = base_flag();
    v["exptIncludeAllTargets"] = json!(true);
    v["targetUsers"] =
        json!([{"keyIds": ["a"], "variationId": "v-false"}, {"keyIds": ["b", "a"], "variationId": "v-true"}]);
    let flag = CompiledFlag::compile(&parse_flag(v));
    let e = evaluate(&flag, &Segments::default(), &EndUser::with_key("a"));
    assert_eq!((e.variation_id(), e.send_to_experiment), (Some("v-false"), true));
    assert_eq!(evaluate(&flag, &Segments::default(), &EndUser::with_key("b")).variation_id(), Some("v-true"));
    assert_eq!(evaluate(&flag, &Segments::default(), &EndUser::with_key("A")).reason, Reason::Default);
}

#[test]
fn a_rule_without_conditions_matches_everyone_and_the_first_matching_rule_wins() {
    let mut v = base_flag();
    v["rules"] = json!([
        {"id": "1", "name": "never", "conditions": [{"property": "p", "op": "Equal", "value": "x"}],
         "variations": [{"id": "v-false", "rollout": [0, 1], "exptRollout": 1}]},
        {"id": "2", "name": "all", "conditions": [], "variations": [{"id": "v-true", "rollout": [0, 1], "exptRollout": 1}]},
        {"id": "3", "name": "later", "conditions": [], "variations": [{"id": "v-false", "rollout": [0, 1], "exptRollout": 1}]}
    ]);
    assert_eq!(
        run(&parse_flag(v), &Segments::default(), &EndUser::with_key("u")),
        (Some("v-true".into()), "all".into())
    );
}

#[test]
fn segment_membership_is_excluded_then_included_then_rules() {
    let segs = segments();
    let flag = flag_with_conditions(in_segment("User is in segment", &[SEG_A]));
    let reason = |u: EndUser| run(&flag, &segs, &u).1;
    assert_eq!(reason(EndUser::with_key("in-1")), "rule-1", "included (archived segments still count)");
    assert_eq!(reason(EndUser::with_key("out-1").with_property("age", "30")), "default", "excluded beats rules");
    assert_eq!(reason(EndUser::with_key("x").with_property("age", "30")), "rule-1", "segment rule");
    assert_eq!(reason(EndUser::with_key("x").with_property("age", "3")), "default");
}

#[test]
fn not_in_segment_and_missing_segments() {
    let segs = segments();
    let not_in = flag_with_conditions(in_segment("User is not in segment", &[SEG_MISSING, SEG_A]));
    assert_eq!(run(&not_in, &segs, &EndUser::with_key("in-1")).1, "default");
    assert_eq!(run(&not_in, &segs, &EndUser::with_key("x")).1, "rule-1");
    let missing_only = flag_with_conditions(in_segment("User is in segment", &[SEG_MISSING, "not-a-uuid"]));
    assert_eq!(run(&missing_only, &segs, &EndUser::with_key("in-1")).1, "default", "a missing segment has no members");
    let missing_then_real = flag_with_conditions(in_segment("User is in segment", &[SEG_MISSING, SEG_A]));
    assert_eq!(run(&missing_then_real, &segs, &EndUser::with_key("in-1")).1, "rule-1");
    let not_in_missing = flag_with_conditions(in_segment("User is not in segment", &[SEG_MISSING]));
    assert_eq!(run(&not_in_missing, &segs, &EndUser::with_key("in-1")).1, "rule-1");
}

#[test]
fn malformed_or_empty_segment_lists() {
    let segs = segments();
    let user = EndUser::with_key("in-1");
    for (prop, value, want) in [
        ("User is in segment", json!("[]"), "default"),
        ("User is in segment", json!("null"), "default"),
        ("User is not in segment", json!("[]"), "rule-1"),
        ("User is not in segment", json!("null"), "rule-1"),
        ("User is in segment", json!(SEG_A), "default"),
        ("User is not in segment", json!(SEG_A), "default"),
        ("User is not in segment", json!(null), "default"),
        ("User is in segment", json!("[1]"), "default"),
    ] {
        let flag = flag_with_conditions(json!([{"property": prop, "op": null, "value": value}]));
        assert_eq!(run(&flag, &segs, &user).1, want, "{prop} {value}");
    }
}

#[test]
fn segment_conditions_nested_in_segment_rules_never_match() {
    let flag = flag_with_conditions(in_segment("User is in segment", &[SEG_B]));
    assert_eq!(run(&flag, &segments(), &EndUser::with_key("in-1")).1, "default");
}

#[test]
fn swapping_a_segment_entry_changes_results_without_recompiling_the_flag() {
    let mut segs = segments();
    let flag = CompiledFlag::compile(&flag_with_conditions(in_segment("User is in segment", &[SEG_A, SEG_B])));
    let seg_a: Uuid = SEG_A.parse().unwrap();
    let user = EndUser::with_key("new-user");
    assert_eq!(flag.segment_ids(), [seg_a, SEG_B.parse().unwrap()], "sorted, deduplicated");
    assert_eq!(evaluate(&flag, &segs, &user).reason, Reason::Default);
    let mut changed: Segment = segs[&seg_a].segment().clone();
    changed.included.push("new-user".into());
    segs.insert(seg_a, Arc::new(CompiledSegment::compile(&changed)));
    assert_eq!(evaluate(&flag, &segs, &user).reason, Reason::Rule("rule-1"));
}

fn split_flag(dispatch_key: serde_json::Value, rollouts: serde_json::Value) -> CompiledFlag {
    let mut v = base_flag();
    v["key"] = json!("my-flag");
    v["fallthrough"] = json!({"dispatchKey": dispatch_key, "includedInExpt": true, "variations": rollouts});
    CompiledFlag::compile(&parse_flag(v))
}

#[test]
fn dispatch_uses_the_flag_key_and_the_dispatch_value() {
    // rolloutOfKey("my-flaguser-1") = 0.3866…
    let rollouts = json!([{"id": "v-true", "rollout": [0, 0.3866], "exptRollout": 0},
                          {"id": "v-false", "rollout": [0.3866, 1], "exptRollout": 0}]);
    let segs = Segments::default();
    for key in [json!(null), json!(""), json!("  "), json!("keyId")] {
        let flag = split_flag(key.clone(), rollouts.clone());
        assert_eq!(evaluate(&flag, &segs, &EndUser::with_key("user-1")).variation_id(), Some("v-false"), "{key}");
    }
    let by_country = split_flag(json!("country"), rollouts.clone());
    let user = EndUser::with_key("someone").with_property("country", "user-1");
    assert_eq!(evaluate(&by_country, &segs, &user).variation_id(), Some("v-false"));
    // A missing property and an absent name both dispatch on the flag key alone.
    let alone = rollout_of_key("my-flag");
    let want = if alone <= 0.3866 { "v-true" } else { "v-false" };
    assert_eq!(evaluate(&by_country, &segs, &EndUser::with_key("x")).variation_id(), Some(want));
    let by_name = split_flag(json!("name"), rollouts);
    assert_eq!(evaluate(&by_name, &segs, &EndUser::with_key("x")).variation_id(), Some(want));
}

#[test]
fn rollout_ranges_are_inclusive_with_the_shortcuts() {
    assert!(in_rollout(0.0, 1.0, || unreachable!("no hash for [0, 1]")));
    assert!(in_rollout(0.0, 0.999_995, || unreachable!("no hash for [0, ≥0.99999]")));
    assert!(!in_rollout(0.0, 0.0, || unreachable!("no hash for [0, 0]")));
    assert!(in_rollout(0.5, 0.5, || 0.5));
    assert!(in_rollout(0.2, 0.5, || 0.2));
    assert!(!in_rollout(0.2, 0.5, || 0.5000001));
    assert!(in_rollout(0.9, 1.0, || 1.0));
}

#[test]
fn no_matching_range_serves_the_empty_variation() {
    let flag = split_flag(
        json!(null),
        json!([{"id": "v-true", "rollout": [0.5, 0.5], "exptRollout": 1},
                                              {"id": "v-false", "rollout": [0.1], "exptRollout": 1}]),
    );
    let e = evaluate(&flag, &Segments::default(), &EndUser::with_key("u"));
    assert_eq!(
        (e.variation_id(), e.value(), e.reason, e.send_to_experiment),
        (Some(""), Some(""), Reason::Default, false)
    );
    let dangling = split_flag(json!(null), json!([{"id": "v-gone", "rollout": [0, 1], "exptRollout": 1}]));
    assert_eq!(evaluate(&dangling, &Segments::default(), &EndUser::with_key("u")).variation, None);
}

#[test]
fn experiment_inclusion_uses_the_expt_key_over_the_range_width() {
    // rolloutOfKey("my-flaguser-1") = 0.3866…, rolloutOfKey("exptmy-flaguser-1") = 0.2088…
    let segs = Segments::default();
    let user = EndUser::with_key("user-1");
    let with_expt = |expt: f64| {
        split_flag(
            json!(null),
            json!([{"id": "v-true", "rollout": [0, 0.5], "exptRollout": expt},
                                        {"id": "v-false", "rollout": [0.5, 1], "exptRollout": expt}]),
        )
    };
    // upper = e / 0.5: 0.2088 is inside [0, 0.22] but not [0, 0.2].
    assert!(evaluate(&with_expt(0.11), &segs, &user).send_to_experiment);
    assert!(!evaluate(&with_expt(0.1), &segs, &user).send_to_experiment);
    assert!(evaluate(&with_expt(5.0), &segs, &user).send_to_experiment, "upper is capped at 1");
    assert!(!evaluate(&with_expt(0.0), &segs, &user).send_to_experiment);
    let absent = split_flag(json!(null), json!([{"id": "v-true", "rollout": [0, 1]}]));
    assert!(!evaluate(&absent, &segs, &user).send_to_experiment, "absent exptRollout sends nobody");
}

#[test]
fn rules_use_their_own_included_in_expt() {
    let mut v = base_flag();
    v["fallthrough"]["includedInExpt"] = json!(true);
    v["rules"] = json!([{"id": "1", "name": "r", "includedInExpt": false, "conditions": [],
        "variations": [{"id": "v-true", "rollout": [0, 1], "exptRollout": 1}]}]);
    let flag = CompiledFlag::compile(&parse_flag(v.clone()));
    assert!(!evaluate(&flag, &Segments::default(), &EndUser::with_key("u")).send_to_experiment);
    v["rules"][0]["includedInExpt"] = json!(true);
    let flag = CompiledFlag::compile(&parse_flag(v));
    assert!(evaluate(&flag, &Segments::default(), &EndUser::with_key("u")).send_to_experiment);
}
