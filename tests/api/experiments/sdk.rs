//! End to end with real, unmodified SDKs: the node server SDK (300 users) and the js client SDK in chromium (a
//! handful, switching users with `identify()`) evaluate `exp-flag` against a `vane` process and track `checkout`
//! at known rates — every 2nd user served `b`, every 10th user otherwise. The results endpoint must count exactly
//! the users and conversions the SDKs reported, and name variation `B` the winner.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use vane_schema::wire::time::{now_ms, unix_ms};

use super::{exp_flag, experiment_body};
use crate::helpers::database::TestDb;
use crate::helpers::sdk_fixtures::{Vane, driver};
use crate::helpers::seed;
use crate::helpers::wait::eventually;

const NODE_USERS: usize = 300;
const BROWSER_USERS: usize = 6;
/// Node: 300 evaluations and a flush; chromium: start, six identifies, a flush.
const DRIVER_DEADLINE: Duration = Duration::from_secs(90);

/// Per variation id: (users exposed, users converted), from what the drivers report.
type Counts = BTreeMap<String, (i64, i64)>;

fn input(vane: &Vane, secret: &str, prefix: &str, users: usize) -> Value {
    let users: Vec<Value> = (0..users).map(|i| json!({"key": format!("{prefix}-{i}"), "name": prefix})).collect();
    json!({
        "url": vane.url, "secret": secret, "users": users,
        "flags": [{"key": "exp-flag", "kind": "string", "default": "fallback"}],
        "metric": {"name": "unrelated", "value": 1},
        "pingIntervalMs": 1000, "minPings": 0,
        "experiment": {"flag": "exp-flag", "event": "checkout", "winner": "b", "winnerEvery": 2, "otherEvery": 10},
    })
}

/// Adds a driver's users to `counts`.
fn count(result: &Value, counts: &mut Counts) {
    let converted: Vec<&str> =
        result["converted"].as_array().expect("converted").iter().filter_map(Value::as_str).collect();
    for (user, values) in result["values"].as_object().expect("values") {
        let served = values["exp-flag"].as_str().expect("a served value");
        let entry = counts.entry(served.to_uppercase()).or_default();
        entry.0 += 1;
        entry.1 += i64::from(converted.contains(&user.as_str()));
    }
}

async fn real_sdks_make_the_higher_converting_variation_win(db: TestDb) {
    // Arrange
    let store = seed::store(&db.url).await;
    let env = seed::env(&store).await;
    store.upsert_flag(&exp_flag(env.id)).await.expect("flag");
    let vane = Vane::start(&db);
    let token = vane.admin_token();
    let http = reqwest::Client::new();
    let metrics = json!([{"event": "checkout", "type": "binomial", "successCriterion": "higher"}]);
    let created: Value = http
        .post(format!("{}/api/v1/environments/{}/experiments", vane.url, env.id))
        .bearer_auth(&token)
        .json(&experiment_body(unix_ms(&now_ms()), metrics))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let id = created["id"].as_str().expect("id").to_owned();
    // Running: no end, so the window ends at each results request.
    let mut running = experiment_body(unix_ms(&now_ms()), created["metrics"].clone());
    running["end"] = Value::Null;
    let put = http.put(format!("{}/api/v1/environments/{}/experiments/{id}", vane.url, env.id)).bearer_auth(&token);
    assert_eq!(put.json(&running).send().await.expect("answers").status(), 200);

    // Act
    let mut counts = Counts::new();
    let node =
        driver::run(driver::node("node_server.mjs"), &input(&vane, &env.server, "n", NODE_USERS), DRIVER_DEADLINE);
    count(&node, &mut counts);
    let browser = driver::run(
        driver::browser("browser_client.mjs"),
        &input(&vane, &env.client, "b", BROWSER_USERS),
        DRIVER_DEADLINE,
    );
    assert_eq!(browser["ready"], true, "{browser}");
    count(&browser, &mut counts);

    // Assert: every exposure and conversion counted, and B wins.
    let url = format!("{}/api/v1/environments/{}/experiments/{id}/results", vane.url, env.id);
    let total = (NODE_USERS + BROWSER_USERS) as i64;
    let results = eventually(Duration::from_secs(20), "every user exposed", || async {
        let r: Value = http.get(&url).bearer_auth(&token).send().await.ok()?.json().await.ok()?;
        let exposed: i64 = r["metrics"][0]["variations"].as_array()?.iter().filter_map(|v| v["exposed"].as_i64()).sum();
        (exposed == total).then_some(r)
    })
    .await;
    let metric = &results["metrics"][0];
    let got: Counts = metric["variations"]
        .as_array()
        .expect("variations")
        .iter()
        .map(|v| {
            (
                v["variationId"].as_str().unwrap_or_default().to_owned(),
                (v["exposed"].as_i64().unwrap_or(-1), v["conversions"].as_i64().unwrap_or(-1)),
            )
        })
        .collect();
    assert_eq!(got, counts, "{results}");
    assert_eq!((metric["winner"].as_str(), metric["enoughData"].as_bool()), (Some("B"), Some(true)), "{results}");
    drop(vane);
    store.connection().clone().close().await.ok();
    db.cleanup().await;
}

#[tokio::test]
async fn real_sdks_make_the_higher_converting_variation_win_on_sqlite() {
    real_sdks_make_the_higher_converting_variation_win(TestDb::sqlite()).await;
}

#[tokio::test]
async fn real_sdks_make_the_higher_converting_variation_win_on_postgres() {
    real_sdks_make_the_higher_converting_variation_win(TestDb::postgres().await).await;
}
