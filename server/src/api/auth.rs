//! Who is calling: API keys (`X-API-Key`, or `Authorization: Bearer` on
//! the webhook routes) compared in constant time, the failed-attempt and
//! per-key rate limits, the request signature (see [`crate::signing`]),
//! and `/metrics`'s key when `api.metrics_require_key`.
//!
//! Decides only whether a request is let through; routing and the
//! handlers are elsewhere in [`super`].

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::header;
use http::{HeaderMap, Request, StatusCode};
use hyper::body::Incoming;
use sha2::{Digest, Sha256};

use super::ApiError;
use crate::config::RequireSignature;
use crate::rate_limit::limit_key;
use crate::signing::{self, SignedHeaders, SigningPolicy};
use crate::state::{lock, Live, State};

/// A short, non-secret identifier of an API key.
pub(super) fn key_id(key: &str) -> String {
    let d = Sha256::digest(key.as_bytes());
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `/metrics` needs a key when `api.metrics_require_key` is on.
pub(super) fn metrics_access(
    st: &State,
    live: &Live,
    ip: IpAddr,
    req: &Request<Incoming>,
) -> Result<(), ApiError> {
    if live.config.api.metrics_require_key {
        authenticate(st, live, ip, req.headers(), false)?;
    }
    Ok(())
}

/// Compares `given` with `key` in time independent of where they differ.
fn key_matches(given: &[u8], key: &[u8]) -> bool {
    // Equal-length digests, compared with HMAC's constant-time check.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(b"api-key-compare") else {
        return false;
    };
    mac.update(key);
    let expected = mac.finalize().into_bytes();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(b"api-key-compare") else {
        return false;
    };
    mac.update(given);
    mac.verify_slice(&expected).is_ok()
}

/// The key a request carries in `X-API-Key` (or, when `bearer`, in
/// `Authorization: Bearer`), if valid: `(key, is_admin)`. Limits failed
/// attempts per client address.
pub(super) fn authenticate(
    st: &State,
    live: &Live,
    ip: IpAddr,
    h: &HeaderMap,
    bearer: bool,
) -> Result<(String, bool), ApiError> {
    let given = h
        .get("x-api-key")
        .map(|v| v.as_bytes().to_vec())
        .or_else(|| {
            let v = h.get(header::AUTHORIZATION).filter(|_| bearer)?.as_bytes();
            let scheme = v.get(..7)?;
            scheme
                .eq_ignore_ascii_case(b"bearer ")
                .then(|| v[7..].trim_ascii().to_vec())
        });
    let api = &live.config.api;
    let found = given.as_ref().and_then(|g| {
        let admin = api.admin_keys.iter().find(|k| key_matches(g, k.as_bytes()));
        let user = api.keys.iter().find(|k| key_matches(g, k.as_bytes()));
        admin
            .map(|k| (k.clone(), true))
            .or(user.map(|k| (k.clone(), false)))
    });
    if let Some(limit) = live.per_minute(live.config.rate_limits.api_requests_per_minute) {
        let now = st.clock.now();
        let r = match &found {
            Some((k, _)) => lock(&st.api_limiter).check(&key_id(k), limit, now),
            None => lock(&st.api_ip_limiter).check(&limit_key(ip), limit, now),
        };
        if let Err(retry) = r {
            st.metrics.rate_limited_total.inc(&["api"]);
            return Err(ApiError::limited(retry));
        }
    }
    match (given, found) {
        (None, _) => {
            st.metrics.auth_failures_total.inc(&["API_KEY_MISSING"]);
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                if bearer {
                    "Missing API key (X-API-Key or Authorization: Bearer)"
                } else {
                    "Missing API key (X-API-Key)"
                },
            ))
        }
        (Some(_), None) if api.keys.is_empty() && api.admin_keys.is_empty() => {
            st.metrics.auth_failures_total.inc(&["INVALID_API_KEY"]);
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_API_KEY",
                "Invalid API key: the server has no API key configured (set api.keys)",
            ))
        }
        (Some(_), None) => {
            st.metrics.auth_failures_total.inc(&["INVALID_API_KEY"]);
            tracing::info!(address = %ip, "API request with an invalid key");
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_API_KEY",
                "Invalid API key",
            ))
        }
        (Some(_), Some(f)) => Ok(f),
    }
}

/// Checks the request's signature when one is sent or `api.require_signature`
/// is on (unless `unsigned_ok`); nonces are remembered per key.
pub(super) fn check_signature(
    st: &State,
    live: &Live,
    ip: IpAddr,
    h: &HeaderMap,
    req: &signing::RequestParts,
    key: &str,
    unsigned_ok: bool,
) -> Result<(), ApiError> {
    let signed = SignedHeaders {
        timestamp: h.get("x-request-timestamp").and_then(|v| v.to_str().ok()),
        nonce: h.get("x-request-nonce").and_then(|v| v.to_str().ok()),
        version: h.get("x-signature-version").and_then(|v| v.to_str().ok()),
        signature: h.get("x-signature").and_then(|v| v.to_str().ok()),
    };
    let require = live.config.api.require_signature;
    if (unsigned_ok || !require.required()) && signed.signature.is_none() {
        return Ok(());
    }
    let min = if require == RequireSignature::V2 && !unsigned_ok {
        signing::Version::V2
    } else {
        signing::Version::V1
    };
    let policy = SigningPolicy {
        window_ms: live.config.api.signature_window_secs.saturating_mul(1000),
        ..SigningPolicy::default()
    };
    let r = {
        let mut caches = lock(&st.nonces);
        let cache = caches
            .entry(key_id(key))
            .or_insert_with(|| signing::NonceCache::new(live.config.api.nonce_cache_size));
        signing::verify_request(key.as_bytes(), req, &signed, &policy, min, now_ms(), cache)
    };
    r.map(|_| ()).map_err(|e| {
        st.metrics.auth_failures_total.inc(&[e.code()]);
        tracing::info!(address = %ip, reason = e.code(), "API request signature refused");
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            format!("Request signature refused: {e} ({})", e.code()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_comparison() {
        assert!(key_matches(b"abc", b"abc"));
        assert!(!key_matches(b"abc", b"abd"));
        assert!(!key_matches(b"", b"abc"));
        assert_eq!(key_id("k").len(), 16);
    }
}
