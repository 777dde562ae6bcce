//! FeatBit environment secrets and SDK connection tokens (featbit-protocol.md §1.2–§1.3, §4.4).
//!
//! A secret is 44 characters: 22 of URL-safe base64 of a random GUID, then 22 of the environment id, both in .NET
//! `Guid.ToByteArray()` byte order. SDKs never send the secret on the socket as is: they hide a millisecond
//! timestamp inside it, written with a digit-to-letter alphabet ([`ConnectionToken`]).

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Length of every FeatBit secret.
pub const SECRET_LEN: usize = 44;
const HALF: usize = SECRET_LEN / 2;
/// Maps decimal digits 0–9 to letters, both ways.
const ALPHABET: [u8; 10] = *b"QBWSPHDXZU";

/// .NET's `Convert.FromBase64String` ignores the unused low bits of the last character; so do we.
const B64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a secret or token was rejected. The variants are for logs; SDKs only ever see close code 4003.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Not 44 characters, or blank.
    #[error("a secret has 44 characters, this one has {0}")]
    Length(usize),
    /// The environment part is not base64 of a GUID, or is the nil GUID.
    #[error("the secret does not encode an environment id")]
    NoEnvironment,
    /// The token is malformed (header, timestamp or secret part).
    #[error("malformed connection token")]
    Token,
}

/// Whether a secret is for server-side or client-side SDKs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecretType {
    /// Server SDKs: raw flags and segments.
    Server,
    /// Client SDKs: flags evaluated by the server.
    Client,
}

impl SecretType {
    /// `server` or `client`, as in the `type` query parameter and the stored secret.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
        }
    }

    /// Parses the `type` query parameter (`server`, `client`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "server" => Some(Self::Server),
            "client" => Some(Self::Client),
            _ => None,
        }
    }
}

/// A stored environment secret, as in FeatBit's `environments.secrets` JSON array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvSecret {
    /// Secret id.
    pub id: Uuid,
    /// Display name, e.g. `Server Key`.
    pub name: String,
    /// `server` or `client`.
    #[serde(rename = "type")]
    pub kind: SecretType,
    /// The 44-character secret.
    pub value: String,
}

impl EnvSecret {
    /// A new random secret of this type for the environment.
    pub fn generate(env_id: Uuid, kind: SecretType) -> Self {
        let name = match kind {
            SecretType::Server => "Server Key",
            SecretType::Client => "Client Key",
        };
        Self { id: Uuid::new_v4(), name: name.into(), kind, value: generate(env_id) }
    }
}

/// A new FeatBit-format secret for the environment: `enc(random GUID) ‖ enc(env_id)`.
pub fn generate(env_id: Uuid) -> String {
    let mut s = encode_guid(Uuid::new_v4());
    s.push_str(&encode_guid(env_id));
    s
}

/// The environment id a secret encodes (structural check only, as FeatBit's `Secret.TryParse`).
pub fn env_id(secret: &str) -> Result<Uuid, SecretError> {
    if secret.len() != SECRET_LEN || !secret.is_ascii() || secret.trim().is_empty() {
        return Err(SecretError::Length(secret.chars().count()));
    }
    let bytes = B64.decode(&secret[HALF..]).map_err(|_| SecretError::NoEnvironment)?;
    let bytes: [u8; 16] = bytes.try_into().map_err(|_| SecretError::NoEnvironment)?;
    let id = Uuid::from_bytes_le(bytes);
    if id.is_nil() { Err(SecretError::NoEnvironment) } else { Ok(id) }
}

fn encode_guid(id: Uuid) -> String {
    B64.encode(id.to_bytes_le())
}

/// A parsed SDK connection token: the secret and the client's clock when it built the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionToken {
    /// The environment secret hidden in the token.
    pub secret: String,
    /// Unix milliseconds at which the SDK built the token.
    pub timestamp: i64,
}

impl ConnectionToken {
    /// Parses a token exactly as FeatBit's `Token` class does (§1.3).
    pub fn parse(token: &str) -> Result<Self, SecretError> {
        let t = token.as_bytes();
        if t.len() < 5 || !token.is_ascii() {
            return Err(SecretError::Token);
        }
        let position = decode_byte(&t[0..3])?;
        let length = decode_byte(&t[3..5])?;
        let payload = &token[5..];
        if payload.len() < position + length {
            return Err(SecretError::Token);
        }
        let timestamp = decode_number(&t[5 + position..5 + position + length]).ok_or(SecretError::Token)?;
        let timestamp = i64::try_from(timestamp).map_err(|_| SecretError::Token)?;
        let mut secret = String::with_capacity(SECRET_LEN);
        secret.push_str(&payload[..position]);
        secret.push_str(&payload[position + length..]);
        while !secret.len().is_multiple_of(4) {
            secret.push('=');
        }
        if secret.len() != SECRET_LEN || secret.trim().is_empty() {
            return Err(SecretError::Token);
        }
        Ok(Self { secret, timestamp })
    }

    /// Builds a token the way every FeatBit SDK does, splitting the secret at `start` (clamped to `2..len`).
    pub fn build(secret: &str, timestamp_ms: i64, start: usize) -> String {
        let text = secret.trim_end_matches('=');
        let start = start.clamp(2, text.len().saturating_sub(1).max(2)).min(text.len());
        let digits = timestamp_ms.unsigned_abs().to_string();
        let ts = encode_number(timestamp_ms.unsigned_abs(), digits.len());
        let mut out = encode_number(start as u64, 3);
        out.push_str(&encode_number(ts.len() as u64, 2));
        out.push_str(&text[..start]);
        out.push_str(&ts);
        out.push_str(&text[start..]);
        out
    }
}

/// `encodeNumber(n, len)`: decimal, zero-padded, last `len` digits, mapped through the alphabet.
fn encode_number(n: u64, len: usize) -> String {
    let digits = format!("{n:0len$}");
    digits[digits.len() - len..].bytes().map(|d| ALPHABET[usize::from(d - b'0')] as char).collect()
}

/// Decodes letters back to a number; blank is 0, anything outside the alphabet (or overflow) fails.
fn decode_number(s: &[u8]) -> Option<u64> {
    if s.iter().all(u8::is_ascii_whitespace) {
        return Some(0);
    }
    s.iter().try_fold(0u64, |acc, c| {
        let digit = ALPHABET.iter().position(|a| a == c)? as u64;
        acc.checked_mul(10)?.checked_add(digit)
    })
}

fn decode_byte(s: &[u8]) -> Result<usize, SecretError> {
    match decode_number(s) {
        Some(n) if n <= 255 => Ok(n as usize),
        _ => Err(SecretError::Token),
    }
}

#[cfg(test)]
mod tests;
