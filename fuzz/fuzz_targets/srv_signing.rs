//! HTTP API request signing on arbitrary header values: never panics; a
//! request signed with the key verifies once and is a replay the second time.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use socketio_server::signing::{self, NonceCache, SignatureError, SignedHeaders, SigningPolicy};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: &'a str,
    path: &'a str,
    timestamp: Option<&'a str>,
    nonce: Option<&'a str>,
    version: Option<&'a str>,
    signature: Option<&'a str>,
    now_ms: u64,
    sign_it: bool,
}

fuzz_target!(|i: Input| {
    let key = b"fuzz-api-key-0123456789";
    let policy = SigningPolicy::default();
    let mut cache = NonceCache::new(8);
    let sig;
    let signature = if i.sign_it {
        sig = signing::signature(
            key,
            i.method,
            i.path,
            i.timestamp.unwrap_or(""),
            i.nonce.unwrap_or(""),
        );
        Some(sig.as_str())
    } else {
        i.signature
    };
    let h = SignedHeaders {
        timestamp: i.timestamp,
        nonce: i.nonce,
        version: i.version,
        signature,
    };
    let first = signing::verify(key, i.method, i.path, &h, &policy, i.now_ms, &mut cache);
    assert!(cache.len() <= 8);
    if first.is_ok() {
        let again = signing::verify(key, i.method, i.path, &h, &policy, i.now_ms, &mut cache);
        assert_eq!(again, Err(SignatureError::Replayed));
    }
});
