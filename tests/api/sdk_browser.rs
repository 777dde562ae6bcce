//! The pinned, unmodified npm `@featbit/js-client-sdk` (its UMD bundle) in headless Debian chromium, driven by
//! `tests/sdk/browser_client.mjs` against a real `vane` process. The page comes from `http://localhost:<port>`, a
//! different site than vane on 127.0.0.1, so the WebSocket handshake carries a foreign `Origin` and the insight POST
//! needs a CORS preflight — exactly what a real web app does.
//!
//! Checked: ready over `type=client`, values per user with `identify()` switching users on the one socket, pings
//! answered before the SDK's liveness timeout (2 × `webSocketPingInterval`, shortened from 18 s to 1 s so the test
//! needs no 36 s wait), the preflight answered, and the insights stored.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::database::TestDb;
use crate::helpers::sdk_fixtures::{Vane, driver, driver_input, expected_insights, expected_values, insights};
use crate::helpers::sdk_fixtures::{seed_environment, user_keys};

/// Chromium start, page load, four users, three pings, flush and close: about 8 s on an idle machine.
const DRIVER_DEADLINE: Duration = Duration::from_secs(90);
/// The SDK's ping period in the test; a socket silent for twice this long is recycled by the SDK. A 2 s window still
/// catches unanswered pings, without flaking when a loaded CI machine delays a pong by a few hundred ms.
const PING_INTERVAL_MS: u64 = 1000;
/// Answered pings the driver waits for on the one socket (so the socket outlived several liveness windows).
const MIN_PINGS: u64 = 3;

fn run_browser(vane: &Vane, secret: &str) -> Value {
    let mut input = driver_input(&vane.url, secret);
    input["pingIntervalMs"] = json!(PING_INTERVAL_MS);
    input["minPings"] = json!(MIN_PINGS);
    driver::run(driver::browser("browser_client.mjs"), &input, DRIVER_DEADLINE)
}

fn contains_all(list: &Value, wanted: &[&str]) -> bool {
    let list = list.as_str().unwrap_or_default().to_ascii_lowercase();
    list == "*" || wanted.iter().all(|w| list.split(',').any(|item| item.trim() == *w))
}

async fn js_client_sdk_in_chromium_works_cross_site(db: TestDb) {
    // Arrange
    let (env, store) = seed_environment(&db.url).await;
    let vane = Vane::start(&db);

    // Act
    let result = run_browser(&vane, &env.client);

    // Assert: ready, and every user's values after identify().
    assert_eq!(result["ready"], true, "the SDK never became ready: {result}");
    assert_eq!(result["values"], expected_values(), "{result}");
    let page_origin = result["pageOrigin"].as_str().expect("pageOrigin");
    assert!(page_origin.starts_with("http://localhost:"), "the page must be cross-site to vane: {page_origin}");

    // One socket for everything: identify() reused it and liveness never recycled it.
    let sockets = result["sockets"].as_array().expect("sockets");
    assert_eq!(sockets.len(), 1, "identify() or a liveness timeout opened another socket: {sockets:#?}");
    let socket = &sockets[0];
    assert_eq!(socket["status"], 101, "{socket}");
    assert_eq!(socket["origin"], page_origin, "the handshake carried the page's Origin: {socket}");
    assert_eq!(socket["syncUsers"], json!(user_keys()), "one data-sync per user, in order: {socket}");
    let replied: Vec<&Value> = socket["replies"].as_array().expect("replies").iter().map(|r| &r["userKeyId"]).collect();
    assert_eq!(replied, user_keys(), "each data-sync answered for that user: {socket}");
    let (pings, pongs) = (socket["pingsSent"].as_u64().unwrap_or(0), socket["pongsReceived"].as_u64().unwrap_or(0));
    assert!(pongs >= MIN_PINGS && pongs + 1 >= pings, "pings {pings}, pongs {pongs}: {socket}");

    // CORS: the preflight allowed the POST, and the POST succeeded.
    let preflight = result["preflights"].get(0).unwrap_or_else(|| panic!("no CORS preflight seen: {result}"));
    assert!(preflight["status"].as_u64().is_some_and(|s| (200..300).contains(&s)), "{preflight}");
    assert!(preflight["allowOrigin"] == page_origin || preflight["allowOrigin"] == "*", "{preflight}");
    assert!(contains_all(&preflight["allowMethods"], &["post"]), "{preflight}");
    assert!(
        contains_all(&preflight["allowHeaders"], &["authorization", "content-type", "x-user-agent"]),
        "{preflight}"
    );
    let posts = result["posts"].as_array().expect("posts");
    assert!(!posts.is_empty() && posts.iter().all(|p| p["status"] == 200), "insight POSTs: {posts:#?}");
    insights::wait_for_exactly(&store, env.id, &expected_insights(user_keys().last().expect("users"))).await;
    drop(vane);
    store.connection().clone().close().await.ok();
    db.cleanup().await;
}

#[tokio::test]
async fn js_client_sdk_in_chromium_works_cross_site_on_sqlite() {
    js_client_sdk_in_chromium_works_cross_site(TestDb::sqlite()).await;
}

#[tokio::test]
async fn js_client_sdk_in_chromium_works_cross_site_on_postgres() {
    js_client_sdk_in_chromium_works_cross_site(TestDb::postgres().await).await;
}
