//! The hourly rollup gives exactly the raw-event answers: generated exposures and conversions over six hours
//! (several per user and hour, conversions before, after and in the same hour as the exposure, evaluations not
//! sent to the experiment), then results and hourly series over random windows — aligned and unaligned to hours,
//! shorter than an hour, straddling one — against a computation in this test over the generated events.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};

use super::{app, conversion, exposure, track};
use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::seed::TestEnv;

/// 2024-06-30T12:00:00Z in Unix ms, a whole hour.
const T0: i64 = 1_719_748_800_000;
const HOUR: i64 = 3_600_000;

/// One generated evaluation: user, variation, sent to the experiment, time (ms, unique).
struct Exposure(String, &'static str, bool, i64);
/// One generated `checkout`: user, value, time.
struct Conversion(String, f64, i64);

struct Data {
    exposures: Vec<Exposure>,
    conversions: Vec<Conversion>,
}

fn generate(rng: &mut StdRng) -> Data {
    let (mut exposures, mut conversions, mut tick) = (Vec::new(), Vec::new(), 0);
    // Unique times, so "first" is never a tie the test would have to break like the database.
    let mut at = |rng: &mut StdRng| {
        tick += 1;
        T0 + rng.random_range(0..6 * HOUR) / 1_000 * 1_000 + tick
    };
    for u in 0..80 {
        let user = format!("u{u}");
        for _ in 0..rng.random_range(0..5) {
            let variation = ["A", "B", "C"][rng.random_range(0..3)];
            exposures.push(Exposure(user.clone(), variation, rng.random_bool(0.7), at(rng)));
        }
        for _ in 0..rng.random_range(0..4) {
            conversions.push(Conversion(user.clone(), rng.random_range(0..12) as f64 * 0.25, at(rng)));
        }
        // A conversion just after one of the user's exposures: the same hour, on either side of it.
        if let Some(e) = exposures.iter().rev().find(|e| e.0 == user) {
            let t = e.3 + rng.random_range(-30_000..30_000);
            conversions.push(Conversion(user.clone(), 1.5, t));
        }
    }
    Data { exposures, conversions }
}

/// Per variation: (users exposed, users converted, sum of per-user values), computed from the events.
fn truth(data: &Data, from: i64, to: i64) -> BTreeMap<&'static str, (u64, u64, f64)> {
    let mut first: BTreeMap<&str, (i64, &'static str)> = BTreeMap::new();
    for Exposure(user, variation, sent, t) in &data.exposures {
        if *sent && (from..to).contains(t) && first.get(user.as_str()).is_none_or(|f| *t < f.0) {
            first.insert(user, (*t, variation));
        }
    }
    let mut arms = BTreeMap::new();
    for (user, (exposed_at, variation)) in first {
        let after: Vec<f64> = data
            .conversions
            .iter()
            .filter(|c| c.0 == user && c.2 >= exposed_at && (from..to).contains(&c.2))
            .map(|c| c.1)
            .collect();
        let arm = arms.entry(variation).or_insert((0, 0, 0.0));
        arm.0 += 1;
        arm.1 += u64::from(!after.is_empty());
        arm.2 += after.iter().sum::<f64>();
    }
    arms
}

async fn results(app: &TestApp, env: &TestEnv, from: i64, to: i64) -> Value {
    let iso = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).expect("time").to_rfc3339();
    let body = json!({"name": "rollup", "flagKey": "exp-flag", "baselineVariationId": "A",
        "metrics": [{"event": "checkout", "type": "binomial", "successCriterion": "higher"},
                    {"event": "checkout", "type": "numeric", "successCriterion": "higher"}],
        "start": iso(from), "end": iso(to)});
    let (status, created) = app.admin(Method::POST, &format!("/environments/{}/experiments", env.id), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/environments/{}/experiments/{}/results", env.id, created["id"].as_str().expect("id"));
    let (status, results) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{results}");
    results
}

fn check_results(results: &Value, want: &BTreeMap<&str, (u64, u64, f64)>, what: &str) {
    let (binomial, numeric) = (&results["metrics"][0]["variations"], &results["metrics"][1]["variations"]);
    for (i, v) in binomial.as_array().expect("arms").iter().enumerate() {
        let id = v["variationId"].as_str().expect("id");
        let (exposed, converted, total) = want.get(id).copied().unwrap_or_default();
        assert_eq!(v["exposed"].as_u64(), Some(exposed), "{what}: {id} exposed");
        assert_eq!(v["conversions"].as_u64(), Some(converted), "{what}: {id} conversions");
        let mean = numeric[i]["mean"].as_f64();
        assert_eq!(mean, (exposed > 0).then(|| total / exposed as f64), "{what}: {id} numeric mean");
    }
    let arms = binomial.as_array().map_or(0, Vec::len);
    let expected = want.keys().chain(std::iter::once(&"A")).collect::<BTreeSet<_>>().len();
    assert_eq!(arms, expected, "{what}: arms {binomial}");
}

/// Per hour bucket and variation: (evaluations, distinct users) of every evaluation in the window.
fn series_truth(data: &Data, from: i64, to: i64) -> BTreeMap<(i64, String), (i64, usize)> {
    let mut buckets: BTreeMap<(i64, String), (i64, BTreeSet<&str>)> = BTreeMap::new();
    for Exposure(user, variation, _, t) in data.exposures.iter().filter(|e| (from..to).contains(&e.3)) {
        let bucket = buckets.entry((t.div_euclid(HOUR) * HOUR, (*variation).to_owned())).or_default();
        bucket.0 += 1;
        bucket.1.insert(user);
    }
    buckets.into_iter().map(|(k, (n, users))| (k, (n, users.len()))).collect()
}

async fn series(app: &TestApp, env: &TestEnv, from: i64, to: i64) -> BTreeMap<(i64, String), (i64, usize)> {
    let path =
        format!("/environments/{}/insights/feature-flags/exp-flag/series?from={from}&to={to}&interval=hour", env.id);
    let (status, series) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{series}");
    let mut got = BTreeMap::new();
    for bucket in series["buckets"].as_array().expect("buckets") {
        let time = chrono::DateTime::parse_from_rfc3339(bucket["time"].as_str().expect("time")).expect("rfc 3339");
        for v in bucket["variations"].as_array().expect("variations") {
            let key = (time.timestamp_millis(), v["variationId"].as_str().expect("id").to_owned());
            got.insert(key, (v["evaluations"].as_i64().expect("n"), v["uniqueUsers"].as_u64().expect("u") as usize));
        }
    }
    got
}

/// A random window inside the data: a whole-hour edge a third of the time, down to a few minutes long.
fn window(rng: &mut StdRng) -> (i64, i64) {
    let edge = |rng: &mut StdRng, t: i64| if rng.random_bool(0.33) { t / HOUR * HOUR } else { t };
    let start = T0 + rng.random_range(-HOUR..4 * HOUR);
    let from = edge(rng, start);
    let end = from + rng.random_range(5 * 60_000..5 * HOUR);
    let to = edge(rng, end).max(from + 60_000);
    (from, to)
}

async fn rollup_results_equal_the_raw_computation(db: TestDb) {
    let seed: u64 = rand::random();
    let mut rng = StdRng::seed_from_u64(seed);
    let data = generate(&mut rng);
    let (app, env, _) = app(db).await;
    let mut items: Vec<Value> = data.exposures.iter().map(|e| exposure(&e.0, "exp-flag", e.1, e.2, e.3)).collect();
    items.extend(data.conversions.iter().map(|c| conversion(&c.0, "checkout", c.1, c.2)));
    track(&app, &env, &items).await;
    let mut windows: Vec<(i64, i64)> = vec![(T0 - HOUR, T0 + 7 * HOUR), (T0 + HOUR, T0 + 3 * HOUR)];
    windows.extend((0..10).map(|_| window(&mut rng)));
    for (from, to) in windows {
        let what = format!("seed {seed}, window {from}..{to}");
        check_results(&results(&app, &env, from, to).await, &truth(&data, from, to), &what);
        assert_eq!(series(&app, &env, from, to).await, series_truth(&data, from, to), "{what}: series");
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn rollup_results_equal_the_raw_computation_on_sqlite() {
    rollup_results_equal_the_raw_computation(TestDb::sqlite()).await;
}

#[actix_web::test]
async fn rollup_results_equal_the_raw_computation_on_postgres() {
    rollup_results_equal_the_raw_computation(TestDb::postgres().await).await;
}
