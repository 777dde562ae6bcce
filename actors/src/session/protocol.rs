//! Inbound socket frames (featbit-protocol.md §2.1): `{"messageType": …, "data": …}` with both keys present,
//! `messageType` matched case-insensitively; anything else is ignored and the connection stays open.

use actix_ws::ProtocolError;
use serde::Deserialize;
use serde_json::value::RawValue;
use vane_schema::wire::sdk::DataSyncRequest;

/// Close codes the server uses.
pub mod close {
    /// Normal closure (peer asked, or idle).
    pub const NORMAL: u16 = 1000;
    /// The node is draining, or the connection reached its maximum age; SDKs reconnect (to another node).
    pub const GOING_AWAY: u16 = 1001;
    /// The peer closed without a code (not sent; counted in `vane.session.closes`).
    pub const NO_STATUS: u16 = 1005;
    /// The socket ended without a close frame (not sent; counted in `vane.session.closes`).
    pub const ABNORMAL: u16 = 1006;
    /// A frame larger than `streaming.max_frame_bytes`.
    pub const TOO_BIG: u16 = 1009;
    /// Transient server failure; SDKs reconnect.
    pub const UNAVAILABLE: u16 = 1011;
    /// The session fell too far behind its pushes; SDKs reconnect and resync.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// Permanent: invalid parameters, token or secret; SDKs stop reconnecting.
    pub const INVALID_REQUEST: u16 = 4003;
}

/// Whether a read error means a message over `streaming.max_frame_bytes` (close 1009): one oversized frame, or a
/// fragmented message whose continuations add up to more. actix-ws 0.4 reports the latter only as an I/O error
/// with this text (`aggregated.rs`), so it is matched here, in one place; `tests/api/limits` pins it.
pub fn is_oversize(e: &ProtocolError) -> bool {
    match e {
        ProtocolError::Overflow => true,
        ProtocolError::Io(io) => io.kind() == std::io::ErrorKind::Other && io.to_string().contains("continuation size"),
        _ => false,
    }
}

/// What an inbound text frame asks for.
#[derive(Debug)]
pub enum Inbound {
    /// Answer with the pong frame.
    Ping,
    /// Answer with the same `data`.
    Echo(Box<RawValue>),
    /// Sync request.
    DataSync(DataSyncRequest),
    /// Not actionable; why (for debug logs).
    Ignored(&'static str),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(borrow)]
    message_type: Option<&'a RawValue>,
    /// `Some` whenever the key is present, even as `null` (SDKs ping with `"data": null`).
    #[serde(default, deserialize_with = "present")]
    data: Option<Box<RawValue>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

/// Classifies a text frame.
pub fn parse(text: &str) -> Inbound {
    let Ok(env) = serde_json::from_str::<Envelope<'_>>(text) else { return Inbound::Ignored("invalid JSON") };
    let (Some(kind), Some(data)) = (env.message_type, env.data) else {
        return Inbound::Ignored("messageType or data missing");
    };
    let Ok(kind) = serde_json::from_str::<std::borrow::Cow<'_, str>>(kind.get()) else {
        return Inbound::Ignored("messageType is not a string");
    };
    if kind.eq_ignore_ascii_case("ping") {
        Inbound::Ping
    } else if kind.eq_ignore_ascii_case("echo") {
        Inbound::Echo(data)
    } else if kind.eq_ignore_ascii_case("data-sync") {
        match data.get() {
            "null" => Inbound::DataSync(DataSyncRequest::default()),
            raw => serde_json::from_str(raw).map_or(Inbound::Ignored("malformed data-sync"), Inbound::DataSync),
        }
    } else {
        Inbound::Ignored("unknown messageType")
    }
}

/// `{"messageType":"echo","data":<data>}`.
pub fn echo_frame(data: &RawValue) -> String {
    format!(r#"{{"messageType":"echo","data":{}}}"#, data.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_in_every_sdk_spelling() {
        for text in [
            r#"{"messageType":"ping","data":null}"#,
            r#"{"messageType": "ping", "data": null}"#,
            r#"{"messageType":"ping","data":{}}"#,
            r#"{"messageType":"PING","data":{}}"#,
        ] {
            assert!(matches!(parse(text), Inbound::Ping), "{text}");
        }
    }

    #[test]
    fn data_sync_variants() {
        let Inbound::DataSync(r) = parse(r#"{"messageType": "data-sync", "data": {"timestamp": 0}}"#) else { panic!() };
        assert_eq!((r.timestamp, r.user.is_none()), (0, true));
        let Inbound::DataSync(r) = parse(r#"{"messageType":"data-sync","data":null}"#) else { panic!() };
        assert_eq!(r.timestamp, 0);
        let text = r#"{"messageType":"data-sync","data":{"timestamp":5,"user":{"keyId":"u1","name":"Bob",
            "customizedProperties":[{"name":"country","value":"us"}]}}}"#;
        let Inbound::DataSync(r) = parse(text) else { panic!() };
        assert_eq!(r.timestamp, 5);
        assert_eq!(r.user.map(|u| u.key_id), Some("u1".to_owned()));
    }

    #[test]
    fn garbage_is_ignored_not_fatal() {
        for text in [
            "",
            "not json",
            "[]",
            r#"{"messageType":"ping"}"#,
            r#"{"data":{}}"#,
            r#"{"messageType":42,"data":{}}"#,
            r#"{"messageType":"subscribe","data":{}}"#,
            r#"{"messageType":"data-sync","data":{"user":{"customizedProperties":{"x":1}}}}"#,
        ] {
            assert!(matches!(parse(text), Inbound::Ignored(_)), "{text}");
        }
    }

    #[test]
    fn echo_returns_the_same_data() {
        let Inbound::Echo(data) = parse(r#"{"messageType":"echo","data":{"a":[1,2]}}"#) else { panic!() };
        assert_eq!(echo_frame(&data), r#"{"messageType":"echo","data":{"a":[1,2]}}"#);
    }
}
