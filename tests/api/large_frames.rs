//! Large frames (full syncs of big environments) go out as WebSocket fragments of at most 16 KiB that are slices
//! of the one serialized frame every session shares, so a socket never holds a whole copy of it (see
//! BENCHMARKS.md, large environment). Checked on the raw socket: a WebSocket library would hide the fragments.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::sdk::token;
use crate::helpers::sdk_fixtures::{Vane, driver, driver_input, expected_values, seed_environment};
use crate::helpers::seed;

/// Reads frames until a data frame with FIN; returns `(opcode, payload length)` per frame and the payload.
async fn read_fragments(tcp: &mut TcpStream) -> (Vec<(u8, usize)>, Vec<u8>) {
    let (mut frames, mut payload) = (Vec::new(), Vec::new());
    loop {
        let (b0, b1) = (tcp.read_u8().await.expect("header"), tcp.read_u8().await.expect("header"));
        let len = match b1 & 0x7f {
            126 => usize::from(tcp.read_u16().await.expect("len")),
            127 => usize::try_from(tcp.read_u64().await.expect("len")).expect("fits"),
            n => usize::from(n),
        };
        let mut buf = vec![0; len];
        tcp.read_exact(&mut buf).await.expect("payload");
        frames.push((b0 & 0x0f, len));
        payload.extend_from_slice(&buf);
        if b0 & 0x80 != 0 {
            return (frames, payload);
        }
    }
}

#[actix_web::test]
async fn a_large_full_sync_arrives_in_fragments_of_the_shared_frame() {
    // Arrange: 300 flags make a full sync of ~200 KB.
    let db = TestDb::sqlite();
    let store = seed::store(&db.url).await;
    let env = seed::env(&store).await;
    for i in 0..300 {
        store.upsert_flag(&seed::bool_flag(env.id, &format!("flag-{i}"))).await.expect("flag");
    }
    let app = TestApp::spawn(db, &[]).await;
    let url =
        format!("{}/streaming?type=server&token={}", app.address.replacen("http", "ws", 1), token(&env.server, 0));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connects");

    // Act
    let sync = r#"{"messageType":"data-sync","data":{"timestamp":0}}"#;
    futures_util::SinkExt::send(&mut ws, Message::text(sync)).await.expect("sent");
    let MaybeTlsStream::Plain(tcp) = ws.get_mut() else { panic!("plain TCP") };
    let (frames, payload) = read_fragments(tcp).await;
    let polled = app.http.get(format!("{}/api/public/sdk/server/latest-all", app.address));
    let polled = polled.header("authorization", &env.server).send().await.expect("polls").bytes().await.expect("body");

    // Assert
    assert!(frames.len() > 5, "fragmented: {frames:?}");
    assert_eq!(frames[0].0, 0x1, "first fragment is text");
    assert!(frames[1..].iter().all(|(op, _)| *op == 0x0), "then continuations: {frames:?}");
    assert!(frames.iter().all(|(_, len)| *len <= 16 * 1024), "{frames:?}");
    assert_eq!(payload, polled.as_ref(), "the fragments reassemble to the one serialized full sync");
    let frame: serde_json::Value = serde_json::from_slice(&payload).expect("JSON");
    assert_eq!(frame["data"]["featureFlags"].as_array().map(Vec::len), Some(300));
    app.cleanup().await;
}

/// The unmodified node and Python server SDKs become ready and evaluate as usual from a fragmented full sync.
async fn sdk_syncs_a_fragmented_full_sync(cmd: std::process::Command) {
    let db = TestDb::sqlite();
    let (env, store) = seed_environment(&db.url).await;
    for i in 0..300 {
        store.upsert_flag(&seed::bool_flag(env.id, &format!("padding-{i}"))).await.expect("flag");
    }
    let vane = Vane::start(&db);
    let result = driver::run(cmd, &driver_input(&vane.url, &env.server), Duration::from_secs(45));
    assert_eq!(result["ready"], true, "the SDK never became ready: {result}");
    assert_eq!(result["values"], expected_values(), "{result}");
    drop(vane);
    db.cleanup().await;
}

#[tokio::test]
async fn node_server_sdk_reassembles_a_fragmented_full_sync() {
    sdk_syncs_a_fragmented_full_sync(driver::node("node_server.mjs")).await;
}

#[tokio::test]
async fn python_server_sdk_reassembles_a_fragmented_full_sync() {
    sdk_syncs_a_fragmented_full_sync(driver::python("python_server.py")).await;
}
