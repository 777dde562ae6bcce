//! Every rejection rule of the management API, and that good data passes.

use std::collections::HashSet;

use uuid::Uuid;
use vane_schema::wire::{
    Condition, Fallthrough, FeatureFlag, RolloutVariation, Segment, SegmentRule, TargetRule, TargetUser, Variation,
};

use super::*;

fn good() -> FeatureFlag {
    let v = |id: &str, value: &str| Variation { id: id.into(), name: id.into(), value: value.into() };
    FeatureFlag {
        key: "k".into(),
        variation_type: "boolean".into(),
        variations: vec![v("t", "true"), v("f", "false")],
        disabled_variation_id: "f".into(),
        target_users: vec![TargetUser { key_ids: vec!["u".into()], variation_id: "t".into() }],
        fallthrough: Fallthrough {
            variations: vec![
                RolloutVariation { id: "t".into(), rollout: vec![0.0, 0.3], expt_rollout: Some(1.0) },
                RolloutVariation { id: "f".into(), rollout: vec![0.3, 1.0], expt_rollout: Some(1.0) },
            ],
            ..Fallthrough::default()
        },
        ..FeatureFlag::default()
    }
}

fn with_condition(property: &str, op: Option<&str>, value: &str) -> FeatureFlag {
    let mut f = good();
    f.rules = vec![TargetRule {
        name: "r".into(),
        conditions: vec![Condition {
            id: None,
            property: property.into(),
            op: op.map(Into::into),
            value: Some(value.into()),
        }],
        variations: vec![RolloutVariation { id: "t".into(), rollout: vec![0.0, 1.0], expt_rollout: None }],
        ..TargetRule::default()
    }];
    f
}

fn code(result: Result<(), AdminError>) -> &'static str {
    match result {
        Err(AdminError::Invalid { code, .. }) => code,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_well_formed_flag_passes() {
    let seg = Uuid::new_v4();
    flag(&good(), &HashSet::new()).expect("valid");
    flag(&with_condition("User is in segment", None, &format!("[\"{seg}\"]")), &HashSet::from([seg])).expect("valid");
    flag(&with_condition("email", Some("MatchRegex"), r"^(?=.*@)\w+"), &HashSet::new()).expect(".NET lookahead");
    flag(&with_condition("age", Some("BiggerThan"), "20"), &HashSet::new()).expect("valid");
}

#[test]
fn keys_follow_featbit_rules() {
    key("new-ui_v2.beta").expect("valid");
    for bad in ["", "has space", "slash/", &"x".repeat(129)] {
        assert!(matches!(key(bad), Err(AdminError::BadKey(_))), "{bad}");
    }
}

#[test]
fn unknown_variation_ids_are_rejected_everywhere() {
    let no = HashSet::new();
    let mut f = good();
    f.disabled_variation_id = "nope".into();
    assert_eq!(code(flag(&f, &no)), "unknown_variation");
    let mut f = good();
    f.target_users[0].variation_id = "nope".into();
    assert_eq!(code(flag(&f, &no)), "unknown_variation");
    let mut f = good();
    f.fallthrough.variations[0].id = "nope".into();
    assert_eq!(code(flag(&f, &no)), "unknown_variation");
}

#[test]
fn rollouts_must_lie_in_range_and_cover_zero_to_one() {
    let no = HashSet::new();
    for ranges in [
        vec![(0.0, 0.3), (0.4, 1.0)],  // gap
        vec![(0.0, 0.6), (0.5, 1.0)],  // overlap
        vec![(0.0, 0.5)],              // short
        vec![(-0.1, 0.5), (0.5, 1.0)], // below 0
        vec![(0.0, 0.5), (0.5, 1.2)],  // above 1
        vec![(0.5, 0.0), (0.0, 1.0)],  // inverted
    ] {
        let mut f = good();
        f.fallthrough.variations = ranges
            .iter()
            .map(|&(a, b)| RolloutVariation { id: "t".into(), rollout: vec![a, b], expt_rollout: None })
            .collect();
        assert_eq!(code(flag(&f, &no)), "invalid_rollout", "{ranges:?}");
    }
    let mut f = good();
    f.fallthrough.variations.push(RolloutVariation { id: "f".into(), rollout: vec![1.0, 1.0], expt_rollout: None });
    flag(&f, &no).expect("zero-width ranges are fine");
}

#[test]
fn conditions_are_checked() {
    let no = HashSet::new();
    assert_eq!(code(flag(&with_condition("x", Some("Equals"), "a"), &no)), "unknown_operator");
    assert_eq!(code(flag(&with_condition("x", None, "a"), &no)), "unknown_operator");
    assert_eq!(code(flag(&with_condition("x", Some("MatchRegex"), "(unclosed"), &no)), "invalid_regex");
    assert_eq!(code(flag(&with_condition("x", Some("IsOneOf"), "a,b"), &no)), "invalid_condition");
    assert_eq!(code(flag(&with_condition("x", Some("LessThan"), "ten"), &no)), "invalid_condition");
    let missing = Uuid::new_v4();
    assert_eq!(
        code(flag(&with_condition("User is in segment", None, &format!("[\"{missing}\"]")), &no)),
        "unknown_segment"
    );
    assert_eq!(code(flag(&with_condition("User is not in segment", None, "not a list"), &no)), "invalid_condition");
}

#[test]
fn variation_values_match_the_type() {
    let no = HashSet::new();
    let mut f = good();
    f.variations[0].value = "True".into();
    assert_eq!(code(flag(&f, &no)), "invalid_variations");
    f.variation_type = "number".into();
    f.variations[0].value = "12a".into();
    assert_eq!(code(flag(&f, &no)), "invalid_variations");
    f.variation_type = "colour".into();
    assert_eq!(code(flag(&f, &no)), "invalid_variation_type");
}

#[test]
fn segment_rules_cannot_nest_segments() {
    let s = Segment {
        rules: vec![SegmentRule {
            conditions: vec![Condition {
                id: None,
                property: "User is in segment".into(),
                op: None,
                value: Some("[]".into()),
            }],
            ..SegmentRule::default()
        }],
        ..Segment::default()
    };
    assert_eq!(code(segment(&s)), "invalid_condition");
}

#[test]
fn numeric_conditions_accept_exactly_what_the_evaluator_reads() {
    let no = HashSet::new();
    // .NET `double.TryParse` (Float | AllowThousands): group separators, white space, symbols, trailing NULs.
    let cases = ["1,000", "1,000,000.5", " 42 ", "1e3", "+.5", "Infinity", "-infinity", "7\0", "ten", "NaN", "1e", ""];
    for value in cases {
        for op in ["LessThan", "LessEqualThan", "BiggerThan", "BiggerEqualThan"] {
            let result = flag(&with_condition("age", Some(op), value), &no);
            let evaluator_reads = crate::eval::parse_number(value).is_some();
            assert_eq!(result.is_ok(), evaluator_reads, "{op} {value:?}: {result:?}");
        }
    }
    flag(&with_condition("age", Some("BiggerThan"), "1,000"), &no).expect("the evaluator reads 1,000 as 1000");
}
