//! Timestamps on the wire: ISO-8601 UTC with exactly three fractional digits and `Z`, read leniently.
//!
//! SDKs use `updatedAt` as a version and ask for changes "newer than" it in milliseconds, so the server keeps every
//! timestamp truncated to the millisecond ([`truncate_ms`]) and writes it the same way everywhere.

use chrono::{DateTime, SecondsFormat, SubsecRound, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serializer, de::Error};

/// Serde adapter for `DateTime<Utc>` fields: millisecond precision out, any RFC 3339 in.
pub mod millis {
    use super::*;

    /// Writes `2024-01-02T03:04:05.123Z`.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    /// Reads any RFC 3339 timestamp (0–9 fractional digits, any offset); `null` is the Unix epoch.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(DateTime::<Utc>::default()),
            Some(s) => parse(&s).map_err(D::Error::custom),
        }
    }
}

/// Formats a timestamp as FeatBit SDKs expect it.
pub fn format(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp into UTC.
pub fn parse(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s.trim()).map(|t| t.with_timezone(&Utc))
}

/// Drops everything below the millisecond, so stored, cached and sent values agree.
pub fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

/// The current time, truncated to the millisecond.
pub fn now_ms() -> DateTime<Utc> {
    truncate_ms(Utc::now())
}

/// Unix milliseconds of a timestamp (the SDKs' version number).
pub fn unix_ms(t: &DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The timestamp of a Unix millisecond value; out-of-range values clamp to the epoch.
pub fn from_unix_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_three_fraction_digits_and_z() {
        let t = parse("2023-01-28T02:08:14.8043456Z").expect("valid");
        assert_eq!(format(&truncate_ms(t)), "2023-01-28T02:08:14.804Z");
        assert_eq!(format(&parse("2023-01-16T04:01:56Z").expect("valid")), "2023-01-16T04:01:56.000Z");
    }

    #[test]
    fn unix_ms_round_trips() {
        let t = parse("2023-01-28T05:58:05.421Z").expect("valid");
        assert_eq!(unix_ms(&t), 1_674_885_485_421);
        assert_eq!(from_unix_ms(1_674_885_485_421), t);
    }

    #[test]
    fn parses_offsets_into_utc() {
        let t = parse("2023-01-28T07:58:05.421+02:00").expect("valid");
        assert_eq!(format(&t), "2023-01-28T05:58:05.421Z");
    }
}
