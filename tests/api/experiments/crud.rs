//! The experiment resource: create, read, list, replace, delete, and the errors a client can get.

use reqwest::Method;
use serde_json::{Value, json};
use vane_schema::wire::time::{now_ms, unix_ms};

use super::{app, experiment_body};
use crate::helpers::database::TestDb;

fn binomial() -> Value {
    json!([{"event": "checkout", "type": "binomial", "successCriterion": "higher"}])
}

#[actix_web::test]
async fn experiments_are_created_read_listed_replaced_and_deleted() {
    let (app, env, _) = app(TestDb::sqlite()).await;
    let base = format!("/environments/{}/experiments", env.id);
    let body = experiment_body(unix_ms(&now_ms()), binomial());
    let (status, created) = app.admin(Method::POST, &base, Some(body.clone())).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!((created["flagKey"].as_str(), created["alpha"].as_f64()), (Some("exp-flag"), Some(0.05)));
    assert_eq!(created["metrics"], binomial());

    let (status, got) = app.admin(Method::GET, &format!("{base}/{id}"), None).await;
    assert_eq!((status, &got), (200, &created));
    let (status, list) = app.admin(Method::GET, &base, None).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(1)));

    let mut changed = body;
    changed["name"] = json!("renamed");
    changed["end"] = Value::Null;
    changed.as_object_mut().expect("object").remove("alpha");
    let (status, replaced) = app.admin(Method::PUT, &format!("{base}/{id}"), Some(changed)).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(
        (replaced["name"].as_str(), &replaced["end"], replaced["alpha"].as_f64()),
        (Some("renamed"), &Value::Null, Some(0.05))
    );

    assert_eq!(app.admin(Method::DELETE, &format!("{base}/{id}"), None).await.0, 204);
    let (status, err) = app.admin(Method::GET, &format!("{base}/{id}"), None).await;
    assert_eq!((status, err["error"].as_str()), (404, Some("not_found")));
    assert_eq!(app.admin(Method::DELETE, &format!("{base}/{id}"), None).await.0, 404);
    app.cleanup().await;
}

#[actix_web::test]
async fn invalid_experiments_get_clear_errors() {
    let (app, env, _) = app(TestDb::sqlite()).await;
    let base = format!("/environments/{}/experiments", env.id);
    let good = experiment_body(unix_ms(&now_ms()), binomial());
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let cases = [
        (with("flagKey", json!("no-such-flag")), 422, "unknown_flag"),
        (with("baselineVariationId", json!("Z")), 422, "unknown_variation"),
        (with("metrics", json!([])), 422, "invalid_metrics"),
        (
            with(
                "metrics",
                json!([{"event": "x", "type": "binomial", "successCriterion": "higher"},
                                {"event": "x", "type": "binomial", "successCriterion": "lower"}]),
            ),
            422,
            "invalid_metrics",
        ),
        (with("end", good["start"].clone()), 422, "invalid_window"),
        (with("start", json!("yesterday")), 422, "invalid_time"),
        (with("alpha", json!(0.7)), 422, "invalid_alpha"),
        (with("name", json!("  ")), 422, "invalid_name"),
        (with("metrics", json!([{"event": "x", "type": "ratio", "successCriterion": "higher"}])), 400, "invalid_body"),
        (with("surprise", json!(1)), 400, "invalid_body"),
        (json!({"name": "no flag"}), 400, "invalid_body"),
    ];
    for (body, status, code) in cases {
        let (got, err) = app.admin(Method::POST, &base, Some(body.clone())).await;
        assert_eq!((got, err["error"].as_str()), (status, Some(code)), "{body} -> {err}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let missing_env = format!("/environments/{}/experiments", uuid::Uuid::new_v4());
    assert_eq!(app.admin(Method::POST, &missing_env, Some(good.clone())).await.0, 404);
    assert_eq!(app.admin(Method::GET, &format!("{base}/not-a-uuid"), None).await.0, 400);
    assert_eq!(app.admin(Method::GET, &format!("{base}/{}/results", uuid::Uuid::new_v4()), None).await.0, 404);
    app.cleanup().await;
}
