//! The published vectors: hash buckets (§5.4), the python SDK's functional data set, the ELS client data-sync
//! snapshot (§2.4).

use serde_json::Value;
use vane_schema::wire::{EndUser, FeatureFlag, Segment};

use super::super::{CompiledFlag, compile_segments, evaluate, rollout_of_key};

#[test]
fn rollout_of_key_matches_the_published_hash_vectors() {
    let vectors = [
        ("test-value", 0.14653629204258323),
        ("qKPKh1S3FolC", 0.9105919692665339),
        ("3eacb184-2d79-49df-9ea7-edd4f10e4c6f", 0.08994403155520558),
        ("return-10p-true3db19c81-e149-4b97-8a0d-79d34531fe59", 0.6181446979753673),
        ("exptreturn-10p-true3db19c81-e149-4b97-8a0d-79d34531fe59", 0.10480360919609666),
        ("my-flaguser-1", 0.3866185671649873),
        ("exptmy-flaguser-1", 0.2088063913397491),
        ("", 0.3004114832729101),
    ];
    for (key, want) in vectors {
        assert_eq!(rollout_of_key(key), want, "{key:?}");
    }
}

fn data_sync(text: &str) -> (Vec<FeatureFlag>, Vec<Segment>) {
    let v: Value = serde_json::from_str(text).unwrap();
    let data = &v["data"];
    (
        serde_json::from_value(data["featureFlags"].clone()).unwrap(),
        serde_json::from_value(data["segments"].clone()).unwrap(),
    )
}

#[test]
fn python_sdk_functional_vectors() {
    // Arrange
    let (flags, segments) = data_sync(include_str!("../../../tests/fixtures/python_sdk_test_data.json"));
    let segments = compile_segments(&segments);
    let flag = |key: &str| CompiledFlag::compile(flags.iter().find(|f| f.key == key).unwrap());
    let evaluation_test = flag("ff-evaluation-test");
    let user = |key: &str, props: &[(&str, &str)]| {
        let mut u = EndUser::with_key(key);
        u.name = Some(key.to_owned());
        props.iter().fold(u, |u, (n, v)| u.with_property(*n, *v))
    };
    let cases = [
        (user("test-target-user", &[]), "teamB", "targeted"),
        (user("test-true-user", &[("graduated", "true")]), "teamC", "True Rule"),
        (user("test-equal-user", &[("country", "CHN")]), "teamD", "Equal Rule"),
        (user("test-than-user", &[("salary", "2500")]), "teamE", "Than Rule"),
        (user("test-contain-user", &[("email", "test-contain-user@gmail.com")]), "teamF", "Contain Rule"),
        (user("test-isoneof-user", &[("major", "CS")]), "teamG", "OneOf Rule"),
        (user("group-admin-user", &[]), "teamH", "StartEnd Rule"),
        (user("test-regex-user", &[("phone", "18555358000")]), "teamI", "MatchRegex Rule"),
        (user("test-fallthrough-user", &[]), "teamA", "default"),
    ];
    for (u, value, reason) in &cases {
        // Act
        let e = evaluate(&evaluation_test, &segments, u);
        // Assert
        assert_eq!((e.value(), e.reason.as_str()), (Some(*value), *reason), "user {}", u.key_id);
    }
    let off_flag = flag("ff-test-off");
    let off = evaluate(&off_flag, &segments, &user("test-user-1", &[("country", "us")]));
    assert_eq!((off.value(), off.reason.as_str(), off.send_to_experiment), (Some("false"), "flag disabled", false));
}

#[test]
fn python_sdk_segment_and_regex_flags() {
    let (flags, segments) = data_sync(include_str!("../../../tests/fixtures/python_sdk_test_data.json"));
    let segments = compile_segments(&segments);
    let flag = |key: &str| CompiledFlag::compile(flags.iter().find(|f| f.key == key).unwrap());
    let (seg, string) = (flag("ff-test-seg"), flag("ff-test-string"));
    let reason = |f: &CompiledFlag, u: EndUser| evaluate(f, &segments, &u).reason.as_str().to_owned();
    assert_eq!(reason(&seg, EndUser::with_key("test-user-1")), "segment rule");
    assert_eq!(reason(&seg, EndUser::with_key("test-user-2").with_property("major", "cs")), "default");
    assert_eq!(reason(&seg, EndUser::with_key("u").with_property("major", "math")), "segment rule");
    assert_eq!(reason(&string, EndUser::with_key("someone@featbit.co")), "Email");
    assert_eq!(reason(&string, EndUser::with_key("+8613555358000")), "CN Phone Number");
    assert_eq!(reason(&string, EndUser::with_key("0612345678")), "FR Phone Number");
    assert_eq!(reason(&string, EndUser::with_key("nobody")), "default");
}

#[test]
fn els_client_data_sync_snapshot() {
    // Arrange: ELS's fake store and the user of `DataSyncTests.DoClientDataSyncAsync`.
    let flags: Vec<FeatureFlag> = serde_json::from_str(include_str!("../../../tests/fixtures/els_flags.json")).unwrap();
    let segments: Vec<Segment> =
        serde_json::from_str(include_str!("../../../tests/fixtures/els_segments.json")).unwrap();
    let segments = compile_segments(&segments);
    let mut user = EndUser::with_key("3db19c81-e149-4b97-8a0d-79d34531fe59")
        .with_property("email", "tester@featbit.com")
        .with_property("role", "qa")
        .with_property("location", "127.0.0.1");
    user.name = Some("tester".into());
    let want = [
        ("returns-true", "true"),
        ("return-10p-true", "false"),
        ("individual-targeting", "true"),
        ("two-custom-rules", "true"),
        ("custom-rule-with-segment", "true"),
    ];
    for (key, value) in want {
        // Act
        let compiled = CompiledFlag::compile(flags.iter().find(|f| f.key == key).unwrap());
        let e = evaluate(&compiled, &segments, &user);
        // Assert: the verified snapshot says every flag is `default` with sendToExperiment true.
        assert_eq!((e.value(), e.reason.as_str(), e.send_to_experiment), (Some(value), "default", true), "{key}");
    }
}
