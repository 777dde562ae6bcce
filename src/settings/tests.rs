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
            ("VANE__ADMIN__TOKEN", "12345678"),
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
    assert_eq!(s.admin.token.as_ref().map(|t| t.expose_secret().to_string()).as_deref(), Some("12345678"));
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
            ("VANE__ADMIN__TOKEN", "topsecret-token"),
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
