//! Settings layering, without touching the process environment.

use std::collections::HashMap;
use std::path::Path;

use secrecy::ExposeSecret;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

#[test]
fn compiled_in_defaults_are_embedded_mode_on_port_5100() {
    let s = Settings::load_from(None, env(&[])).expect("defaults load");
    assert_eq!(s.http.addr, "0.0.0.0:5100");
    assert!(s.is_embedded_database());
    assert!(s.bus.amqp_url.is_none() && s.cache.redis_url.is_none() && s.admin.token.is_none());
    assert_eq!(s.cache.key_prefix, "featbit:");
    assert_eq!(s.streaming.token_expiry_seconds, 30);
}

#[test]
fn file_then_env_override_in_order() {
    let file = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/cluster.toml"));
    let s = Settings::load_from(
        Some(file),
        env(&[
            ("VANE__HTTP__ADDR", "127.0.0.1:0"),
            ("VANE__CACHE__KEY_PREFIX", "t:1:"),
            ("VANE__BUS__AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/t-1"),
            ("VANE__STREAMING__OUTBOUND_QUEUE", "8"),
            ("VANE__ADMIN__TOKEN", "12345678901234567890123456789012"),
        ]),
    )
    .expect("loads");
    assert_eq!(s.http.addr, "127.0.0.1:0");
    assert!(!s.is_embedded_database(), "the file switched to postgres");
    assert_eq!(s.cache.key_prefix, "t:1:");
    assert_eq!(
        s.bus.amqp_url.as_ref().map(|u| u.expose_secret().to_string()).as_deref(),
        Some("amqp://guest:guest@127.0.0.1:5672/t-1")
    );
    assert_eq!(s.streaming.outbound_queue, 8);
    assert_eq!(
        s.admin.token.as_ref().map(|t| t.expose_secret().to_string()).as_deref(),
        Some("12345678901234567890123456789012")
    );
}

#[test]
fn test_profile_loads() {
    let file = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/test.toml"));
    let s = Settings::load_from(Some(file), env(&[])).expect("loads");
    assert_eq!(s.http.addr, "127.0.0.1:0");
    assert!(!s.demo.enabled);
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let s = Settings::load_from(
        None,
        env(&[
            ("VANE__DATABASE__URL", "postgres://u:hunter2@db/vane"),
            ("VANE__ADMIN__TOKEN", "topsecret-token-0123456789abcdefghij"),
            ("VANE__CACHE__REDIS_URL", "redis://:redispw@cache:6379"),
        ]),
    )
    .expect("loads");
    let debug = format!("{s:?}");
    for secret in ["hunter2", "topsecret-token", "redispw"] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
    }
}

#[test]
fn invalid_values_name_the_key() {
    for (key, value, expected) in [
        ("VANE__HTTP__ADDR", "not-an-address", "http.addr"),
        ("VANE__DATABASE__URL", "mysql://x", "database.url"),
        ("VANE__BUS__AMQP_URL", "http://x", "bus.amqp_url"),
        ("VANE__CACHE__REDIS_URL", "memcached://x", "cache.redis_url"),
        ("VANE__ADMIN__TOKEN", "short", "admin.token"),
        ("VANE__STREAMING__OUTBOUND_QUEUE", "lots", "outbound_queue"),
        ("VANE__TELEMETRY__FORMAT", "xml", "format"),
    ] {
        let err = Settings::load_from(None, env(&[(key, value)])).expect_err(key).to_string();
        assert!(err.contains(expected), "{key}={value}: {err}");
    }
}

#[test]
fn a_missing_config_file_is_an_error() {
    let err = Settings::load_from(Some(Path::new("/nonexistent/vane.toml")), env(&[])).expect_err("missing file");
    assert!(err.to_string().contains("invalid configuration"), "{err}");
}

#[test]
fn admin_tokens_must_be_long_and_not_a_documented_placeholder() {
    for bad in [
        "short",
        "0123456789abcdef0123456789abcde",
        "change-me-to-a-long-random-string",
        "CHANGE-ME-please-0123456789abcdefgh",
    ] {
        let err = Settings::load_from(None, env(&[("VANE__ADMIN__TOKEN", bad)])).expect_err(bad).to_string();
        assert!(err.contains("admin.token"), "{bad}: {err}");
    }
    let file = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/cluster.toml"));
    let s = Settings::load_from(Some(file), env(&[])).expect("the cluster file holds no usable token");
    assert!(s.admin.token.is_none());
    let compose = include_str!("../../docker/compose.yaml");
    assert!(!compose.contains("change-me"), "compose.yaml must not ship a placeholder token");
}

/// Regression: `try_parsing` turned a digits-only token into a number, dropping its leading zeros.
#[test]
fn secret_settings_are_never_type_coerced() {
    let digits = "00012345678901234567890123456789012";
    let s = Settings::load_from(
        None,
        env(&[("VANE__ADMIN__TOKEN", digits), ("VANE__HTTP__WORKERS", "3"), ("VANE__DEMO__ENABLED", "false")]),
    )
    .expect("loads");
    assert_eq!(s.admin.token.as_ref().map(|t| t.expose_secret().to_owned()).as_deref(), Some(digits));
    assert_eq!(s.http.workers, 3, "numbers still parse where a number is expected");
    assert!(!s.demo.enabled, "and booleans");
}
