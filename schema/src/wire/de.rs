//! Lenient deserializers shared by the wire types: FeatBit stores and SDKs send `null` for empty strings and
//! lists, numbers as strings, and `""` for "no environment" in shared segments.

use serde::{Deserialize, Deserializer, de::Error};
use uuid::Uuid;

/// `null` (or an absent field, with `#[serde(default)]`) becomes `T::default()`.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A UUID, where `null` and `""` mean the nil UUID (FeatBit writes `"envId":""` for shared segments).
pub fn uuid_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(Uuid::nil()),
        Some(s) if s.trim().is_empty() => Ok(Uuid::nil()),
        Some(s) => Uuid::parse_str(s.trim()).map_err(D::Error::custom),
    }
}

/// A scalar rendered as the string FeatBit expects: strings as they are, numbers and booleans in their JSON text,
/// `null` as `""`. Objects and arrays are rejected.
pub fn scalar_as_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Null => Ok(String::new()),
        v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => Ok(v.to_string()),
        _ => Err(D::Error::custom("expected a string, number or boolean")),
    }
}

/// An integer that may also arrive as a numeric string (.NET "Web" JSON defaults accept both).
pub fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18).map(|f| f as i64))
            .ok_or_else(|| D::Error::custom("expected an integer")),
        serde_json::Value::String(s) => s.trim().parse().map_err(D::Error::custom),
        serde_json::Value::Null => Ok(0),
        _ => Err(D::Error::custom("expected an integer")),
    }
}

/// A float that may also arrive as a numeric string.
pub fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_f64().ok_or_else(|| D::Error::custom("expected a number")),
        serde_json::Value::String(s) => s.trim().parse().map_err(D::Error::custom),
        serde_json::Value::Null => Ok(0.0),
        _ => Err(D::Error::custom("expected a number")),
    }
}

/// A boolean where `null` means `false` and `"true"`/`"false"` strings are accepted.
pub fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::Null => Ok(false),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(D::Error::custom("expected a boolean")),
    }
}

/// Writes integral floats as integers (`1`, not `1.0`), as .NET does, so stored JSON round-trips byte for byte.
pub fn compact_f64<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 { s.serialize_i64(*v as i64) } else { s.serialize_f64(*v) }
}

/// [`compact_f64`] for a list.
pub fn compact_f64s<S: serde::Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for x in v {
        seq.serialize_element(&Compact(*x))?;
    }
    seq.end()
}

/// [`compact_f64`] for an optional value.
pub fn compact_opt_f64<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => compact_f64(x, s),
        None => s.serialize_none(),
    }
}

struct Compact(f64);

impl serde::Serialize for Compact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        compact_f64(&self.0, s)
    }
}
