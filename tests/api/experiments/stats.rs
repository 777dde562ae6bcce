//! Results against an independent computation: the test knows each user's variation and per-user values (it
//! generated them), `tests/sdk/experiment_stats.py` computes the statistics with numpy and scipy, and the
//! endpoint must agree. The data includes what must not count: evaluations not sent to the experiment, second
//! exposures to another variation, conversions before exposure and exposures outside the window.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};
use vane_schema::wire::time::{now_ms, unix_ms};

use super::{app, conversion, experiment_body, exposure, track};
use crate::helpers::database::TestDb;

/// One arm to generate: variation, users, how many convert, revenue per converting user (cycled).
struct ArmSpec {
    id: &'static str,
    users: usize,
    converting: usize,
}

/// Per-user values of each arm: (binomial 0/1, numeric revenue sum).
type Truth = BTreeMap<&'static str, Vec<(f64, f64)>>;

/// The track items of `arms`, and the per-user truth.
fn generate(arms: &[ArmSpec], now: i64) -> (Vec<Value>, Truth) {
    let (mut items, mut truth) = (Vec::new(), Truth::new());
    for arm in arms {
        let values = truth.entry(arm.id).or_default();
        for i in 0..arm.users {
            let user = format!("{}-{i}", arm.id);
            let at = now - 600_000 + i as i64;
            // Not sent to the experiment, earlier, another variation: ignored.
            items.push(exposure(&user, "exp-flag", "C", false, at - 5_000));
            // Before exposure: does not count.
            if i % 3 == 0 {
                items.push(conversion(&user, "checkout", 9.0, at - 1_000));
            }
            items.push(exposure(&user, "exp-flag", arm.id, true, at));
            // A later exposure to another variation: the first decides.
            if i % 4 == 0 {
                items.push(exposure(&user, "exp-flag", "B", true, at + 10));
            }
            let converts = i < arm.converting;
            let revenue = if converts { 1.0 + (i % 5) as f64 * 0.5 + (i % 2) as f64 * 0.25 } else { 0.0 };
            if converts {
                // Two events: the binomial counts the user once, the numeric metric sums them.
                items.push(conversion(&user, "checkout", revenue - 0.5, at + 1_000));
                items.push(conversion(&user, "checkout", 0.5, at + 2_000));
            }
            values.push((if converts { 1.0 } else { 0.0 }, revenue));
        }
    }
    // Exposed before the window: not in any arm.
    items.push(exposure("too-early", "exp-flag", "A", true, now - 2 * 3_600_000));
    (items, truth)
}

/// What scipy says for one metric (index 0: binomial, 1: numeric).
fn scipy(truth: &Truth, metric: usize) -> Value {
    let arms: Vec<Value> = truth
        .iter()
        .map(|(id, v)| json!({"id": id, "values": v.iter().map(|p| if metric == 0 { p.0 } else { p.1 }).collect::<Vec<_>>()}))
        .collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/experiment_stats.py");
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/.venv/bin/python");
    let mut child =
        Command::new(python).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("python runs");
    let input = json!({"alpha": 0.05, "baseline": "A", "arms": arms}).to_string();
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("writes");
    let out = child.wait_with_output().expect("python finishes");
    assert!(out.status.success(), "experiment_stats.py failed");
    serde_json::from_slice(&out.stdout).expect("json")
}

fn close(got: &Value, want: &Value, what: &str) {
    match (got.as_f64(), want.as_f64()) {
        (Some(g), Some(w)) => assert!((g - w).abs() <= 1e-8 * w.abs().max(1e-12), "{what}: {g} vs scipy {w}"),
        _ => assert!(got.is_null() && want.is_null(), "{what}: {got} vs scipy {want}"),
    }
}

/// Checks one metric's variations against scipy.
fn check_metric(result: &Value, expected: &Value, truth: &Truth, binomial: bool) {
    for v in result["variations"].as_array().expect("variations") {
        let id = v["variationId"].as_str().expect("id");
        let (want, values) = (&expected[id], &truth[id]);
        assert_eq!(v["exposed"].as_u64(), want["n"].as_u64(), "{id} exposed");
        if binomial {
            let conversions = values.iter().filter(|p| p.0 > 0.0).count() as u64;
            assert_eq!(v["conversions"].as_u64(), Some(conversions), "{id} conversions");
            close(&v["rate"], &want["mean"], "rate");
        }
        close(&v["mean"], &want["mean"], "mean");
        close(&v["variance"], &want["variance"], "variance");
        if id == "A" {
            assert_eq!((v["lift"].as_f64(), &v["pValue"]), (Some(0.0), &Value::Null), "baseline");
            continue;
        }
        let cmp = &want["comparison"];
        close(&v["lift"], &cmp["lift"], "lift");
        close(&v["pValue"], &cmp["pValue"], "pValue");
        close(&v["ci"][0], &cmp["ci"][0], "ci low");
        close(&v["ci"][1], &cmp["ci"][1], "ci high");
        let significant = cmp["pValue"].as_f64().is_some_and(|p| p < 0.05);
        assert_eq!(v["significant"].as_bool(), Some(significant), "{id} significant");
    }
}

/// Generates `arms`, creates the experiment, and returns its results with the truth.
async fn results_of(db: TestDb, arms: &[ArmSpec]) -> (Value, Truth) {
    let (app, env, _store) = app(db).await;
    let now = unix_ms(&now_ms());
    let (items, truth) = generate(arms, now);
    track(&app, &env, &items).await;
    let metrics = json!([{"event": "checkout", "type": "binomial", "successCriterion": "higher"},
                         {"event": "checkout", "type": "numeric", "successCriterion": "higher"}]);
    let (status, created) = app
        .admin(Method::POST, &format!("/environments/{}/experiments", env.id), Some(experiment_body(now, metrics)))
        .await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/environments/{}/experiments/{}/results", env.id, created["id"].as_str().expect("id"));
    let (status, results) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{results}");
    app.cleanup().await;
    (results, truth)
}

async fn unequal_arms_agree_with_scipy(db: TestDb) {
    let arms = [
        ArmSpec { id: "A", users: 240, converting: 24 },
        ArmSpec { id: "B", users: 110, converting: 30 },
        ArmSpec { id: "C", users: 45, converting: 2 },
    ];
    let (results, truth) = results_of(db, &arms).await;
    let (binomial, numeric) = (&results["metrics"][0], &results["metrics"][1]);
    check_metric(binomial, &scipy(&truth, 0), &truth, true);
    check_metric(numeric, &scipy(&truth, 1), &truth, false);
    assert_eq!(binomial["enoughData"], true);
    assert_eq!(binomial["winner"], "B", "{binomial}");
    let ids: Vec<&str> =
        binomial["variations"].as_array().expect("arms").iter().filter_map(|v| v["variationId"].as_str()).collect();
    assert_eq!(ids, ["A", "B", "C"]);
}

async fn zero_conversions_give_no_lift_over_a_zero_baseline(db: TestDb) {
    let arms = [ArmSpec { id: "A", users: 40, converting: 0 }, ArmSpec { id: "B", users: 35, converting: 0 }];
    let (results, truth) = results_of(db, &arms).await;
    let binomial = &results["metrics"][0];
    check_metric(binomial, &scipy(&truth, 0), &truth, true);
    assert_eq!((binomial["variations"][1]["lift"].clone(), binomial["winner"].clone()), (Value::Null, Value::Null));
    assert_eq!(binomial["enoughData"], true, "enough users, just no signal");
}

async fn a_single_arm_is_not_enough_data(db: TestDb) {
    let (results, truth) = results_of(db, &[ArmSpec { id: "A", users: 50, converting: 10 }]).await;
    let binomial = &results["metrics"][0];
    check_metric(binomial, &scipy(&truth, 0), &truth, true);
    assert_eq!(binomial["variations"].as_array().map(Vec::len), Some(1));
    assert_eq!((binomial["enoughData"].as_bool(), &binomial["winner"]), (Some(false), &Value::Null));
}

#[actix_web::test]
async fn results_on_unequal_arms_agree_with_scipy_on_sqlite() {
    unequal_arms_agree_with_scipy(TestDb::sqlite()).await;
}

#[actix_web::test]
async fn results_on_unequal_arms_agree_with_scipy_on_postgres() {
    unequal_arms_agree_with_scipy(TestDb::postgres().await).await;
}

#[actix_web::test]
async fn zero_conversions_agree_with_scipy_on_sqlite() {
    zero_conversions_give_no_lift_over_a_zero_baseline(TestDb::sqlite()).await;
}

#[actix_web::test]
async fn zero_conversions_agree_with_scipy_on_postgres() {
    zero_conversions_give_no_lift_over_a_zero_baseline(TestDb::postgres().await).await;
}

#[actix_web::test]
async fn a_single_arm_agrees_with_scipy_on_sqlite() {
    a_single_arm_is_not_enough_data(TestDb::sqlite()).await;
}

#[actix_web::test]
async fn a_single_arm_agrees_with_scipy_on_postgres() {
    a_single_arm_is_not_enough_data(TestDb::postgres().await).await;
}
