//! SIGTERM with hundreds of connected sessions: readiness turns 503, every session gets 1001 Going Away within the
//! drain window, insights accepted before the signal are stored, and the process exits 0 within the timeout.

use std::time::{Duration, Instant};

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use vane_schema::entity::event;

use super::{Node, WAIT};
use crate::helpers::database::TestDb;
use crate::helpers::sdk::WsClient;
use crate::helpers::seed;

const SESSIONS: usize = 500;
const DRAIN_WINDOW_SECONDS: u64 = 3;
const TIMEOUT_SECONDS: u64 = 15;

#[tokio::test]
async fn sigterm_closes_every_session_with_1001_and_exits_zero_within_the_timeout() {
    // Arrange: a node on Postgres with 500 synced server sessions.
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (window, timeout) = (DRAIN_WINDOW_SECONDS.to_string(), TIMEOUT_SECONDS.to_string());
    let env = [
        ("VANE__DATABASE__URL", db.url.as_str()),
        ("VANE__SHUTDOWN__DRAIN_WINDOW_SECONDS", window.as_str()),
        ("VANE__SHUTDOWN__TIMEOUT_SECONDS", timeout.as_str()),
    ];
    let node = Node::start(dir.path(), &env);
    let (_, secret) = node.env("prod").await;
    let mut sessions = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        let mut ws = WsClient::open(&node.base, "server", &secret).await;
        ws.data_sync(json!({"timestamp": 0})).await;
        sessions.push(ws);
    }
    for ws in &mut sessions {
        ws.next_json().await;
    }
    let (status, body) = node.get("/status").await;
    assert_eq!(status, 200);
    let status: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(status["sessions"]["server"], SESSIONS, "{status}");
    let track = json!([{"user": {"keyId": "u1", "name": "u1"},
        "variations": [{"featureFlagKey": "f", "variation": {"id": "v", "value": "true"}, "sendToExperiment": false,
                        "timestamp": 1_719_750_000_000u64}]}]);
    let accepted = node
        .http
        .post(format!("{}/api/public/insight/track", node.base))
        .header("authorization", &secret)
        .json(&track)
        .send()
        .await
        .expect("answers");
    assert_eq!(accepted.status(), 200);

    // Act: SIGTERM.
    let started = Instant::now();
    let Node { process, base, http } = node;
    let exited = std::thread::spawn(move || process.terminate());
    let ready = crate::helpers::wait::eventually(WAIT, "readiness 503 or refused", || async {
        match http.get(format!("{base}/health/readiness")).send().await {
            Ok(res) if res.status() == 503 => Some(()),
            Err(_) => Some(()),
            Ok(_) => None,
        }
    });
    ready.await;

    // Assert: every session saw 1001 within the window; exit 0 within the timeout; the insight is stored.
    let closes = futures_util::future::join_all(sessions.iter_mut().map(|ws| ws.expect_close())).await;
    let not_going_away: Vec<_> = closes.iter().filter(|(code, _)| *code != 1001).collect();
    assert!(
        not_going_away.is_empty(),
        "{} sessions closed otherwise: {:?}",
        not_going_away.len(),
        &not_going_away[..1]
    );
    assert!(started.elapsed() < Duration::from_secs(DRAIN_WINDOW_SECONDS + 3), "drained in {:?}", started.elapsed());
    let status = exited.join().expect("terminate");
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(TIMEOUT_SECONDS), "exited after {:?}", started.elapsed());
    let store = seed::store(&db.url).await;
    assert_eq!(event::Entity::find().count(store.connection()).await.expect("count"), 1);
    db.cleanup().await;
}
