//! Property tests: rollout proportions and robustness on arbitrary input.

use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use vane_schema::wire::{CustomizedProperty, EndUser, FeatureFlag};

use super::super::{CompiledFlag, evaluate};
use super::{base_flag, parse_flag, parse_segments};

/// Users per proportion check; with p = 0.1 the standard deviation of the share is 0.095 %, so ± 0.5 % is > 5 σ.
const USERS: usize = 100_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn a_ten_percent_rollout_serves_ten_percent_of_users(seed in any::<u64>(), flag_key in "[a-z0-9-]{1,20}") {
        let mut v = base_flag();
        v["key"] = json!(flag_key);
        v["fallthrough"]["variations"] = json!([{"id": "v-true", "rollout": [0, 0.1], "exptRollout": 1},
                                                {"id": "v-false", "rollout": [0.1, 1], "exptRollout": 1}]);
        let flag = CompiledFlag::compile(&parse_flag(v));
        let segments = Default::default();
        let mut rng = StdRng::seed_from_u64(seed);
        let served = (0..USERS)
            .filter(|_| {
                let user = EndUser::with_key(uuid::Uuid::from_u128(rng.random()).to_string());
                evaluate(&flag, &segments, &user).variation_id() == Some("v-true")
            })
            .count();
        let share = served as f64 / USERS as f64;
        prop_assert!((share - 0.1).abs() <= 0.005, "share {share}");
    }
}

/// Small alphabets so that generated conditions often match and exercise every branch.
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
    "Bogus",
    "",
];
const VALUES: &[&str] = &[
    "",
    "a",
    "1,000",
    " 7 ",
    "1e3",
    "NaN",
    "-Infinity",
    "true",
    "FALSE",
    "[\"a\",\"b\"]",
    "null",
    "[1]",
    "[",
    "a(",
    "(a+)+$",
    "^a.*$",
    "\u{0}",
    "ß",
    "𝔘",
];
const PROPS: &[&str] = &["keyId", "name", "p", "q", "", " ", "User is in segment", "User is not in segment"];
const SEGMENT_IDS: &[&str] = &["0779d76b-afc6-4886-ab65-af8c004273ad", "11111111-2222-3333-4444-555555555555", "x"];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(list)
}

fn condition() -> impl Strategy<Value = Value> {
    let segment_list =
        proptest::sample::subsequence(SEGMENT_IDS, 0..=3).prop_map(|ids| serde_json::to_string(&ids).unwrap());
    let value = prop_oneof![pick(VALUES).prop_map(str::to_owned), segment_list, ".{0,8}"];
    (pick(PROPS), proptest::option::of(pick(OPS)), proptest::option::of(value))
        .prop_map(|(p, op, v)| json!({"property": p, "op": op, "value": v}))
}

fn rollouts() -> impl Strategy<Value = Value> {
    let bound = prop_oneof![Just(0.0), Just(1.0), Just(0.5), 0.0..1.0f64, -1.0..2.0f64];
    let rollout = proptest::collection::vec(bound, 0..=3);
    let id = pick(&["v-true", "v-false", "v-gone"]);
    let expt = proptest::option::of(prop_oneof![Just(0.0), 0.0..2.0f64]);
    proptest::collection::vec(
        (id, rollout, expt).prop_map(|(id, r, e)| json!({"id": id, "rollout": r, "exptRollout": e})),
        0..4,
    )
    .prop_map(Value::from)
}

fn flag() -> impl Strategy<Value = FeatureFlag> {
    let dispatch_key = || proptest::option::of(pick(PROPS));
    let rule = (proptest::collection::vec(condition(), 0..4), dispatch_key(), any::<bool>(), rollouts())
        .prop_map(|(c, k, e, r)| json!({"id": "r", "name": "rule", "dispatchKey": k, "includedInExpt": e, "conditions": c, "variations": r}));
    let targets = proptest::collection::vec(pick(&["u", "v", ""]), 0..3)
        .prop_map(|keys| json!([{"keyIds": keys, "variationId": "v-true"}]));
    (proptest::collection::vec(rule, 0..4), targets, dispatch_key(), rollouts(), any::<[bool; 4]>()).prop_map(
        |(rules, targets, key, fall, [archived, enabled, all, expt])| {
            let mut v = base_flag();
            v["rules"] = Value::from(rules);
            v["targetUsers"] = targets;
            v["fallthrough"] = json!({"dispatchKey": key, "includedInExpt": expt, "variations": fall});
            v["isArchived"] = json!(archived);
            v["isEnabled"] = json!(enabled);
            v["exptIncludeAllTargets"] = json!(all);
            parse_flag(v)
        },
    )
}

fn user() -> impl Strategy<Value = EndUser> {
    let prop = (pick(PROPS), prop_oneof![pick(VALUES).prop_map(str::to_owned), ".{0,8}"])
        .prop_map(|(name, value)| CustomizedProperty { name: name.into(), value });
    (pick(&["u", "v", "", "x"]), proptest::option::of(".{0,4}"), proptest::collection::vec(prop, 0..4))
        .prop_map(|(key, name, props)| EndUser { key_id: key.into(), name, customized_properties: props })
}

proptest! {
    #[test]
    fn arbitrary_flags_and_users_never_panic_and_serve_a_known_variation(flag in flag(), user in user()) {
        let segments = parse_segments(json!([{"id": "0779d76b-afc6-4886-ab65-af8c004273ad", "included": ["u"],
            "excluded": ["v"], "rules": [{"id": "s", "name": "s", "conditions": [{"property": "p", "op": "Contains", "value": "a"}]}],
            "isArchived": false, "updatedAt": "2023-01-28T05:54:43.583Z"}]));
        let compiled = CompiledFlag::compile(&flag);
        let e = evaluate(&compiled, &segments, &user);
        let known = e.variation.is_none_or(|v| v.id.is_empty() || flag.variations.iter().any(|f| f.id == v.id));
        prop_assert!(known);
        let live = !flag.is_archived && flag.is_enabled;
        prop_assert!(live || !e.send_to_experiment, "archived and disabled flags never send to experiments");
    }
}
