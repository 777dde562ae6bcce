//! Connection limits: session caps per node and per environment, the body read timeout, and a fragmented message
//! over `streaming.max_frame_bytes`.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use super::WAIT;
use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::sdk::WsClient;
use crate::helpers::seed;
use crate::helpers::wait::eventually;

async fn open_sessions(app: &TestApp) -> u64 {
    let status: Value =
        app.http.get(format!("{}/status", app.address)).send().await.expect("status").json().await.expect("JSON");
    status["sessions"]["server"].as_u64().unwrap_or(0) + status["sessions"]["client"].as_u64().unwrap_or(0)
}

#[actix_web::test]
async fn sessions_beyond_the_per_environment_and_node_caps_are_closed_with_1013() {
    // Arrange: at most one session per environment and two per node.
    let db = TestDb::sqlite();
    let store = seed::store(&db.url).await;
    let (a, b, c) = (seed::env(&store).await, seed::env(&store).await, seed::env(&store).await);
    let caps = [("VANE__STREAMING__MAX_SESSIONS", "2"), ("VANE__STREAMING__MAX_SESSIONS_PER_ENV", "1")];
    let app = TestApp::spawn(db, &caps).await;

    // Act + Assert
    let mut a1 = WsClient::open(&app.address, "server", &a.server).await;
    a1.expect_alive().await;
    let mut a2 = WsClient::open(&app.address, "client", &a.client).await;
    assert_eq!(a2.expect_close().await.0, 1013, "second session of environment a");
    let mut b1 = WsClient::open(&app.address, "server", &b.server).await;
    b1.expect_alive().await;
    let mut c1 = WsClient::open(&app.address, "server", &c.server).await;
    assert_eq!(c1.expect_close().await.0, 1013, "third session on the node");

    // A closed session gives its place back.
    a1.close().await;
    eventually(WAIT, "a's session to be gone", || async { (open_sessions(&app).await == 1).then_some(()) }).await;
    let mut a3 = WsClient::open(&app.address, "server", &a.server).await;
    a3.expect_alive().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn a_body_that_does_not_arrive_in_time_is_answered_408_with_json() {
    // Arrange
    let db = TestDb::sqlite();
    let env = seed::env(&seed::store(&db.url).await).await;
    let app = TestApp::spawn(db, &[("VANE__HTTP__BODY_TIMEOUT_SECONDS", "1")]).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.expect("connects");

    // Act: announce 100 bytes, send 2, then nothing.
    let head = format!(
        "POST /api/public/insight/track HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n[{{",
        env.client
    );
    tcp.write_all(head.as_bytes()).await.expect("sent");
    let mut response = vec![0; 4096];
    let n = tokio::time::timeout(WAIT, tcp.read(&mut response)).await.expect("an answer in time").expect("read");

    // Assert
    let response = String::from_utf8_lossy(&response[..n]);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains(r#""error":"request_timeout""#), "{response}");
    app.cleanup().await;
}

#[actix_web::test]
async fn a_fragmented_message_over_the_frame_limit_is_closed_with_1009() {
    // Arrange: two fragments of 40 KB each stay under the 64 KiB frame limit, together they exceed it.
    let db = TestDb::sqlite();
    let env = seed::env(&seed::store(&db.url).await).await;
    let app = TestApp::spawn(db, &[]).await;
    let mut ws = WsClient::open(&app.address, "server", &env.server).await;
    let part = vec![b' '; 40_000];

    // Act
    ws.send_raw(Message::Frame(Frame::message(part.clone(), OpCode::Data(Data::Text), false))).await;
    ws.send_raw(Message::Frame(Frame::message(part, OpCode::Data(Data::Continue), true))).await;

    // Assert
    assert_eq!(ws.expect_close().await.0, 1009);
    app.cleanup().await;
}
