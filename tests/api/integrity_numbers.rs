//! Numbers are bit-exact end to end. A seeded generator builds flags whose rollout boundaries sit one double away
//! from (or exactly on) a user's bucket, with random `exptRollout`s, number variations sent as JSON numbers and
//! JSON variations holding random doubles; every hop must return the very same doubles: PUT answer → GET (the
//! database: Postgres jsonb, SQLite text) → server `latest-all` → the Redis cache → a second node loading from
//! Redis → a change carried by the bus to that node; and client evaluation on both nodes must serve what the
//! evaluator computes on the data as sent. A boundary read back as a neighbouring double flips the variation.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;
use vane::startup::Application;
use vane_actors::eval::{CompiledFlag, compile_segments, rollout_of_key};
use vane_schema::wire::{EndUser, FeatureFlag};

use crate::admin::env;
use crate::helpers::app::{ADMIN_TOKEN, TestApp, test_settings};
use crate::helpers::database::TestDb;
use crate::helpers::vhost::TestVhost;
use crate::helpers::wait::eventually;

/// Flags per batch: each has 3 boundary users, so a batch makes dozens of boundary evaluations per node.
const FLAGS_PER_BATCH: usize = 10;
const WAIT: std::time::Duration = std::time::Duration::from_secs(20);
/// Doubles some parsers get wrong (the first is the issue's), tiny and subnormal values, and 1 - ε/2.
const KNOWN: [f64; 5] = [0.247_401_936_445_385_22, 5e-324, 1e-300, 0.1 + 0.2 - 0.3, 1.0 - f64::EPSILON / 2.0];

/// A seeded SplitMix64 stream (reproducible; the seed is in the test).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A double in `[0, 1)` with all 53 bits used.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Any finite double.
    fn finite(&mut self) -> f64 {
        loop {
            let x = f64::from_bits(self.next());
            if x.is_finite() {
                return x;
            }
        }
    }
}

/// One generated flag: its body and the users (as sent) whose bucket or score sits at one of its boundaries.
struct Case {
    key: String,
    body: Value,
    users: Vec<Value>,
}

/// A flag whose fallthrough splits at a boundary next to (or on) the bucket of its first user.
fn case(rng: &mut Rng, n: usize) -> Case {
    let key = format!("n{n}");
    let keys: Vec<String> = (0..3).map(|i| format!("user-{n}-{i}-{}", rng.next() % 1000)).collect();
    let bucket = rollout_of_key(&format!("{key}{}", keys[0]));
    // The rule matches scores from `threshold` up; the scores are sent as JSON numbers (user properties).
    let threshold = rng.finite();
    let users = vec![
        json!({"keyId": keys[0]}),
        json!({"keyId": keys[1], "customizedProperties": [{"name": "score", "value": threshold.next_down()}]}),
        json!({"keyId": keys[2], "customizedProperties": [{"name": "score", "value": threshold}]}),
    ];
    let boundary = match n % 4 {
        0 => bucket.next_down(),
        1 => bucket.next_up(),
        2 => bucket,
        _ => KNOWN[n % KNOWN.len()],
    };
    let (expt_a, expt_b) = (rng.unit() * boundary, rng.unit() * (1.0 - boundary));
    let number = if n.is_multiple_of(2) { rng.finite() } else { KNOWN[n % KNOWN.len()] };
    let body = json!({
        "name": key, "variationType": "json", "isEnabled": true, "disabledVariationId": "a",
        "variations": [
            {"id": "a", "value": format!("{{\"x\":{:?},\"n\":{:?}}}", rng.unit(), number)},
            {"id": "b", "value": format!("[{:?}]", rng.finite())}
        ],
        "fallthrough": {"includedInExpt": true, "variations": [
            {"id": "a", "rollout": [0, boundary], "exptRollout": expt_a},
            {"id": "b", "rollout": [boundary, 1], "exptRollout": expt_b}
        ]},
        "rules": [{"name": "numbers", "conditions": [{"property": "score", "op": "BiggerEqualThan", "value": format!("{threshold:?}")}],
            "variations": [{"id": "b", "rollout": [0, 1], "exptRollout": number.abs().min(1.0)}]}]
    });
    Case { key, body, users }
}

/// Every number of a flag, in a fixed order, as bits: rollouts and `exptRollout`s, then variation values verbatim.
fn numbers(flag: &Value) -> (Vec<u64>, Vec<String>) {
    let mut bits = Vec::new();
    let splits = flag["rules"].as_array().into_iter().flatten().map(|r| &r["variations"]);
    for split in std::iter::once(&flag["fallthrough"]["variations"]).chain(splits) {
        for v in split.as_array().expect("a split") {
            bits.extend(
                v["rollout"].as_array().expect("rollout").iter().map(|x| x.as_f64().expect("number").to_bits()),
            );
            bits.push(v["exptRollout"].as_f64().expect("exptRollout").to_bits());
        }
    }
    let values = flag["variations"].as_array().expect("variations").iter().map(|v| v["value"].to_string()).collect();
    (bits, values)
}

fn assert_same_numbers(sent: &Value, got: &Value, hop: &str) {
    assert_eq!(numbers(got), numbers(sent), "{hop}: {} changed a number", sent["name"]);
}

/// `GET …/server/latest-all` on `base`: the flags by key.
async fn server_flags(http: &reqwest::Client, base: &str, secret: &str) -> Vec<Value> {
    let res = http.get(format!("{base}/api/public/sdk/server/latest-all")).header("authorization", secret);
    let body: Value = res.send().await.expect("answers").json().await.expect("json");
    body["data"]["featureFlags"].as_array().cloned().unwrap_or_default()
}

fn by_key<'a>(flags: &'a [Value], key: &str) -> Option<&'a Value> {
    flags.iter().find(|f| f["key"] == key)
}

/// Client evaluation on `base` for every user of every case, against the evaluator on the data as sent.
async fn assert_client_evaluation(http: &reqwest::Client, base: &str, client: &str, cases: &[Case]) {
    for case in cases {
        let mut flag: FeatureFlag = serde_json::from_value(case.body.clone()).expect("a flag");
        flag.key = case.key.clone();
        let compiled = CompiledFlag::compile(&flag);
        for (i, user) in case.users.iter().enumerate() {
            let parsed: EndUser = serde_json::from_value(user.clone()).expect("a user");
            let expected = compiled.evaluate(&compile_segments(std::iter::empty()), &(&parsed).into());
            // The data really sits on the boundaries: one double below the threshold misses the rule, on it matches.
            assert_eq!(expected.reason.as_str() == "numbers", i == 2, "{user}");
            let res = http.post(format!("{base}/api/public/sdk/client/latest-all")).header("authorization", client);
            let body: Value = res.json(user).send().await.expect("answers").json().await.expect("json");
            let flags = body["data"]["featureFlags"].as_array().cloned().unwrap_or_default();
            let got = flags.iter().find(|f| f["id"] == case.key.as_str()).expect("the flag is served");
            let want = (expected.variation_id(), expected.send_to_experiment);
            assert_eq!(
                (got["variationId"].as_str(), got["sendToExperiment"].as_bool()),
                (want.0, Some(want.1)),
                "{base} {} {user}",
                case.key
            );
        }
    }
}

/// PUT every case through `app`: the answer and a GET (the database) carry the very doubles sent.
async fn put_all(app: &TestApp, env_id: &str, cases: &[Case]) {
    for case in cases {
        let path = format!("/environments/{env_id}/feature-flags/{}", case.key);
        let (status, answer) = app.admin(Method::PUT, &path, Some(case.body.clone())).await;
        assert_eq!(status, 201, "{answer} for {}", case.body);
        assert_same_numbers(&case.body, &answer, "PUT answer");
        assert_same_numbers(&case.body, &app.admin(Method::GET, &path, None).await.1, "GET");
    }
}

#[actix_web::test]
async fn random_doubles_survive_sqlite_and_evaluate_as_sent() {
    let app = TestApp::spawn(TestDb::sqlite(), &[]).await;
    let (env_id, server, client) = env(&app, "numbers").await;
    let mut rng = Rng(20_261_201);
    let cases: Vec<Case> = (0..FLAGS_PER_BATCH).map(|n| case(&mut rng, n)).collect();

    put_all(&app, &env_id, &cases).await;

    let served = server_flags(&app.http, &app.address, &server).await;
    for c in &cases {
        assert_same_numbers(&c.body, by_key(&served, &c.key).expect("served"), "server latest-all");
    }
    assert_client_evaluation(&app.http, &app.address, &client, &cases).await;
    app.cleanup().await;
}

#[actix_web::test]
async fn random_doubles_survive_postgres_redis_the_bus_and_a_second_node() {
    let (vhost, prefix) = (TestVhost::create(), format!("t:{}:", Uuid::new_v4().simple()));
    let amqp = vhost.url();
    let shared = [
        ("VANE__BUS__AMQP_URL", amqp.as_str()),
        ("VANE__CACHE__REDIS_URL", "redis://127.0.0.1:6379"),
        ("VANE__CACHE__KEY_PREFIX", prefix.as_str()),
    ];
    let node_a = TestApp::spawn(TestDb::postgres().await, &shared).await;
    let (env_id, server, client) = env(&node_a, "numbers").await;
    let env_uuid = Uuid::parse_str(&env_id).expect("uuid");
    let mut rng = Rng(1_201);
    let first: Vec<Case> = (0..FLAGS_PER_BATCH).map(|n| case(&mut rng, n)).collect();

    // PUT → Postgres jsonb → GET, then node A's snapshot (loaded from the database, filling Redis).
    put_all(&node_a, &env_id, &first).await;
    let served = server_flags(&node_a.http, &node_a.address, &server).await;
    for c in &first {
        assert_same_numbers(&c.body, by_key(&served, &c.key).expect("served"), "node A latest-all");
    }
    let redis = vane_actors::cache::RedisCache::new("redis://127.0.0.1:6379", &prefix).expect("redis");
    let (cached, _) = redis.environment(env_uuid).await.expect("reads").expect("node A filled the cache");
    for c in &first {
        let flag = cached.iter().find(|f| f.key == c.key).expect("cached");
        assert_same_numbers(&c.body, &serde_json::to_value(flag).expect("json"), "Redis");
    }

    // Node B starts now and loads the environment from Redis.
    let mut all = vec![("VANE__DATABASE__URL", node_a.db.url.as_str()), ("VANE__ADMIN__TOKEN", ADMIN_TOKEN)];
    all.extend_from_slice(&shared);
    let b = Application::build(test_settings(&all)).await.expect("node B builds");
    let node_b = format!("http://127.0.0.1:{}", b.port());
    actix_web::rt::spawn(b.run_until_stopped());
    let served = server_flags(&node_a.http, &node_b, &server).await;
    for c in &first {
        assert_same_numbers(&c.body, by_key(&served, &c.key).expect("served"), "node B latest-all (Redis)");
    }

    // A second batch reaches node B through the bus.
    let second: Vec<Case> = (FLAGS_PER_BATCH..2 * FLAGS_PER_BATCH).map(|n| case(&mut rng, n)).collect();
    put_all(&node_a, &env_id, &second).await;
    let served = eventually(WAIT, "node B receives the second batch", || async {
        let flags = server_flags(&node_a.http, &node_b, &server).await;
        second.iter().all(|c| by_key(&flags, &c.key).is_some()).then_some(flags)
    })
    .await;
    for c in &second {
        assert_same_numbers(&c.body, by_key(&served, &c.key).expect("served"), "node B latest-all (bus)");
    }

    // Client evaluation on both nodes serves what the evaluator computes on the data as sent.
    let cases: Vec<Case> = first.into_iter().chain(second).collect();
    assert_client_evaluation(&node_a.http, &node_a.address, &client, &cases).await;
    assert_client_evaluation(&node_a.http, &node_b, &client, &cases).await;

    redis.delete_prefix().await.expect("redis cleanup");
    vhost.delete();
    node_a.cleanup().await;
}
