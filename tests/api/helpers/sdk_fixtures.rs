//! What every real-SDK test (`sdk_*`) shares: one seeded environment, the users and flags the driver scripts in
//! `tests/sdk/` evaluate, the values and insights expected back, and a real `vane` process serving it.
//!
//! The environment has a boolean flag with a targeted user, a string flag with a segment rule then a country rule,
//! a disabled flag, and a segment; the drivers also ask for a flag that does not exist. Depends on
//! [`seed`](super::seed) for the flag shapes and on [`VaneProcess`] for the server.

pub mod driver;
pub mod insights;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use vane_actors::store::Store;

use super::database::TestDb;
use super::process::VaneProcess;
use super::seed::{self, TestEnv};
use insights::Stored;

/// The flag no environment has: every SDK must return the caller's default.
pub const MISSING_FLAG: &str = "no-such-flag";
/// The custom metric each driver tracks once: server SDKs for the first user, the browser for its current (last)
/// user.
pub const METRIC: &str = "checkout";

/// One user the drivers evaluate for, with what each flag must serve them.
struct Case {
    key: &'static str,
    name: &'static str,
    country: &'static str,
    /// `bool-flag`: `false` only for the targeted user.
    bool_flag: bool,
    /// `color`: `gold` for segment members (first rule), `green` for country `us`, else `blue`.
    color: &'static str,
}

const CASES: [Case; 4] = [
    Case { key: "plain-user", name: "Plain User", country: "fr", bool_flag: true, color: "blue" },
    Case { key: "us-user", name: "US User", country: "us", bool_flag: true, color: "green" },
    // A US segment member: the segment rule comes first, so it wins over the country rule.
    Case { key: "vip-user", name: "VIP User", country: "us", bool_flag: true, color: "gold" },
    Case { key: "targeted-user", name: "Targeted User", country: "fr", bool_flag: false, color: "blue" },
];

/// A `vane` process on port 0 over a test database, in a directory of its own.
pub struct Vane {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The child process (killed on drop, which is how tests stop it).
    _process: VaneProcess,
    /// The working directory (kept alive as long as the process).
    dir: tempfile::TempDir,
}

impl Vane {
    /// Starts `vane` on `db` with the demo environment off, and waits for its banner.
    pub fn start(db: &TestDb) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = [("VANE__DATABASE__URL", db.url.as_str()), ("VANE__DEMO__ENABLED", "false")];
        let mut process = VaneProcess::start(dir.path(), &env);
        let url = format!("http://127.0.0.1:{}", process.port_from_banner());
        Self { url, _process: process, dir }
    }

    /// The admin token this node generated on first start (written to `admin.token_file`, never printed).
    pub fn admin_token(&self) -> String {
        let path = self.dir.path().join("vane-data/admin-token");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).trim().to_owned()
    }
}

/// Creates the environment, its segment and flags in the database at `url`; returns its secrets and the store (the
/// tests read insights back through it).
pub async fn seed_environment(url: &str) -> (TestEnv, Store) {
    let store = seed::store(url).await;
    let env = seed::env(&store).await;
    let beta = seed::segment(env.id, &["vip-user"]);
    store.upsert_segment(&beta).await.expect("segment");
    let mut kill_switch = seed::bool_flag(env.id, "kill-switch");
    kill_switch.is_enabled = false;
    for flag in [seed::bool_flag(env.id, "bool-flag"), seed::color_flag(env.id, "color", beta.id), kill_switch] {
        store.upsert_flag(&flag).await.expect("flag");
    }
    (env, store)
}

/// What a driver reads on stdin: where vane is, the secret, the users (with a `country` property), the flags with
/// their kind and default, and the metric to track.
pub fn driver_input(url: &str, secret: &str) -> Value {
    let users: Vec<Value> =
        CASES.iter().map(|c| json!({"key": c.key, "name": c.name, "custom": {"country": c.country}})).collect();
    json!({
        "url": url,
        "secret": secret,
        "users": users,
        // Defaults differ from what the server serves where they can, so a default cannot pass for a value.
        "flags": [
            {"key": "bool-flag", "kind": "bool", "default": false},
            {"key": "color", "kind": "string", "default": "fallback"},
            {"key": "kill-switch", "kind": "bool", "default": true},
            {"key": MISSING_FLAG, "kind": "string", "default": "fallback"},
        ],
        "metric": {"name": METRIC, "value": 2.5},
    })
}

/// `{user: {flag: value}}` every SDK must return.
pub fn expected_values() -> Value {
    let per_user =
        |c: &Case| json!({"bool-flag": c.bool_flag, "color": c.color, "kill-switch": false, MISSING_FLAG: "fallback"});
    Value::Object(CASES.iter().map(|c| (c.key.to_owned(), per_user(c))).collect())
}

/// What the server must store from one driver run: an evaluation insight for each user × each existing flag (the
/// missing flag sends none; variation ids are the seed's `v-true`/`v-false` and the colour itself), the metric
/// tracked for `metric_user`, and every user in `end_users`.
pub fn expected_insights(metric_user: &str) -> Stored {
    let bool_id = |b: bool| if b { "v-true" } else { "v-false" };
    let evaluations = CASES
        .iter()
        .flat_map(|c| {
            [("bool-flag", bool_id(c.bool_flag)), ("color", c.color), ("kill-switch", "v-false")]
                .map(|(flag, variation)| (c.key.to_owned(), flag.to_owned(), variation.to_owned()))
        })
        .collect();
    Stored {
        evaluations,
        metrics: BTreeSet::from([(metric_user.to_owned(), METRIC.to_owned())]),
        end_users: CASES.iter().map(|c| c.key.to_owned()).collect(),
    }
}

/// Every user key, in the order the drivers evaluate (the browser identifies them one after the other).
pub fn user_keys() -> Vec<&'static str> {
    CASES.iter().map(|c| c.key).collect()
}
