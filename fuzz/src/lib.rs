//! The bodies of the fuzz targets: each takes arbitrary bytes, runs one parser the way the server does and asserts
//! the parser's own promises (not only "no panic").
//!
//! Shared by the `cargo fuzz` binaries in `fuzz_targets/` and by `actors/tests/fuzz_corpus.rs`, which replays the
//! committed seed corpora (`fuzz/corpus/<target>/`) through the same functions in the ordinary test suite. That
//! file includes this one by path, so this module depends only on what `vane-actors` already depends on.

use std::collections::HashSet;

use serde::Deserialize;
use uuid::Uuid;
use vane_actors::admin::validate;
use vane_actors::eval::{CompiledFlag, EvalUser, compile_segments};
use vane_actors::ingest::Limits;
use vane_actors::ingest::track_body::{self, TrackBodyError};
use vane_actors::session::protocol::{self, Inbound};
use vane_schema::secret::{self, ConnectionToken, SECRET_LEN};
use vane_schema::wire::{EndUser, FeatureFlag, Segment};

/// The connection token of `/streaming?token=…`: any string either parses into a 44-character secret or is
/// refused; and a token built from a real secret (the first 32 bytes as two GUIDs) parses back to it.
pub fn token(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(parsed) = ConnectionToken::parse(text)
    {
        assert_eq!(parsed.secret.len(), SECRET_LEN, "{text:?}");
        let _ = secret::env_id(&parsed.secret);
    }
    let Some((ids, rest)) = data.split_first_chunk::<32>() else { return };
    let (random, env) = ids.split_at(16);
    let env = Uuid::from_slice(env).expect("16 bytes");
    if env.is_nil() {
        return;
    }
    let secret = secret_of(Uuid::from_slice(random).expect("16 bytes"), env);
    let timestamp = rest.first_chunk::<8>().map_or(0, |b| i64::from_le_bytes(*b)).saturating_abs();
    let start = rest.get(8).map_or(0, |b| usize::from(*b));
    let built = ConnectionToken::build(&secret, timestamp, start);
    let parsed = ConnectionToken::parse(&built).unwrap_or_else(|e| panic!("{built:?} from {secret:?}: {e}"));
    assert_eq!((parsed.secret.as_str(), parsed.timestamp), (secret.as_str(), timestamp), "{built:?}");
    assert_eq!(secret::env_id(&parsed.secret), Ok(env));
}

/// A secret with the given halves, in FeatBit's format (what `secret::generate` does with a random first half).
fn secret_of(random: Uuid, env: Uuid) -> String {
    let probe = secret::generate(env);
    let env_part = &probe[SECRET_LEN / 2..];
    let random_part = &secret::generate(random)[SECRET_LEN / 2..];
    format!("{random_part}{env_part}")
}

/// A text frame of an SDK session: classified without panicking; an echo answer is valid JSON that classifies
/// as the same echo; a data-sync user goes through the same limit check the session runs.
pub fn ws_message(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match protocol::parse(text) {
        Inbound::Echo(payload) => {
            let frame = protocol::echo_frame(&payload);
            let Inbound::Echo(again) = protocol::parse(&frame) else { panic!("echo frame {frame:?} is not an echo") };
            assert_eq!(again.get(), payload.get());
        }
        Inbound::DataSync(request) => {
            if let Some(user) = &request.user {
                let _ = Limits::default().check_user(user);
            }
        }
        Inbound::Ping | Inbound::Ignored(_) => {}
    }
}

/// What the flag target reads: a flag, the environment's segments and users to evaluate it for.
#[derive(Deserialize)]
struct FlagCase {
    flag: FeatureFlag,
    #[serde(default)]
    segments: Vec<Segment>,
    #[serde(default)]
    users: Vec<EndUser>,
}

/// Flag and segment JSON → validate → compile → evaluate. Every flag compiles and evaluates without panicking
/// (the evaluator also serves data the management API did not validate, e.g. a database written by FeatBit);
/// for a flag the management API accepts, the served variation is one of the flag's or the empty one (no range
/// matched).
pub fn flag_eval(data: &[u8]) {
    let Ok(case) = serde_json::from_slice::<FlagCase>(data) else { return };
    let valid_segments: HashSet<Uuid> =
        case.segments.iter().filter(|s| validate::segment(s).is_ok()).map(|s| s.id).collect();
    let accepted = validate::flag(&case.flag, &valid_segments).is_ok();
    let flag = CompiledFlag::compile(&case.flag);
    let segments = compile_segments(&case.segments);
    for user in &case.users {
        let evaluation = flag.evaluate(&segments, &EvalUser::new(user));
        let _ = evaluation.reason.as_str();
        let Some(served) = evaluation.variation else { continue };
        let known = served.id.is_empty() || case.flag.variations.iter().any(|v| v.id == served.id);
        assert!(!accepted || known, "accepted flag served unknown variation {:?}", served.id);
    }
}

/// A track body, with the default limits and with tight ones: the body-wide budgets hold, every stored item
/// passes the per-item limits, and every item is either stored or named as rejected, in body order.
pub fn track_body(data: &[u8]) {
    let tight = Limits {
        max_key_chars: 8,
        max_name_chars: 8,
        max_properties: 2,
        max_property_name_chars: 8,
        max_property_value_chars: 8,
        max_track_items: 4,
        max_track_events: 6,
        max_item_events: 3,
        max_event_field_chars: 8,
        max_track_expanded_bytes: 8 << 10,
    };
    for limits in [Limits::default(), tight] {
        check_track_body(data, &limits);
    }
}

fn check_track_body(data: &[u8], limits: &Limits) {
    let body = match track_body::parse(data, limits) {
        Ok(body) => body,
        Err(TrackBodyError::TooManyItems { max }) => {
            assert_eq!(max, limits.max_track_items);
            return;
        }
        Err(TrackBodyError::TooManyEvents { index, max } | TrackBodyError::TooLarge { index, max }) => {
            assert!(index <= limits.max_track_items && max > 0, "index {index}, max {max}");
            return;
        }
        Err(TrackBodyError::Json(_)) => return,
    };
    assert!(body.items.len() + body.rejected.len() <= limits.max_track_items);
    let events: usize = body.items.iter().map(|i| i.variations.len() + i.metrics.len()).sum();
    assert!(events <= limits.max_track_events, "{events} events");
    let bytes: usize = body.items.iter().map(vane_actors::ingest::expanded_bytes).sum();
    assert!(bytes <= limits.max_track_expanded_bytes, "{bytes} bytes");
    for item in &body.items {
        limits.check_item(item).unwrap_or_else(|e| panic!("stored item breaks a limit: {e}"));
    }
    assert!(body.rejected.windows(2).all(|w| w[0].index < w[1].index), "rejections out of order");
}
