//! Stored user attributes (issue 15): the management routes, the merge into every evaluation path, and the user
//! message reaching exactly the sessions of that user, in process (embedded) and across two cluster nodes.

mod api;
mod cluster;

use serde_json::{Value, json};

/// A string flag serving `pro` to users whose `plan` is `pro`, and `free` to everyone else.
pub(crate) fn plan_flag() -> Value {
    json!({
        "name": "plan", "variationType": "string", "isEnabled": true, "disabledVariationId": "free",
        "variations": [{"id": "pro", "value": "pro"}, {"id": "free", "value": "free"}],
        "rules": [{"name": "pro plan", "conditions": [{"property": "plan", "op": "Equal", "value": "pro"}],
            "variations": [{"id": "pro", "rollout": [0, 1]}]}],
        "fallthrough": {"includedInExpt": true, "variations": [{"id": "free", "rollout": [0, 1]}]}
    })
}

/// A client data-sync for `key` claiming `plan`.
pub(crate) fn client_sync(key: &str, plan: &str) -> Value {
    json!({"timestamp": 0, "user": {"keyId": key, "name": key, "customizedProperties": [{"name": "plan", "value": plan}]}})
}

/// The `plan` flag's value in a client frame (`None` if the frame does not carry it).
pub(crate) fn plan_value(frame: &Value) -> Option<String> {
    let flags = frame["data"]["featureFlags"].as_array()?;
    flags.iter().find(|f| f["id"] == "plan").and_then(|f| f["variation"].as_str()).map(str::to_owned)
}

/// `PUT …/end-users/{key}` body setting `plan`.
pub(crate) fn plan_body(plan: &str) -> Value {
    json!({"customizedProperties": [{"name": "plan", "value": plan}]})
}
