//! Every field of the §6.3 messages, checked against the exact JSON FeatBit produces.

use serde_json::json;
use uuid::Uuid;
use vane_schema::wire::message::{EndUserMessage, InsightMessage};
use vane_schema::wire::{EndUser, Insight, InsightVariation, MetricInsight, VariationInsight};

use super::*;

const ENV: &str = "ad99d259-1f50-4ed9-a002-7c65e25487df";
const AT: Position = Position { item: 0, event: 0 };

fn env() -> Uuid {
    Uuid::parse_str(ENV).expect("uuid")
}

fn bob() -> EndUser {
    EndUser { name: Some("Bob".into()), ..EndUser::with_key("u1").with_property("country", "us") }
}

fn evaluation(flag: &str, variation: Option<&str>, expt: bool) -> VariationInsight {
    VariationInsight {
        feature_flag_key: flag.into(),
        variation: variation.map(|id| InsightVariation { id: id.into(), value: "true".into() }),
        send_to_experiment: expt,
        timestamp: 1_719_750_000_123,
    }
}

fn metric(value: f64) -> MetricInsight {
    MetricInsight {
        route: "index/metric".into(),
        kind: "CustomEvent".into(),
        event_name: "checkout".into(),
        numeric_value: value,
        app_type: "javascript".into(),
        timestamp: 1_719_750_000_456,
    }
}

#[test]
fn end_user_message_has_featbit_shape_and_seen_time() {
    let msg = end_user_message(env(), &bob(), 1_700_000_000_000);
    let expected = json!({"envId": ENV, "keyId": "u1", "name": "Bob",
        "customizedProperties": [{"name": "country", "value": "us"}], "timestamp": 1_700_000_000_000_i64});
    assert_eq!(serde_json::to_value(&msg).expect("serializes"), expected);
    let back: EndUserMessage = serde_json::from_value(expected).expect("round trips");
    assert_eq!(back, msg);
}

#[test]
fn end_user_message_without_name_or_properties_uses_empty_values() {
    let msg = end_user_message(env(), &EndUser::with_key("u2"), 1);
    assert_eq!((msg.name.as_str(), msg.customized_properties.len()), ("", 0));
    let featbit: EndUserMessage =
        serde_json::from_str(&format!(r#"{{"envId":"{ENV}","keyId":"u2","name":"","customizedProperties":[]}}"#))
            .expect("FeatBit's own shape, without timestamp, is accepted");
    assert_eq!(featbit.timestamp, 0);
}

#[test]
fn flag_value_message_has_every_featbit_field_in_order() {
    let msg = flag_value_message(ENV, &bob(), &evaluation("new-ui", Some("var-1"), true), AT).expect("has variation");
    let top = serde_json::to_value(&msg).expect("serializes");
    assert_eq!(top["distinct_id"], json!(format!("{ENV}-new-ui")));
    assert_eq!(top["env_id"], json!(ENV));
    assert_eq!(top["event"], json!("FlagValue"));
    assert_eq!(top["timestamp"], json!(1_719_750_000_123_000_i64), "microseconds");
    assert_eq!(top["uuid"], json!(msg.uuid.to_string()));
    assert_eq!(
        top.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(["distinct_id", "env_id", "event", "properties", "timestamp", "uuid"].map(String::from).to_vec()),
        "snake_case top level and nothing else"
    );
    let expected = format!(
        r#"{{"route":"/Variation/GetMultiOptionVariation","flagId":"{ENV}-new-ui","envId":"{ENV}","accountId":"","projectId":"","featureFlagKey":"new-ui","sendToExperiment":true,"userKeyId":"u1","userName":"Bob","variationId":"var-1","tag_0":"u1","tag_1":"var-1","tag_2":"true","tag_3":"Bob"}}"#
    );
    assert_eq!(msg.properties, expected, "properties is a JSON string, byte for byte");
}

#[test]
fn flag_value_message_without_experiment_or_name() {
    let msg = flag_value_message(ENV, &EndUser::with_key("u9"), &evaluation("f", Some("v"), false), AT).expect("some");
    let props: serde_json::Value = serde_json::from_str(&msg.properties).expect("json");
    assert_eq!(props["sendToExperiment"], json!(false));
    assert_eq!(props["tag_2"], json!("false"));
    assert_eq!((props["userName"].clone(), props["tag_3"].clone()), (json!(""), json!("")));
}

#[test]
fn evaluation_without_variation_produces_nothing() {
    assert_eq!(flag_value_message(ENV, &bob(), &evaluation("f", None, true), AT), None);
}

#[test]
fn metric_message_has_every_featbit_field_in_order() {
    let msg = metric_message(ENV, &bob(), &metric(2.5), AT);
    assert_eq!(msg.distinct_id, "checkout");
    assert_eq!(msg.event, "CustomEvent");
    assert_eq!(msg.env_id, ENV);
    assert_eq!(msg.timestamp, 1_719_750_000_456_000);
    let expected = format!(
        r#"{{"route":"index/metric","type":"CustomEvent","eventName":"checkout","numericValue":2.5,"user":{{"keyId":"u1","name":"Bob"}},"applicationType":"javascript","projectId":"","envId":"{ENV}","accountId":"","tag_0":"u1","tag_1":"2.5","tag_2":"Bob"}}"#
    );
    assert_eq!(msg.properties, expected);
}

#[test]
fn metric_value_is_a_float32_and_its_text_has_no_trailing_zero() {
    let whole = metric_message(ENV, &bob(), &metric(1.0), AT);
    let props: serde_json::Value = serde_json::from_str(&whole.properties).expect("json");
    assert_eq!((props["numericValue"].clone(), props["tag_1"].clone()), (json!(1.0), json!("1")));
    let tenth = metric_message(ENV, &bob(), &metric(0.1), AT);
    let props: serde_json::Value = serde_json::from_str(&tenth.properties).expect("json");
    assert_eq!(props["tag_1"], json!("0.1"), "shortest float32 text, as .NET prints it");
}

#[test]
fn insight_messages_emit_evaluations_with_variation_then_metrics() {
    let item = Insight {
        user: Some(bob()),
        variations: vec![
            evaluation("a", Some("1"), true),
            evaluation("b", None, true),
            evaluation("c", Some("3"), false),
        ],
        metrics: vec![metric(1.0)],
    };
    let msgs = insight_messages(env(), &bob(), &item, 0);
    let ids: Vec<&str> = msgs.iter().map(|m| m.distinct_id.as_str()).collect();
    assert_eq!(ids, [format!("{ENV}-a").as_str(), &format!("{ENV}-c"), "checkout"]);
    let uuids: std::collections::HashSet<Uuid> = msgs.iter().map(|m| m.uuid).collect();
    assert_eq!(uuids.len(), 3, "every message gets its own uuid");
}

#[test]
fn uuids_are_stable_for_a_retried_body_and_differ_by_position_and_content() {
    let item =
        Insight { user: Some(bob()), variations: vec![evaluation("a", Some("1"), true)], metrics: vec![metric(1.0)] };
    let first = insight_messages(env(), &bob(), &item, 0);
    assert_eq!(first, insight_messages(env(), &bob(), &item, 0), "same body, same uuids");
    let moved = insight_messages(env(), &bob(), &item, 1);
    assert!(first.iter().zip(&moved).all(|(a, b)| a.uuid != b.uuid), "same events, other item");
    let twin = Insight { variations: vec![evaluation("a", Some("1"), true); 2], metrics: vec![], ..item.clone() };
    let twins = insight_messages(env(), &bob(), &twin, 0);
    assert_ne!(twins[0].uuid, twins[1].uuid, "identical events in one item");
    let mut later = item.clone();
    later.metrics[0].timestamp += 1;
    assert_ne!(insight_messages(env(), &bob(), &later, 0)[1].uuid, first[1].uuid, "content matters");
    assert_ne!(insight_messages(Uuid::new_v4(), &bob(), &item, 0)[0].uuid, first[0].uuid, "environment matters");
}

#[test]
fn insight_message_round_trips_through_json() {
    let msg = metric_message(ENV, &bob(), &metric(3.0), AT);
    let text = serde_json::to_string(&msg).expect("serializes");
    assert_eq!(serde_json::from_str::<InsightMessage>(&text).expect("parses"), msg);
}

#[test]
fn absurd_timestamps_saturate_instead_of_wrapping() {
    let mut m = metric(1.0);
    m.timestamp = i64::MAX / 10;
    assert_eq!(metric_message(ENV, &bob(), &m, AT).timestamp, i64::MAX);
}
