//! A minimal FeatBit-protocol WebSocket client, for driving every protocol path (the real SDKs are driven by the
//! `sdk_*` tests).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use vane_schema::secret::ConnectionToken;

/// How long a test waits for one frame.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected socket.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// A token as SDKs build it, for `secret` at this instant plus `skew_ms`.
pub fn token(secret: &str, skew_ms: i64) -> String {
    let now = chrono::Utc::now().timestamp_millis() + skew_ms;
    ConnectionToken::build(secret, now, 7)
}

impl WsClient {
    /// Opens `ws://…/streaming?QUERY`.
    pub async fn connect(base: &str, query: &str) -> Self {
        let url = format!("{}/streaming?{query}", base.replacen("http", "ws", 1));
        let (ws, _) = connect_async(url).await.expect("upgrade accepted");
        Self { ws }
    }

    /// Opens a socket of `kind` (`server`/`client`) with a fresh token for `secret`.
    pub async fn open(base: &str, kind: &str, secret: &str) -> Self {
        Self::connect(base, &format!("type={kind}&token={}", token(secret, 0))).await
    }

    /// Whether the node at `base` accepts `secret` for `kind` now: a ping is answered (true) or the socket is
    /// closed (false, e.g. 4003 for a secret the node does not know yet).
    pub async fn accepted(base: &str, kind: &str, secret: &str) -> bool {
        let mut ws = Self::open(base, kind, secret).await;
        if ws.ws.send(Message::text(r#"{"messageType":"ping","data":null}"#)).await.is_err() {
            return false;
        }
        loop {
            match tokio::time::timeout(FRAME_TIMEOUT, ws.ws.next()).await.expect("a frame in time") {
                Some(Ok(Message::Text(_))) => return true,
                Some(Ok(Message::Close(_)) | Err(_)) | None => return false,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("sent");
    }

    /// Sends a JSON frame.
    pub async fn send_json(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    /// Sends a data-sync.
    pub async fn data_sync(&mut self, data: Value) {
        self.send_json(serde_json::json!({"messageType": "data-sync", "data": data})).await;
    }

    /// The next text frame as a string; panics on close or timeout.
    pub async fn next_text(&mut self) -> String {
        loop {
            let msg = tokio::time::timeout(FRAME_TIMEOUT, self.ws.next()).await.expect("a frame in time");
            match msg.expect("socket open").expect("frame") {
                Message::Text(t) => return t.to_string(),
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => continue,
            }
        }
    }

    /// The next text frame, parsed.
    pub async fn next_json(&mut self) -> Value {
        serde_json::from_str(&self.next_text().await).expect("JSON frame")
    }

    /// Waits for the server's close frame and returns its code and reason.
    pub async fn expect_close(&mut self) -> (u16, String) {
        loop {
            let msg = tokio::time::timeout(FRAME_TIMEOUT, self.ws.next()).await.expect("close in time");
            match msg {
                Some(Ok(Message::Close(Some(CloseFrame { code, reason })))) => {
                    return (code.into(), reason.to_string());
                }
                Some(Ok(Message::Close(None))) => return (1005, String::new()),
                Some(Ok(Message::Text(t))) => panic!("expected close, got {t}"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error before close: {e}"),
                None => panic!("socket ended without a close frame"),
            }
        }
    }

    /// Waits until the server side is gone: a close frame, a socket error or the end of the stream.
    pub async fn expect_gone(&mut self) {
        loop {
            match tokio::time::timeout(FRAME_TIMEOUT, self.ws.next()).await.expect("the socket ends in time") {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Proves the socket is open and every earlier frame was answered (or ignored): a ping must be answered with
    /// the exact pong frame, and it must be the next frame.
    pub async fn expect_alive(&mut self) {
        self.send_text(r#"{"messageType":"ping","data":null}"#).await;
        assert_eq!(self.next_text().await, r#"{"messageType":"pong","data":{}}"#);
    }

    /// Closes the socket with 1000 (normal closure) and waits for the server's answer.
    pub async fn close(&mut self) {
        let normal = CloseFrame { code: 1000.into(), reason: "".into() };
        self.ws.close(Some(normal)).await.expect("close sent");
        while let Ok(Some(Ok(_))) = tokio::time::timeout(FRAME_TIMEOUT, self.ws.next()).await {}
    }

    /// Sends a raw message (binary, oversized…).
    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("sent");
    }
}
