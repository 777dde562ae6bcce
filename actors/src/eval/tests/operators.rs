//! Every operator of §5.3 as a table: (op, rule value, user value or `None` for an absent property, expected).

use serde_json::json;
use vane_schema::wire::EndUser;

use super::{flag_with_conditions, run};

/// Evaluates one condition on property `p` (absent if `user_value` is `None`) and reports whether the rule matched.
fn matches(op: &str, rule_value: Option<&str>, user_value: Option<&str>) -> bool {
    let flag = flag_with_conditions(json!([{"property": "p", "op": op, "value": rule_value}]));
    let user = user_value.map_or_else(|| EndUser::with_key("u"), |v| EndUser::with_key("u").with_property("p", v));
    run(&flag, &Default::default(), &user).1 == "rule-1"
}

#[test]
fn string_operators_are_ordinal() {
    let table = [
        ("Equal", "abc", "abc", true),
        ("Equal", "abc", "ABC", false),
        ("NotEqual", "abc", "ABC", true),
        ("NotEqual", "abc", "abc", false),
        ("Contains", "b", "abc", true),
        ("Contains", "B", "abc", false),
        ("Contains", "", "abc", true),
        ("NotContain", "x", "abc", true),
        ("NotContain", "b", "abc", false),
        ("StartsWith", "ab", "abc", true),
        ("StartsWith", "bc", "abc", false),
        ("StartsWith", "", "abc", true),
        ("EndsWith", "bc", "abc", true),
        ("EndsWith", "ab", "abc", false),
        ("Equal", "", "", true),
    ];
    for (op, rule, user, want) in table {
        assert_eq!(matches(op, Some(rule), Some(user)), want, "{op} {rule:?} on {user:?}");
    }
}

#[test]
fn a_missing_custom_property_is_the_empty_string() {
    assert!(matches("Equal", Some(""), None));
    assert!(matches("NotEqual", Some("x"), None));
    assert!(matches("NotContain", Some("x"), None));
    assert!(matches("StartsWith", Some(""), None));
    assert!(matches("NotOneOf", Some(r#"["x"]"#), None));
    assert!(matches("NotMatchRegex", Some("x"), None));
    assert!(matches("MatchRegex", Some("^$"), None));
}

#[test]
fn numeric_operators_parse_like_dotnet() {
    let table = [
        ("LessThan", "10", "9", true),
        ("LessThan", "10", "10", false),
        ("LessEqualThan", "10", "10", true),
        ("BiggerThan", "10", "10.5", true),
        ("BiggerEqualThan", "10", "10", true),
        ("BiggerEqualThan", "1000", "1,000", true),
        ("LessThan", "1000", "1,000", false),
        ("BiggerThan", "41", " 42 ", true),
        ("BiggerThan", "1e3", "1001", true),
        ("BiggerThan", "1000", "Infinity", true),
        ("LessThan", "0", "-infinity", true),
        ("LessThan", "10", "NaN", false),
        ("BiggerEqualThan", "10", "NaN", false),
        ("LessThan", "NaN", "1", false),
        ("LessThan", "10", "abc", false),
        ("LessThan", "abc", "1", false),
        ("LessThan", "10", "", false),
        ("BiggerThan", "1", "0x10", false),
    ];
    for (op, rule, user, want) in table {
        assert_eq!(matches(op, Some(rule), Some(user)), want, "{op} {rule:?} on {user:?}");
    }
}

#[test]
fn is_true_and_is_false_ignore_ascii_case_and_the_rule_value() {
    assert!(matches("IsTrue", Some("IsTrue"), Some("TrUe")));
    assert!(matches("IsTrue", Some("anything"), Some("true")));
    assert!(!matches("IsTrue", Some("IsTrue"), Some("yes")));
    assert!(!matches("IsTrue", Some("IsTrue"), Some(" true")));
    assert!(matches("IsFalse", Some("IsFalse"), Some("FALSE")));
    assert!(!matches("IsFalse", Some("IsFalse"), Some("true")));
    assert!(!matches("IsTrue", None, Some("true")), "a null rule value never matches");
}

#[test]
fn one_of_operators_decode_a_json_string_list() {
    let list = r#"["cn","us",null]"#;
    assert!(matches("IsOneOf", Some(list), Some("us")));
    assert!(!matches("IsOneOf", Some(list), Some("u")), "membership, not substring");
    assert!(!matches("IsOneOf", Some(list), Some("US")));
    assert!(matches("NotOneOf", Some(list), Some("fr")));
    assert!(!matches("NotOneOf", Some(list), Some("cn")));
    assert!(!matches("IsOneOf", Some("null"), Some("cn")));
    assert!(matches("NotOneOf", Some("null"), Some("cn")), "NotOneOf over a null list is true");
    for malformed in ["cn", r#""cn""#, "[1,2]", r#"["a",]"#, "{}", ""] {
        assert!(!matches("IsOneOf", Some(malformed), Some("cn")), "{malformed:?}");
        assert!(!matches("NotOneOf", Some(malformed), Some("zz")), "{malformed:?}");
    }
}

#[test]
fn regex_operators_search_unanchored_with_dotnet_syntax() {
    assert!(matches("MatchRegex", Some(r"\d{3}"), Some("ab1234")));
    assert!(!matches("MatchRegex", Some(r"^\d{3}$"), Some("ab1234")));
    assert!(matches("MatchRegex", Some("abc$"), Some("xabc\n")));
    assert!(matches("MatchRegex", Some(r"^(?=.*[A-Z])(?=.*\d).{8,}$"), Some("Passw0rdX")));
    assert!(matches("NotMatchRegex", Some("z"), Some("abc")));
    assert!(!matches("NotMatchRegex", Some("b"), Some("abc")));
    assert!(!matches("MatchRegex", Some("a("), Some("a(")), "an invalid pattern never matches");
    assert!(!matches("NotMatchRegex", Some("a("), Some("b")), "an invalid pattern never matches, negated too");
}

#[test]
fn unknown_or_null_operators_and_null_values_never_match() {
    assert!(!matches("Equals", Some("a"), Some("a")));
    assert!(!matches("equal", Some("a"), Some("a")));
    assert!(!matches("NotContains", Some("x"), Some("a")));
    for op in ["Equal", "NotEqual", "NotContain", "NotOneOf", "NotMatchRegex", "LessThan"] {
        assert!(!matches(op, None, Some("a")), "{op} with a null rule value");
    }
    let flag = flag_with_conditions(json!([{"property": "p", "op": null, "value": "a"}]));
    assert_eq!(run(&flag, &Default::default(), &EndUser::with_key("u").with_property("p", "a")).1, "default");
}

#[test]
fn an_absent_name_fails_every_operator_including_negated_ones() {
    for (op, value) in
        [("NotEqual", "x"), ("NotContain", "x"), ("NotOneOf", r#"["x"]"#), ("NotOneOf", "null"), ("Equal", "")]
    {
        let flag = flag_with_conditions(json!([{"property": "name", "op": op, "value": value}]));
        assert_eq!(run(&flag, &Default::default(), &EndUser::with_key("u")).1, "default", "{op}");
    }
    let flag = flag_with_conditions(json!([{"property": "name", "op": "NotEqual", "value": "x"}]));
    let mut named = EndUser::with_key("u");
    named.name = Some("bob".into());
    assert_eq!(run(&flag, &Default::default(), &named).1, "rule-1");
}

#[test]
fn built_in_and_blank_properties() {
    let flag = flag_with_conditions(json!([{"property": "keyId", "op": "Equal", "value": "u-1"}]));
    assert_eq!(run(&flag, &Default::default(), &EndUser::with_key("u-1")).1, "rule-1");
    let flag = flag_with_conditions(json!([{"property": "KeyId", "op": "Equal", "value": "u-1"}]));
    assert_eq!(run(&flag, &Default::default(), &EndUser::with_key("u-1")).1, "default", "names are case-sensitive");
    let flag = flag_with_conditions(json!([{"property": "  ", "op": "Equal", "value": ""}]));
    let user = EndUser::with_key("u").with_property("  ", "x");
    assert_eq!(run(&flag, &Default::default(), &user).1, "rule-1", "a blank property reads as \"\"");
    let user = EndUser::with_key("u").with_property("p", "first").with_property("p", "second");
    let flag = flag_with_conditions(json!([{"property": "p", "op": "Equal", "value": "first"}]));
    assert_eq!(run(&flag, &Default::default(), &user).1, "rule-1", "the first property of a name wins");
}
