//! Round trips of the FeatBit JSON model on the spec's examples and on fixtures that set every field.

use serde_json::{Value, json};

use crate::wire::sdk::{ClientPayload, DataSyncRequest, EventType, Frame, ServerPayload};
use crate::wire::{FeatureFlag, Insight, Segment};

const FLAG: &str = include_str!("../../../tests/fixtures/flag-full.json");
const SEGMENT: &str = include_str!("../../../tests/fixtures/segment-full.json");

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(text: &str) -> (T, Value) {
    let parsed: T = serde_json::from_str(text).expect("parses");
    (parsed, serde_json::to_value(serde_json::from_str::<T>(text).expect("parses")).expect("serializes"))
}

#[test]
fn flag_round_trips_every_field() {
    let (flag, out): (FeatureFlag, _) = round_trip(FLAG);
    assert_eq!(out, serde_json::from_str::<Value>(FLAG).expect("json"));
    assert_eq!(flag.rules[0].conditions[1].op, None);
    assert_eq!(flag.rules[0].variations[1].expt_rollout, Some(0.5));
    assert_eq!(flag.fallthrough.dispatch_key, None);
    assert_eq!(flag.variation("f7280f87-b277-4cec-9f8f-66e2f890e845").map(|v| v.value.as_str()), Some("false"));
}

#[test]
fn segment_round_trips_every_field() {
    let (segment, out): (Segment, _) = round_trip(SEGMENT);
    assert_eq!(out, serde_json::from_str::<Value>(SEGMENT).expect("json"));
    assert_eq!(segment.rules[0].conditions[0].id, None, "absent condition ids stay absent");
}

#[test]
fn flag_tolerates_nulls_unknown_fields_and_long_fractions() {
    let flag: FeatureFlag = serde_json::from_value(json!({
        "id": "7a04ac4e-b468-4bb5-8123-af980022fe54", "key": "k", "description": null, "tags": null,
        "targetUsers": null, "rules": null, "somethingNew": {"x": 1}, "updatedAt": "2023-01-28T02:08:14.8043456Z",
        "isEnabled": "true"
    }))
    .expect("lenient");
    assert_eq!(flag.description, "");
    assert!(flag.tags.is_empty() && flag.rules.is_empty() && flag.target_users.is_empty());
    assert!(flag.is_enabled);
    // Written back with exactly three fractional digits and Z.
    let out = serde_json::to_value(&flag).expect("serializes");
    assert_eq!(out["updatedAt"], "2023-01-28T02:08:14.804Z");
}

#[test]
fn insights_enabled_is_true_when_absent_null_or_defaulted() {
    let read = |v: Value| serde_json::from_value::<FeatureFlag>(v).expect("parses").insights_enabled.0;
    assert!(read(json!({"key": "k"})));
    assert!(read(json!({"key": "k", "insightsEnabled": null})));
    assert!(!read(json!({"key": "k", "insightsEnabled": false})));
    assert!(!read(json!({"key": "k", "insightsEnabled": "false"})));
    assert!(FeatureFlag::default().insights_enabled.0);
    assert!(serde_json::from_value::<FeatureFlag>(json!({"insightsEnabled": 3})).is_err());
}

#[test]
fn shared_segment_empty_env_id_reads_as_nil() {
    let s: Segment =
        serde_json::from_value(json!({"id": "0779d76b-afc6-4886-ab65-af8c004273ad", "envId": ""})).expect("lenient");
    assert!(s.env_id.is_nil());
}

#[test]
fn user_values_and_lookup_follow_featbit() {
    let user: crate::wire::EndUser = serde_json::from_value(json!({
        "keyId": "u1", "customizedProperties": [{"name": "age", "value": 42}, {"name": "vip", "value": true}]
    }))
    .expect("lenient");
    assert_eq!(user.value_of("age"), Some("42"));
    assert_eq!(user.value_of("vip"), Some("true"));
    assert_eq!(user.value_of("keyId"), Some("u1"));
    assert_eq!(user.value_of("name"), None, "a missing name is null");
    assert_eq!(user.value_of("missing"), Some(""), "a missing property is the empty string");
    assert_eq!(user.value_of(""), Some(""));
    assert!(!crate::wire::EndUser::with_key("  ").is_valid());
}

#[test]
fn insight_body_from_the_spec_parses() {
    let items: Vec<Insight> = serde_json::from_value(json!([{
        "user": {"keyId": "u1", "name": "Bob", "customizedProperties": [{"name": "plan", "value": "pro"}]},
        "variations": [{"featureFlagKey": "new-ui", "variation": {"id": "v1", "value": "true", "reason": "x"},
                        "sendToExperiment": true, "timestamp": 1719750000000u64}],
        "metrics": [{"route": "index/metric", "type": "CustomEvent", "eventName": "checkout", "numericValue": "1.5",
                     "appType": "javascript", "timestamp": "1719750000000"}]
    }, {"user": {"keyId": "u2"}}]))
    .expect("parses");
    assert_eq!(items[0].metrics[0].numeric_value, 1.5);
    assert_eq!(items[0].metrics[0].timestamp, 1_719_750_000_000);
    assert_eq!(items[0].variations[0].variation.as_ref().map(|v| v.id.as_str()), Some("v1"));
    assert!(items[1].variations.is_empty() && items[1].metrics.is_empty());
}

#[test]
fn data_sync_request_timestamp_rules() {
    let parse = |v: Value| serde_json::from_value::<DataSyncRequest>(v).expect("parses").timestamp;
    assert_eq!(parse(json!({})), 0);
    assert_eq!(parse(json!({"timestamp": null})), 0);
    assert_eq!(parse(json!({"timestamp": 1.5})), 0);
    assert_eq!(parse(json!({"timestamp": 1674885300000u64})), 1_674_885_300_000);
    assert_eq!(EventType::for_timestamp(0), EventType::Full);
    assert_eq!(EventType::for_timestamp(5), EventType::Patch);
}

#[test]
fn sdk_payload_shapes_match_the_protocol() {
    let flag: FeatureFlag = serde_json::from_str(FLAG).expect("parses");
    let server = Frame::data_sync(ServerPayload {
        event_type: EventType::Full,
        feature_flags: vec![std::borrow::Cow::Borrowed(&flag)],
        segments: Vec::new(),
    });
    let v = serde_json::to_value(&server).expect("serializes");
    assert_eq!(v["messageType"], "data-sync");
    assert_eq!(v["data"]["eventType"], "full");
    assert_eq!(v["data"]["segments"], json!([]));

    let client_json = json!({"eventType": "patch", "userKeyId": "u1", "featureFlags": [{
        "id": "return-10p-true", "variation": "false", "variationType": "boolean",
        "variationId": "f7280f87-b277-4cec-9f8f-66e2f890e845", "matchReason": "default",
        "variationOptions": [{"id": "8af48424-cdd7-42e6-b138-a6c589347ca1", "value": "true"}],
        "sendToExperiment": true, "timestamp": 1674871694804u64}]});
    let text = client_json.to_string();
    let client: ClientPayload<'_> = serde_json::from_str(&text).expect("parses");
    assert_eq!(serde_json::to_value(&client).expect("serializes"), client_json);
    assert!(serde_json::to_value(&client).expect("serializes").get("segments").is_none());
}

/// A seeded SplitMix64 stream: reproducible random doubles without a dependency.
fn doubles(seed: u64) -> impl Iterator<Item = f64> {
    let mut state = seed;
    std::iter::from_fn(move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // Alternate uniform values in [0, 1) with arbitrary bit patterns below 1.0 (subnormals, tiny exponents).
        Some(if z & 1 == 0 {
            (z >> 11) as f64 / (1u64 << 53) as f64
        } else {
            f64::from_bits(z % 0x3FF0_0000_0000_0000)
        })
    })
}

#[test]
fn rollout_numbers_survive_json_text_bit_exactly() {
    // The example first: the fast (not correctly rounded) parser read it as another double.
    let known = [0.247_401_936_445_385_22, 5e-324, 2.225_073_858_507_201e-308, 1.0 - f64::EPSILON / 2.0];
    for x in known.into_iter().chain(doubles(7).take(100_000)) {
        let text = format!("{{\"id\":\"v\",\"rollout\":[{x:?},1],\"exptRollout\":{x:?}}}");
        let direct: crate::wire::RolloutVariation = serde_json::from_str(&text).expect("parses");
        let via_value: crate::wire::RolloutVariation =
            serde_json::from_value(serde_json::from_str(&text).expect("json")).expect("parses");
        let again: crate::wire::RolloutVariation =
            serde_json::from_str(&serde_json::to_string(&direct).expect("serializes")).expect("parses");
        for got in [&direct, &via_value, &again] {
            assert_eq!(got.rollout[0].to_bits(), x.to_bits(), "{x:?} from {text}");
            assert_eq!(got.expt_rollout.map(f64::to_bits), Some(x.to_bits()), "{x:?}");
        }
    }
}
