//! The management API: its contract, every error path, and that each change reaches the SDK sessions of its
//! environment (and no other) on this node.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::sdk::WsClient;

async fn app() -> TestApp {
    TestApp::spawn(TestDb::sqlite(), &[]).await
}

/// Creates environment `key` through the API; returns its id, server secret and client secret.
pub(crate) async fn env(app: &TestApp, key: &str) -> (String, String, String) {
    let (status, env) = app.admin(Method::POST, "/environments", Some(json!({"name": key, "key": key}))).await;
    assert_eq!(status, 201, "{env}");
    let secret = |kind: &str| {
        env["secrets"].as_array().and_then(|s| s.iter().find(|s| s["type"] == kind)).expect("secret")["value"]
            .as_str()
            .expect("value")
            .to_owned()
    };
    (env["id"].as_str().expect("id").to_owned(), secret("server"), secret("client"))
}

/// A valid boolean flag body (targeting, tags, a 100% fallthrough).
pub(crate) fn bool_flag(enabled: bool) -> Value {
    json!({
        "name": "Dark mode", "variationType": "boolean", "isEnabled": enabled,
        "variations": [{"id": "on", "name": "On", "value": "true"}, {"id": "off", "name": "Off", "value": "false"}],
        "targetUsers": [{"keyIds": ["vip"], "variationId": "off"}],
        "disabledVariationId": "off",
        "fallthrough": {"dispatchKey": null, "includedInExpt": true, "variations": [{"id": "on", "rollout": [0, 1], "exptRollout": 1}]},
        "exptIncludeAllTargets": true, "tags": ["ui"]
    })
}

#[actix_web::test]
async fn environments_flags_and_segments_follow_the_contract() {
    let app = app().await;
    let (env_id, server, client) = env(&app, "prod").await;
    assert_eq!(vane_schema::secret::env_id(&server).expect("FeatBit format").to_string(), env_id);
    assert_eq!(vane_schema::secret::env_id(&client).expect("FeatBit format").to_string(), env_id);
    let (status, list) = app.admin(Method::GET, "/environments", None).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(app.admin(Method::GET, &format!("/environments/{env_id}"), None).await.0, 200);

    // Create, then replace, then an identical replace (no new version).
    let path = format!("/environments/{env_id}/feature-flags/dark-mode");
    let (status, created) = app.admin(Method::PUT, &path, Some(bool_flag(true))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["key"].as_str(), created["envId"].as_str()), (Some("dark-mode"), Some(env_id.as_str())));
    assert!(uuid::Uuid::parse_str(created["id"].as_str().expect("id")).is_ok());
    assert!(created["updatedAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    let (status, replaced) = app.admin(Method::PUT, &path, Some(bool_flag(false))).await;
    assert_eq!(status, 200);
    assert_eq!(replaced["id"], created["id"]);
    assert!(replaced["updatedAt"].as_str() > created["updatedAt"].as_str(), "a change gets a newer version");
    assert_ne!(replaced["revision"], created["revision"]);
    let (_, same) = app.admin(Method::PUT, &path, Some(bool_flag(false))).await;
    assert_eq!(same["updatedAt"], replaced["updatedAt"], "an identical write is not a change");

    // Partial update, read back, archive.
    let (status, patched) = app.admin(Method::PATCH, &path, Some(json!({"isEnabled": true, "name": "Dark"}))).await;
    assert_eq!((status, patched["isEnabled"].as_bool(), patched["name"].as_str()), (200, Some(true), Some("Dark")));
    assert_eq!(patched["tags"], json!(["ui"]), "untouched fields are kept");
    assert_eq!(app.admin(Method::GET, &path, None).await.1["name"], "Dark");
    let (_, flags) = app.admin(Method::GET, &format!("/environments/{env_id}/feature-flags"), None).await;
    assert_eq!(flags.as_array().map(Vec::len), Some(1));
    let (status, archived) = app.admin(Method::DELETE, &path, None).await;
    assert_eq!((status, archived["isArchived"].as_bool()), (200, Some(true)));

    // Segments.
    let seg_path = format!("/environments/{env_id}/segments/0779d76b-afc6-4886-ab65-af8c004273ad");
    let (status, seg) = app.admin(Method::PUT, &seg_path, Some(json!({"name": "beta", "included": ["a"]}))).await;
    assert_eq!((status, seg["envId"].as_str()), (201, Some(env_id.as_str())));
    assert_eq!(app.admin(Method::GET, &seg_path, None).await.1["included"], json!(["a"]));
    let (_, segs) = app.admin(Method::GET, &format!("/environments/{env_id}/segments"), None).await;
    assert_eq!(segs.as_array().map(Vec::len), Some(1));
    assert_eq!(app.admin(Method::DELETE, &seg_path, None).await.1["isArchived"], true);

    assert_eq!(app.admin(Method::DELETE, &format!("/environments/{env_id}"), None).await.0, 204);
    assert_eq!(app.admin(Method::GET, &format!("/environments/{env_id}"), None).await.0, 404);
    app.cleanup().await;
}

#[actix_web::test]
async fn every_error_has_a_status_a_stable_code_and_a_message() {
    let app = app().await;
    let (env_id, ..) = env(&app, "dev").await;
    let flag_path = |key: &str| format!("/environments/{env_id}/feature-flags/{key}");
    let with = |patch: Value| {
        let mut f = bool_flag(true);
        f.as_object_mut().expect("object").extend(patch.as_object().expect("object").clone());
        f
    };
    let seg = "1a2b3c4d-0000-4000-8000-000000000000";
    let cases: Vec<(Method, String, Option<Value>, u16, &str)> = vec![
        (Method::POST, "/environments".into(), Some(json!({"name": "x", "key": "dev"})), 409, "conflict"),
        (Method::POST, "/environments".into(), Some(json!({"name": "x"})), 400, "invalid_body"),
        (Method::GET, "/environments/not-a-uuid".into(), None, 400, "invalid_id"),
        (Method::GET, format!("/environments/{seg}"), None, 404, "not_found"),
        (Method::PUT, flag_path("bad key!"), Some(bool_flag(true)), 400, "invalid_key"),
        (Method::PUT, flag_path("k"), Some(json!([1])), 400, "invalid_body"),
        (Method::PUT, flag_path("k"), Some(with(json!({"disabledVariationId": "nope"}))), 422, "unknown_variation"),
        (
            Method::PUT,
            flag_path("k"),
            Some(with(json!({"fallthrough": {"variations": [{"id": "on", "rollout": [0, 0.5]}]}}))),
            422,
            "invalid_rollout",
        ),
        (
            Method::PUT,
            flag_path("k"),
            Some(with(json!({"fallthrough": {"variations": [{"id": "on", "rollout": [0, 1.5]}]}}))),
            422,
            "invalid_rollout",
        ),
        (
            Method::PUT,
            flag_path("k"),
            Some(with(
                json!({"rules": [{"name": "r", "conditions": [{"property": "a", "op": "Equals", "value": "x"}], "variations": [{"id": "on", "rollout": [0, 1]}]}]}),
            )),
            422,
            "unknown_operator",
        ),
        (
            Method::PUT,
            flag_path("k"),
            Some(with(
                json!({"rules": [{"name": "r", "conditions": [{"property": "a", "op": "MatchRegex", "value": "(x"}], "variations": [{"id": "on", "rollout": [0, 1]}]}]}),
            )),
            422,
            "invalid_regex",
        ),
        (
            Method::PUT,
            flag_path("k"),
            Some(with(
                json!({"rules": [{"name": "r", "conditions": [{"property": "User is in segment", "op": null, "value": format!("[\"{seg}\"]")}], "variations": [{"id": "on", "rollout": [0, 1]}]}]}),
            )),
            422,
            "unknown_segment",
        ),
        (Method::PUT, flag_path("k"), Some(with(json!({"key": "other"}))), 422, "key_mismatch"),
        (Method::PATCH, flag_path("missing"), Some(json!({"isEnabled": false})), 404, "not_found"),
        (Method::PUT, format!("/environments/{env_id}/segments/not-a-uuid"), Some(json!({})), 400, "invalid_id"),
    ];
    for (method, path, body, status, code) in cases {
        let (got, err) = app.admin(method.clone(), &path, body).await;
        assert_eq!((got, err["error"].as_str()), (status, Some(code)), "{method} {path}: {err}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()), "{err}");
    }
    assert_eq!(app.admin(Method::PUT, &flag_path("k"), Some(bool_flag(true))).await.0, 201);
    let (got, err) = app.admin(Method::PATCH, &flag_path("k"), Some(json!({"id": seg}))).await;
    assert_eq!((got, err["error"].as_str()), (422, Some("read_only_field")));

    // Authentication and body size.
    let url = format!("{}/api/v1/environments", app.address);
    for auth in [None, Some("Bearer wrong"), Some(crate::helpers::app::ADMIN_TOKEN)] {
        let mut req = app.http.get(&url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.expect("answers");
        assert_eq!(res.status(), 401, "{auth:?}");
        assert_eq!(res.json::<Value>().await.expect("json")["error"], "unauthorized");
    }
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1_100_000));
    let res = app
        .http
        .put(format!("{url}/{env_id}/feature-flags/k"))
        .bearer_auth(crate::helpers::app::ADMIN_TOKEN)
        .body(big)
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status(), 413);
    assert_eq!(res.json::<Value>().await.expect("json")["error"], "payload_too_large");
    app.cleanup().await;
}

#[actix_web::test]
async fn a_change_reaches_the_sessions_of_its_environment_and_no_other() {
    let app = app().await;
    let (env_id, server, client) = env(&app, "prod").await;
    let (_, other_server, _) = env(&app, "other").await;
    let path = format!("/environments/{env_id}/feature-flags/dark-mode");
    app.admin(Method::PUT, &path, Some(bool_flag(true))).await;

    let mut srv = WsClient::open(&app.address, "server", &server).await;
    srv.data_sync(json!({"timestamp": 0})).await;
    assert_eq!(srv.next_json().await["data"]["featureFlags"][0]["isEnabled"], true);
    let mut cli = WsClient::open(&app.address, "client", &client).await;
    cli.data_sync(json!({"timestamp": 0, "user": {"keyId": "u1"}})).await;
    assert_eq!(cli.next_json().await["data"]["featureFlags"][0]["variation"], "true");
    let mut other = WsClient::open(&app.address, "server", &other_server).await;
    other.data_sync(json!({"timestamp": 0})).await;
    assert_eq!(other.next_json().await["data"]["featureFlags"], json!([]));

    // Act
    let (status, _) = app.admin(Method::PATCH, &path, Some(json!({"isEnabled": false}))).await;
    assert_eq!(status, 200);

    // Assert
    let patch = srv.next_json().await;
    assert_eq!(patch["data"]["eventType"], "patch");
    assert_eq!(patch["data"]["featureFlags"][0]["isEnabled"], false);
    let patch = cli.next_json().await;
    assert_eq!((patch["data"]["userKeyId"].as_str(), patch["data"]["eventType"].as_str()), (Some("u1"), Some("patch")));
    assert_eq!(patch["data"]["featureFlags"][0]["variation"], "false");
    assert_eq!(patch["data"]["featureFlags"][0]["matchReason"], "flag disabled");
    other.expect_alive().await; // the next frame on the other environment's socket is the pong: no leak
    app.cleanup().await;
}

#[actix_web::test]
async fn a_segment_change_re_evaluates_the_flags_that_use_it() {
    let app = app().await;
    let (env_id, _, client) = env(&app, "prod").await;
    let seg = "5e9e3a2c-0000-4000-8000-000000000001";
    let seg_path = format!("/environments/{env_id}/segments/{seg}");
    app.admin(Method::PUT, &seg_path, Some(json!({"name": "beta", "included": []}))).await;
    let mut flag = bool_flag(true);
    flag["rules"] = json!([{"name": "Beta testers", "conditions": [{"property": "User is in segment", "op": null,
        "value": format!("[\"{seg}\"]")}], "variations": [{"id": "off", "rollout": [0, 1]}]}]);
    assert_eq!(app.admin(Method::PUT, &format!("/environments/{env_id}/feature-flags/f"), Some(flag)).await.0, 201);

    let mut cli = WsClient::open(&app.address, "client", &client).await;
    cli.data_sync(json!({"timestamp": 0, "user": {"keyId": "tester"}})).await;
    let first = cli.next_json().await;
    assert_eq!(first["data"]["featureFlags"][0]["variation"], "true");
    let before = first["data"]["featureFlags"][0]["timestamp"].as_i64().expect("timestamp");

    app.admin(Method::PUT, &seg_path, Some(json!({"name": "beta", "included": ["tester"]}))).await;
    let patch = cli.next_json().await;
    let pushed = &patch["data"]["featureFlags"][0];
    assert_eq!((pushed["variation"].as_str(), pushed["matchReason"].as_str()), (Some("false"), Some("Beta testers")));
    assert!(pushed["timestamp"].as_i64().expect("timestamp") > before, "the flag got a newer version");
    app.cleanup().await;
}

#[actix_web::test]
async fn deleting_an_environment_closes_its_sessions_for_good() {
    let app = app().await;
    let (env_id, server, _) = env(&app, "gone").await;
    let mut srv = WsClient::open(&app.address, "server", &server).await;
    srv.expect_alive().await;
    assert_eq!(app.admin(Method::DELETE, &format!("/environments/{env_id}"), None).await.0, 204);
    assert_eq!(srv.expect_close().await.0, 4003);
    let mut again = WsClient::open(&app.address, "server", &server).await;
    assert_eq!(again.expect_close().await.0, 4003);
    app.cleanup().await;
}

#[actix_web::test]
async fn the_openapi_document_describes_every_management_route() {
    let app = app().await;
    let res = app.http.get(format!("{}/api/v1/openapi.json", app.address)).send().await.expect("answers");
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    let routes = [
        ("post", "/api/v1/environments"),
        ("get", "/api/v1/environments"),
        ("get", "/api/v1/environments/{envId}"),
        ("delete", "/api/v1/environments/{envId}"),
        ("post", "/api/v1/environments/{envId}/secrets"),
        ("delete", "/api/v1/environments/{envId}/secrets/{value}"),
        ("get", "/api/v1/environments/{envId}/feature-flags"),
        ("get", "/api/v1/environments/{envId}/feature-flags/{key}"),
        ("put", "/api/v1/environments/{envId}/feature-flags/{key}"),
        ("patch", "/api/v1/environments/{envId}/feature-flags/{key}"),
        ("delete", "/api/v1/environments/{envId}/feature-flags/{key}"),
        ("get", "/api/v1/environments/{envId}/segments"),
        ("get", "/api/v1/environments/{envId}/segments/{segmentId}"),
        ("put", "/api/v1/environments/{envId}/segments/{segmentId}"),
        ("delete", "/api/v1/environments/{envId}/segments/{segmentId}"),
        ("get", "/api/v1/environments/{envId}/end-users"),
        ("put", "/api/v1/environments/{envId}/end-users/{keyId}"),
        ("get", "/api/v1/environments/{envId}/end-users/{keyId}"),
        ("delete", "/api/v1/environments/{envId}/end-users/{keyId}"),
        ("get", "/api/v1/environments/{envId}/insights/feature-flags/{key}"),
        ("get", "/api/v1/environments/{envId}/insights/feature-flags/{key}/series"),
        ("post", "/api/v1/environments/{envId}/experiments"),
        ("get", "/api/v1/environments/{envId}/experiments"),
        ("get", "/api/v1/environments/{envId}/experiments/{id}"),
        ("put", "/api/v1/environments/{envId}/experiments/{id}"),
        ("delete", "/api/v1/environments/{envId}/experiments/{id}"),
        ("get", "/api/v1/environments/{envId}/experiments/{id}/results"),
    ];
    for (method, path) in routes {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} is not documented");
        for status in ["401", "429"] {
            let response = &doc["paths"][path][method]["responses"][status];
            assert!(response.is_object(), "{method} {path} does not document {status}");
        }
    }
    let documented: usize =
        doc["paths"].as_object().expect("paths").values().map(|p| p.as_object().map_or(0, |m| m.len())).sum();
    assert_eq!(documented, routes.len(), "every documented route is one of the contract's");
    for schema in [
        "FeatureFlag",
        "Segment",
        "EnvironmentView",
        "ErrorBody",
        "Condition",
        "RolloutVariation",
        "ExperimentInput",
        "ExperimentView",
        "ExperimentResults",
        "Series",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema}");
    }
    assert_eq!(doc["components"]["schemas"]["FeatureFlag"]["properties"]["isEnabled"]["type"], "boolean");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    app.cleanup().await;
}
