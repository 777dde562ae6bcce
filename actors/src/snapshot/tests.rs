//! Snapshot versioning, idempotence and payload shapes.

use std::sync::Arc;

use serde_json::Value;
use uuid::Uuid;
use vane_schema::wire::time::parse;
use vane_schema::wire::{
    Condition, EndUser, Fallthrough, FeatureFlag, RolloutVariation, Segment, TargetRule, Variation,
};

use super::{EnvSnapshot, server_patch};

fn flag(env: Uuid, key: &str, at: &str) -> FeatureFlag {
    FeatureFlag {
        id: Uuid::new_v4(),
        env_id: env,
        key: key.into(),
        variation_type: "boolean".into(),
        variations: vec![
            Variation { id: "t".into(), name: "T".into(), value: "true".into() },
            Variation { id: "f".into(), name: "F".into(), value: "false".into() },
        ],
        is_enabled: true,
        disabled_variation_id: "f".into(),
        fallthrough: Fallthrough {
            variations: vec![RolloutVariation { id: "t".into(), rollout: vec![0.0, 1.0], expt_rollout: Some(1.0) }],
            ..Fallthrough::default()
        },
        updated_at: parse(at).expect("time"),
        ..FeatureFlag::default()
    }
}

fn in_segment(mut f: FeatureFlag, segment: Uuid) -> FeatureFlag {
    f.rules = vec![TargetRule {
        name: "seg".into(),
        conditions: vec![Condition {
            id: None,
            property: "User is in segment".into(),
            op: None,
            value: Some(format!("[\"{segment}\"]")),
        }],
        variations: vec![RolloutVariation { id: "f".into(), rollout: vec![0.0, 1.0], expt_rollout: None }],
        ..TargetRule::default()
    }];
    f
}

fn segment(env: Uuid, members: &[&str], at: &str) -> Segment {
    Segment {
        id: Uuid::new_v4(),
        env_id: env,
        included: members.iter().map(|m| m.to_string()).collect(),
        updated_at: parse(at).expect("time"),
        ..Segment::default()
    }
}

fn json(bytes: &bytestring::ByteString) -> Value {
    serde_json::from_str(bytes).expect("json")
}

#[test]
fn server_full_frame_is_serialized_once_and_shared() {
    let env = Uuid::new_v4();
    let s = EnvSnapshot::new(env, &[flag(env, "a", "2024-01-01T00:00:00.000Z")], &[]);
    let (one, two) = (s.server_sync(0), s.server_sync(0));
    assert_eq!(one.as_ptr(), two.as_ptr(), "the same bytes, not a second serialization");
    assert_eq!(json(&one)["data"]["eventType"], "full");
}

#[test]
fn applying_changes_is_idempotent_and_never_regresses() {
    let env = Uuid::new_v4();
    let v1 = flag(env, "a", "2024-01-01T00:00:00.000Z");
    let s = EnvSnapshot::new(env, std::slice::from_ref(&v1), &[]);
    assert!(s.with_flag(&v1).is_none(), "duplicate");
    let mut v2 = v1.clone();
    v2.is_enabled = false;
    v2.updated_at = parse("2024-01-01T00:00:01.000Z").expect("time");
    let (s2, changed) = s.with_flag(&v2).expect("newer applies");
    assert!(!changed.flag().is_enabled);
    assert!(s2.with_flag(&v1).is_none(), "an older version arriving late is ignored");
    assert_eq!(s2.version(), 1_704_067_201_000);
    assert_eq!(s.version(), 1_704_067_200_000, "the old snapshot is untouched");
}

#[test]
fn a_segment_change_reports_only_the_flags_that_use_it() {
    let env = Uuid::new_v4();
    let seg = segment(env, &[], "2024-01-01T00:00:00.000Z");
    let uses = in_segment(flag(env, "uses", "2024-01-01T00:00:00.000Z"), seg.id);
    let other = flag(env, "other", "2024-01-01T00:00:00.000Z");
    let s = EnvSnapshot::new(env, &[uses, other], std::slice::from_ref(&seg));
    let user = EndUser::with_key("u1");
    let before = json(&s.client_sync(&user, 0));
    assert_eq!(before["data"]["featureFlags"].as_array().map(Vec::len), Some(2));

    let mut changed = seg.clone();
    changed.included = vec!["u1".into()];
    changed.updated_at = parse("2024-01-01T00:00:05.000Z").expect("time");
    let applied = s.with_segment(&changed, &[]).expect("newer applies");
    let (s2, affected) = (applied.snapshot, applied.affected);
    assert_eq!(affected.iter().map(|f| f.flag().key.as_str()).collect::<Vec<_>>(), ["uses"]);
    let push = json(&s2.client_patch(&user, &affected));
    assert_eq!(push["data"]["eventType"], "patch");
    assert_eq!(push["data"]["userKeyId"], "u1");
    assert_eq!(push["data"]["featureFlags"][0]["variation"], "false", "u1 is now in the segment");
    assert_eq!(push["data"]["featureFlags"][0]["matchReason"], "seg");
    assert!(s2.with_segment(&changed, &[]).is_none());
}

#[test]
fn patches_filter_strictly_after_the_timestamp() {
    let env = Uuid::new_v4();
    let s = EnvSnapshot::new(
        env,
        &[flag(env, "a", "2024-01-01T00:00:00.100Z"), flag(env, "b", "2024-01-01T00:00:00.101Z")],
        &[segment(env, &[], "2024-01-01T00:00:00.100Z")],
    );
    let patch = json(&s.server_sync(1_704_067_200_100));
    assert_eq!(patch["data"]["featureFlags"].as_array().map(Vec::len), Some(1));
    assert_eq!(patch["data"]["segments"], serde_json::json!([]));
    assert!(s.is_unchanged_since(1_704_067_200_101));
    assert!(!s.is_unchanged_since(0), "timestamp 0 is always a full sync");
    assert!(s.has_no_flags_after(1_704_067_200_101));
}

#[test]
fn server_push_carries_changed_flags_and_segments_as_they_are() {
    let env = Uuid::new_v4();
    let f = flag(env, "a", "2024-01-01T00:00:00.000Z");
    let s = EnvSnapshot::empty(env);
    let (_, changed) = s.with_flag(&f).expect("new flag");
    let frame = json(&server_patch(&[Arc::clone(&changed)], &[]));
    assert_eq!(frame["data"]["eventType"], "patch");
    assert_eq!(frame["data"]["featureFlags"][0]["key"], "a");
    assert_eq!(frame["data"]["segments"], serde_json::json!([]));
}

#[test]
fn a_segment_change_applies_the_flags_it_bumped_in_the_same_version() {
    let env = Uuid::new_v4();
    let seg = segment(env, &[], "2024-01-01T00:00:00.000Z");
    let uses = in_segment(flag(env, "uses", "2024-01-01T00:00:00.000Z"), seg.id);
    let s = EnvSnapshot::new(env, std::slice::from_ref(&uses), std::slice::from_ref(&seg));
    let mut changed = seg.clone();
    changed.updated_at = parse("2024-01-01T00:00:05.000Z").expect("time");
    let mut bumped = uses.clone();
    bumped.updated_at = changed.updated_at;
    let applied = s.with_segment(&changed, &[bumped, uses]).expect("applies");
    assert_eq!(applied.changed.len(), 1, "only the newer copy of the flag is applied");
    assert_eq!(applied.affected[0].updated_ms(), 1_704_067_205_000, "clients see the bumped version");
    assert_eq!(applied.snapshot.version(), 1_704_067_205_000);
}
