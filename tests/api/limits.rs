//! Rate limits (`[rate_limits]`), session caps, the body read timeout and fragmented oversize messages: what an
//! attacker holding only a client secret could otherwise use to exhaust a node.

mod caps;
mod rate;
mod shared;

use std::time::Duration;

use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::seed::{self, TestEnv};

/// Longest wait for a node to reflect a change.
const WAIT: Duration = Duration::from_secs(10);

/// A node on a fresh SQLite database with `overrides`, and one environment.
async fn node(overrides: &[(&str, &str)]) -> (TestApp, TestEnv) {
    let db = TestDb::sqlite();
    let store = seed::store(&db.url).await;
    let env = seed::env(&store).await;
    (TestApp::spawn(db, overrides).await, env)
}

/// The sum of `name`'s samples on the node's `/metrics` whose labels contain every one of `labels`.
async fn metric(app: &TestApp, name: &str, labels: &[&str]) -> f64 {
    let text = app.http.get(format!("{}/metrics", app.address)).send().await.expect("scrape").text().await;
    crate::ops::Scrape(text.expect("body")).sum(name, labels)
}
