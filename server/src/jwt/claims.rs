//! [`Claims`] and reading a token's segments and claims: unpadded
//! base64url, JSON objects, NumericDate claims, the subject.
//!
//! Pure decoding; the checks on what is decoded are [`super::Verifier`]'s.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::JwtError;

/// The claims of a verified token.
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    /// The subject: the `userId` claim if present, else `sub`; integer
    /// subjects are rendered in decimal.
    pub user_id: String,
    /// The `role` claim, if present.
    pub role: Option<String>,
    /// The `exp` claim in Unix seconds (fractions truncated), if present.
    pub exp: Option<u64>,
    /// The `iat` claim in Unix seconds (fractions truncated), if present.
    pub iat: Option<u64>,
    /// The whole payload object, including the claims above.
    pub raw: Map<String, Value>,
}

/// Decodes one unpadded base64url segment; padding, the standard alphabet's
/// `+` and `/`, and non-canonical trailing bits are all refused.
pub(super) fn decode_segment(segment: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Malformed)
}

pub(super) fn decode_object(segment: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = decode_segment(segment)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Malformed),
    }
}

/// Reads a NumericDate claim: a non-negative JSON number, fractions
/// truncated, saturating at `u64::MAX`.
pub(super) fn numeric_claim(map: &Map<String, Value>, name: &str) -> Result<Option<u64>, JwtError> {
    let Some(value) = map.get(name) else {
        return Ok(None);
    };
    let Value::Number(n) = value else {
        return Err(JwtError::Malformed);
    };
    if let Some(v) = n.as_u64() {
        return Ok(Some(v));
    }
    match n.as_f64() {
        // `as` saturates for large finite floats.
        Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f as u64)),
        _ => Err(JwtError::Malformed),
    }
}

/// The subject: `userId` if that key is present (no fallback even when it
/// is invalid), else `sub`.
pub(super) fn subject(map: &Map<String, Value>) -> Option<String> {
    let value = map.get("userId").or_else(|| map.get("sub"))?;
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        // Integers print in decimal; floats are refused.
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}
