//! Unit tests of the user and item limits.

use vane_schema::wire::{EndUser, Insight, InsightVariation, MetricInsight, VariationInsight};

use super::*;

fn item(user: EndUser, variations: usize, metrics: usize) -> Insight {
    let v = VariationInsight {
        feature_flag_key: "flag".into(),
        variation: Some(InsightVariation { id: "v1".into(), value: "true".into() }),
        ..VariationInsight::default()
    };
    let m = MetricInsight { event_name: "checkout".into(), ..MetricInsight::default() };
    Insight { user: Some(user), variations: vec![v; variations], metrics: vec![m; metrics] }
}

#[test]
fn users_within_the_limits_pass() {
    let user = EndUser { name: Some("é".repeat(256)), ..EndUser::with_key("k".repeat(512)).with_property("p", "v") };
    assert_eq!(Limits::default().check_user(&user), Ok(()));
}

#[test]
fn each_user_limit_names_the_field() {
    let limits = Limits { max_properties: 2, ..Limits::default() };
    let cases = [
        (EndUser::with_key(" "), "user.keyId is required"),
        (EndUser::with_key("k".repeat(513)), "user.keyId has 513 characters"),
        (EndUser { name: Some("n".repeat(257)), ..EndUser::with_key("k") }, "user.name has 257"),
        (EndUser::with_key("a\0b"), "user.keyId contains U+0000"),
        (EndUser { name: Some("\0".into()), ..EndUser::with_key("k") }, "user.name contains U+0000"),
        (
            EndUser::with_key("k").with_property("a", "1").with_property("b", "2").with_property("c", "3"),
            "user has 3 customizedProperties",
        ),
        (EndUser::with_key("k").with_property("ok", "1").with_property("x\0", "2"), "customizedProperties[1].name"),
        (EndUser::with_key("k").with_property("p", "v".repeat(1025)), "customizedProperties[0].value has 1025"),
    ];
    for (user, expected) in cases {
        let error = limits.check_user(&user).expect_err(expected).to_string();
        assert!(error.contains(expected), "{error} / {expected}");
    }
}

#[test]
fn items_are_checked_for_event_count_and_event_fields() {
    let limits = Limits { max_item_events: 3, ..Limits::default() };
    assert_eq!(limits.check_item(&item(EndUser::with_key("u"), 2, 1)), Ok(()));
    assert_eq!(
        limits.check_item(&item(EndUser::with_key("u"), 2, 2)),
        Err(LimitError::TooManyEvents { count: 4, max: 3 })
    );
    let mut nul = item(EndUser::with_key("u"), 1, 1);
    nul.metrics[0].route = "index\0".into();
    assert_eq!(limits.check_item(&nul), Err(LimitError::Nul("metrics[0].route".into())));
    let mut long = item(EndUser::with_key("u"), 1, 0);
    long.variations[0].feature_flag_key = "f".repeat(513);
    let error = limits.check_item(&long).expect_err("too long").to_string();
    assert!(error.starts_with("variations[0].featureFlagKey has 513"), "{error}");
    assert_eq!(limits.check_item(&Insight::default()), Err(LimitError::MissingKey));
}

#[test]
fn the_expanded_size_grows_with_key_and_name_per_event() {
    let small = expanded_bytes(&item(EndUser::with_key("u"), 1, 1));
    let long_key = expanded_bytes(&item(EndUser::with_key("k".repeat(500)), 1, 1));
    assert!(long_key >= small + 3 * 2 * 499, "the key is copied into both events and the user: {small} {long_key}");
    let many = expanded_bytes(&item(EndUser::with_key("u"), 100, 100));
    assert!(many > 200 * EVENT_OVERHEAD, "{many}");
    assert_eq!(json_len("a\"\\\n"), 1 + 2 + 2 + 6);
}
