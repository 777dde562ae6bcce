//! Unit tests of the track body parser.

use serde_json::json;

use super::*;

fn body(value: serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn valid(key: &str) -> serde_json::Value {
    json!({"user": {"keyId": key}, "variations": [{"featureFlagKey": "f", "variation": {"id": "v", "value": "1"}}],
           "metrics": [{"eventName": "m"}]})
}

#[test]
fn valid_items_are_kept_and_invalid_ones_named_in_order() {
    let parsed = parse(
        &body(json!([valid("u1"), {"user": {"name": "no key"}}, valid("u2"), {"user": {"keyId": "u\u{0}"}}, 42])),
        &Limits::default(),
    )
    .expect("parses");
    let keys: Vec<_> = parsed.items.iter().map(|i| i.user.as_ref().map(|u| u.key_id.as_str())).collect();
    assert_eq!(keys, [Some("u1"), Some("u2")]);
    let rejected: Vec<_> = parsed.rejected.iter().map(|r| (r.index, r.reason)).collect();
    assert_eq!(rejected, [(1, "missing_key"), (3, "nul"), (4, "invalid_item")]);
    assert!(parsed.rejected[1].message.starts_with("item 3: user.keyId contains U+0000"), "{:?}", parsed.rejected);
}

#[test]
fn bodies_that_are_not_arrays_are_json_errors() {
    for text in [&b"{}"[..], b"not json", b"[1,", b"[] []", b""] {
        assert!(matches!(parse(text, &Limits::default()), Err(TrackBodyError::Json(_))), "{text:?}");
    }
    assert!(parse(b"[]", &Limits::default()).expect("empty").items.is_empty());
}

#[test]
fn the_item_cap_stops_reading() {
    let limits = Limits { max_track_items: 3, ..Limits::default() };
    assert_eq!(parse(&body(json!([{}, {}, {}])), &limits).expect("three").rejected.len(), 3);
    let err = parse(format!("[{}1]", "{},".repeat(500_000)).as_bytes(), &limits).expect_err("too many");
    assert!(matches!(err, TrackBodyError::TooManyItems { max: 3 }), "{err}");
}

#[test]
fn the_issues_amplification_item_is_refused_by_count_before_it_is_built() {
    let long = "x".repeat(20_000);
    let metrics = vec!["{}"; 40_000].join(",");
    let text = format!(r#"[{{"user":{{"keyId":"{long}","name":"{long}"}},"metrics":[{metrics}]}}]"#);
    let parsed = parse(text.as_bytes(), &Limits::default()).expect("the body is well-formed");
    assert!(parsed.items.is_empty());
    assert_eq!(parsed.rejected[0].message, "item 0: 40000 events, more than the 1000 allowed per item");
}

#[test]
fn the_positional_form_of_an_item_is_counted_like_the_named_one() {
    let limits = Limits { max_item_events: 2, ..Limits::default() };
    let parsed = parse(&body(json!([[{"keyId": "u"}, [], [{}, {}, {}]]])), &limits).expect("parses");
    assert_eq!(parsed.rejected[0].reason, "too_many_events", "{:?}", parsed.rejected);
}

#[test]
fn body_budgets_refuse_the_whole_body_naming_the_item() {
    let limits = Limits { max_track_events: 4, ..Limits::default() };
    let err = parse(&body(json!([valid("a"), valid("b"), valid("c")])), &limits).expect_err("over");
    assert_eq!(err.to_string(), "item 2: the body has more than 4 events");
    let limits = Limits { max_track_expanded_bytes: 4_000, ..Limits::default() };
    let err = parse(&body(json!([valid("a"), valid(&"k".repeat(500))])), &limits).expect_err("over");
    assert!(matches!(err, TrackBodyError::TooLarge { index: 1, .. }), "{err}");
}
