//! Traces across nodes: a PATCH on node A and the push it causes on node B share one trace (the W3C context
//! travels in the RabbitMQ message), received by an in-test OTLP/gRPC collector; and JSON log lines carry the
//! `trace_id` of the request that caused them.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::{Node, TOKEN, WAIT, flag};
use crate::helpers::cluster::{self, Cluster, SHARED_REDIS, string_flag};
use crate::helpers::otlp::{OtlpReceiver, ReceivedSpan};
use crate::helpers::sdk::WsClient;
use crate::helpers::wait::eventually;

/// A fresh trace id and a `traceparent` header starting that trace (sampled).
fn new_trace() -> (String, String) {
    let trace_id = Uuid::new_v4().simple().to_string();
    let parent = &Uuid::new_v4().simple().to_string()[..16];
    (trace_id.clone(), format!("00-{trace_id}-{parent}-01"))
}

/// Whether `span` descends from the span `ancestor` (walking parents within `by_id`).
fn descends_from(span: &ReceivedSpan, ancestor: &str, by_id: &HashMap<&str, &ReceivedSpan>) -> bool {
    let mut parent = span.parent_span_id.as_str();
    for _ in 0..32 {
        if parent == ancestor {
            return true;
        }
        match by_id.get(parent) {
            Some(p) => parent = p.parent_span_id.as_str(),
            None => return false,
        }
    }
    false
}

#[tokio::test]
async fn one_trace_holds_the_patch_on_node_a_and_the_push_on_node_b() {
    // Arrange: two nodes exporting to the receiver, a flag, and a server SDK session on node B.
    let receiver = OtlpReceiver::start().await;
    let cluster = Cluster::start_with(2, SHARED_REDIS, &[("VANE__TELEMETRY__OTLP_ENDPOINT", &receiver.endpoint)]).await;
    cluster.wait_healthy(WAIT).await;
    let (env_id, secret, _) = cluster.env("prod").await;
    let path = format!("/environments/{env_id}/feature-flags/checkout");
    cluster.admin(0, Method::PUT, &path, Some(string_flag("v1"))).await;
    let mut ws = WsClient::open(cluster.base(1), "server", &secret).await;
    ws.data_sync(json!({"timestamp": 0})).await;
    ws.next_json().await;

    // Act: a PATCH on node A inside a trace of the test's choosing; node B pushes it.
    let (trace_id, traceparent) = new_trace();
    let variations = json!({"variations": [{"id": "on", "value": "v2"}, {"id": "off", "value": "off"}]});
    let res = cluster
        .http
        .patch(format!("{}/api/v1{path}", cluster.base(0)))
        .bearer_auth(cluster::TOKEN)
        .header("traceparent", traceparent)
        .json(&variations)
        .send()
        .await
        .expect("answers");
    assert!(res.status().is_success(), "{}", res.status());
    while !ws.next_text().await.contains("v2") {}

    // Assert: the REST span on A and B's consumer, apply and push spans, in one trace, B's push under A's PATCH.
    let (patch, push) = eventually(WAIT, "the PATCH on A and the push on B in one trace", || async {
        let spans: Vec<_> = receiver.spans().into_iter().filter(|s| s.trace_id == trace_id).collect();
        let by_id: HashMap<&str, &ReceivedSpan> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
        let patch = spans.iter().find(|s| s.name.starts_with("PATCH "))?;
        let push = spans
            .iter()
            .find(|s| s.name == "push" && s.instance != patch.instance && descends_from(s, &patch.span_id, &by_id))?;
        Some((patch.clone(), push.clone()))
    })
    .await;
    assert_eq!(patch.name, "PATCH /api/v1/environments/{env}/feature-flags/{key}");
    assert_eq!(push.attribute("sessions"), Some("1"), "{push:?}");
    let on_b: Vec<String> = receiver
        .spans()
        .into_iter()
        .filter(|s| s.trace_id == trace_id && s.instance == push.instance)
        .map(|s| s.name)
        .collect();
    for name in ["change", "hub.apply", "push"] {
        assert!(on_b.iter().any(|n| n == name), "{name} missing on node B: {on_b:?}");
    }
    let on_a: Vec<String> = receiver
        .spans()
        .into_iter()
        .filter(|s| s.trace_id == trace_id && s.instance == patch.instance)
        .map(|s| s.name)
        .collect();
    for name in ["db.transaction", "cache.write", "change.publish"] {
        assert!(on_a.iter().any(|n| n == name), "{name} missing on node A: {on_a:?}");
    }

    // Act and assert: a traced track call on A; the flush that stores it links to its trace.
    let (track_trace, traceparent) = new_trace();
    let evaluation = json!([{"user": {"keyId": "u1", "name": "N"}, "variations": [{"featureFlagKey": "checkout",
        "variation": {"id": "on", "value": "v2"}, "sendToExperiment": false, "timestamp": 1_719_750_000_000u64}]}]);
    let res = cluster
        .http
        .post(format!("{}/api/public/insight/track", cluster.base(0)))
        .header("authorization", &secret)
        .header("traceparent", traceparent)
        .json(&evaluation)
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status(), 200);
    eventually(WAIT, "a writer flush linked to the track call", || async {
        let spans = receiver.spans();
        let flushed = spans.iter().any(|s| s.name == "writer.flush" && s.links.contains(&track_trace));
        let received = spans.iter().any(|s| s.name == "ingest.receive" && s.trace_id == track_trace);
        (flushed && received).then_some(())
    })
    .await;
    let no_secret = receiver.spans().iter().all(|s| s.attributes.iter().all(|(_, v)| !v.contains(&secret)));
    assert!(no_secret, "a span attribute carries the environment secret");
    drop(ws);
    cluster.cleanup().await;
}

#[tokio::test]
async fn json_log_lines_carry_the_trace_id_of_the_request_that_caused_them() {
    // Arrange: a node logging JSON (hub at debug) and exporting traces; a session so changes are pushed.
    let receiver = OtlpReceiver::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("VANE__TELEMETRY__OTLP_ENDPOINT", receiver.endpoint.as_str()),
        ("VANE__TELEMETRY__FORMAT", "json"),
        ("VANE__TELEMETRY__FILTER", "info,vane_actors::hub=debug"),
    ];
    let mut node = Node::start(dir.path(), &env);
    let (env_id, secret) = node.env("prod").await;
    let path = format!("/environments/{env_id}/feature-flags/checkout");
    node.admin(Method::PUT, &path, Some(flag(true))).await;
    let mut ws = WsClient::open(&node.base, "server", &secret).await;
    ws.data_sync(json!({"timestamp": 0})).await;
    ws.next_json().await;

    // Act: a traced PATCH.
    let (trace_id, traceparent) = new_trace();
    let res = node
        .http
        .patch(format!("{}/api/v1{path}", node.base))
        .bearer_auth(TOKEN)
        .header("traceparent", traceparent)
        .json(&json!({"isEnabled": false}))
        .send()
        .await
        .expect("answers");
    assert!(res.status().is_success(), "{}", res.status());
    ws.next_json().await;

    // Assert: the hub's "change pushed" line names the request's trace and a span of it.
    let line = node.process.wait_for_line(&format!(r#""trace_id":"{trace_id}""#), WAIT);
    let parsed: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(parsed["trace_id"], trace_id.as_str());
    assert_eq!(parsed["span_id"].as_str().map(str::len), Some(16), "{line}");
    assert_eq!(parsed["message"], "change pushed", "{line}");
}
