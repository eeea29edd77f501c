//! The gateway's JWT verifier on arbitrary tokens (the handshake's
//! `auth.token`, `token` query parameter or bearer header): never panics,
//! and a token it accepts carries a non-empty subject and verifies again
//! the same way. Every algorithm is accepted, with HS secrets and a key
//! set of an RSA, an EC and an Ed25519 key (so the header's `kid` and the
//! public-key paths are reached), issuer and audience checks on. The input
//! is also parsed as a JWKS document.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use socketio_server::jwk::{KeySet, MAX_KEYS};
use socketio_server::jwt::{Algorithm, JwtError, Verifier};

fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let n = "xcXF".repeat(86);
        let doc = format!(
            r#"{{"keys":[
            {{"kty":"OKP","crv":"Ed25519","kid":"d1","x":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}},
            {{"kty":"EC","crv":"P-256","kid":"e1","x":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE","y":"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI"}},
            {{"kty":"RSA","kid":"r1","n":"{n}","e":"AQAB"}}]}}"#
        );
        let set = KeySet::parse(doc.as_bytes()).expect("the fuzz key set parses");
        assert_eq!(set.len(), 3);
        set
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = KeySet::parse(data) {
        assert!(set.len() <= MAX_KEYS);
    }
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let all = Algorithm::NAMES.iter().filter_map(|n| Algorithm::parse(n));
    let v = Verifier {
        secrets: vec![
            b"fuzz-secret-0123456789".to_vec(),
            b"second-secret-0123456789".to_vec(),
        ],
        algorithms: all.collect(),
        require_exp: false,
        ..Verifier::default()
    };
    let mut checked = v.clone();
    checked.issuers = vec!["iss".into()];
    checked.audiences = vec!["aud".into()];
    for v in [&v, &checked] {
        let r = v.verify_with(token, 1_800_000_000, keys());
        if let Ok(c) = &r {
            assert!(!c.user_id.is_empty());
            let again = v.verify_with(token, 1_800_000_000, keys());
            assert_eq!(again.ok().as_ref(), Some(c));
        }
        if let Err(e) = &r {
            assert!(!e.code().is_empty());
            let _ = e.to_string();
        }
    }
    // Whatever JSON object the input is, a token signed over it verifies
    // or is refused for its claims, never for its signature.
    if let Ok(claims @ serde_json::Value::Object(_)) =
        serde_json::from_slice::<serde_json::Value>(data)
    {
        let t = socketio_server::jwt::sign(&claims, b"fuzz-secret-0123456789", Algorithm::Hs256);
        if let Err(e) = v.verify(&t, 1_800_000_000) {
            assert_ne!(e, JwtError::BadSignature);
        }
    }
});
