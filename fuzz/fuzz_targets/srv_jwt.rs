//! The gateway's JWT verifier on arbitrary tokens (the handshake's
//! `auth.token`, `token` query parameter or bearer header): never panics,
//! and a token it accepts carries a non-empty subject and verifies again
//! the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_server::jwt::{Algorithm, Verifier};

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let v = Verifier {
        secrets: vec![
            b"fuzz-secret-0123456789".to_vec(),
            b"second-secret-0123456789".to_vec(),
        ],
        algorithms: vec![Algorithm::Hs256, Algorithm::Hs384, Algorithm::Hs512],
        require_exp: false,
        ..Verifier::default()
    };
    let r = v.verify(token, 1_800_000_000);
    if let Ok(c) = &r {
        assert!(!c.user_id.is_empty());
        assert_eq!(v.verify(token, 1_800_000_000).ok().as_ref(), Some(c));
    }
    if let Err(e) = &r {
        assert!(!e.code().is_empty());
        let _ = e.to_string();
    }
    // Whatever JSON object the input is, a token signed over it verifies
    // or is refused for its claims, never for its signature.
    if let Ok(claims @ serde_json::Value::Object(_)) =
        serde_json::from_slice::<serde_json::Value>(data)
    {
        let t = socketio_server::jwt::sign(&claims, b"fuzz-secret-0123456789", Algorithm::Hs256);
        if let Err(e) = v.verify(&t, 1_800_000_000) {
            assert_ne!(e, socketio_server::jwt::JwtError::BadSignature);
        }
    }
});
