//! Minting tokens: [`sign`] (HMAC) and [`sign_with`] (any signer), for
//! tests and tooling; the server itself only verifies.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use super::Algorithm;

/// Signs `claims` (serialized as compact JSON) under `secret` with header
/// `{"alg":…,"typ":"JWT"}` and returns the compact token. HMAC only: for a
/// public-key `alg` the signature is empty (see [`sign_with`]).
pub fn sign(claims: &Value, secret: &[u8], alg: Algorithm) -> String {
    let header = serde_json::json!({ "alg": alg.as_str(), "typ": "JWT" });
    sign_with(&header, claims, |input| alg.mac(secret, input))
}

/// A compact token of `header` and `claims` whose signature is `signer`'s
/// answer for the signing input (`header.payload`, base64url); for keys
/// held elsewhere (tests sign RS/ES/EdDSA tokens this way).
pub fn sign_with(header: &Value, claims: &Value, signer: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let tag = signer(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(tag));
    token
}
