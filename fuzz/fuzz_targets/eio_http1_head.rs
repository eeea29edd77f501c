//! HTTP/1.1 request heads as `engineio::http1` parses them (the smol
//! server's requests, and the first request of a connection the tokio
//! engine accepts). Never panics; the copying and the buffer-sharing
//! parsers agree on every input; a complete head parses the same from its
//! own bytes alone, and its length is within the input.
#![no_main]

use bytes::Bytes;
use engineio::http1::{parse_head, parse_head_shared, Head};
use libfuzzer_sys::fuzz_target;

fn same(a: &Head, b: &Head) -> bool {
    a.method == b.method
        && a.uri == b.uri
        && a.headers == b.headers
        && a.body_len == b.body_len
        && a.keep_alive == b.keep_alive
        && a.http11 == b.http11
}

fuzz_target!(|data: &[u8]| {
    let copied = parse_head(data);
    let shared = parse_head_shared(&Bytes::copy_from_slice(data));
    match (&copied, &shared) {
        (Ok(Some((a, n))), Ok(Some((b, m)))) => {
            assert!(same(a, b), "{a:?} != {b:?}");
            assert_eq!(n, m);
            assert!(*n <= data.len());
            let (alone, len) = parse_head(&data[..*n]).unwrap().unwrap();
            assert!(same(a, &alone));
            assert_eq!(len, *n);
        }
        (Ok(None), Ok(None)) => {}
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("copying {copied:?} and sharing {shared:?} disagree"),
    }
});
