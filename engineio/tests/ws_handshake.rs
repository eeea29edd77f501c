//! Issue #23, item 5: a WebSocket opening handshake that RFC 6455 does not
//! allow gets an error answer, never 101: a `Sec-WebSocket-Key` that is not
//! the base64 of 16 bytes or an `Upgrade` other than `websocket` (400), an
//! unsupported `Sec-WebSocket-Version` (426 with `Sec-WebSocket-Version:
//! 13`, section 4.4). Both for a new session and for the upgrade of a
//! polling session, which is left untouched.
mod common;
use common::*;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Sends a handshake with exactly these headers (one of the defaults
/// replaced or, with an empty value, left out) and reads the answer's head
/// and body.
async fn handshake(addr: SocketAddr, target: &str, replace: (&str, &str)) -> Resp {
    let mut headers = vec![
        ("Host", "x"),
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
    ];
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(replace.0));
    if !replace.1.is_empty() {
        headers.push(replace);
    }
    let mut req = format!("GET {target} HTTP/1.1\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    // The head, then as much body as it declares (a 101 declares none).
    let read = async {
        loop {
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&buf));
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let r = parse_response(&buf);
                let declared = r.header("content-length").map_or(0, |v| v.parse().unwrap());
                if buf.len() >= end + 4 + declared {
                    return r;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("an answer")
}

fn assert_refused(r: &Resp, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert_eq!(r.json()["code"], 3, "{what}: {}", r.text());
    assert!(r.header("sec-websocket-accept").is_none(), "{what}");
}

/// Every refused variant against `target`, after checking that the valid
/// handshake and a differently cased `Upgrade` would be accepted.
async fn refuses_bad_handshakes(addr: SocketAddr, target: &str) {
    for (replace, status) in [
        (("Sec-WebSocket-Key", "abc"), 400),
        // The base64 of 15 and of 17 bytes, and no key at all.
        (("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"), 400),
        (("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA="), 400),
        (("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA"), 400),
        (("Sec-WebSocket-Key", ""), 400),
        (("Upgrade", "h2c"), 400),
        (("Upgrade", "websocket2"), 400),
        (("Upgrade", ""), 400),
        (("Connection", "keep-alive"), 400),
        (("Sec-WebSocket-Version", "8"), 426),
        (("Sec-WebSocket-Version", "14"), 426),
        (("Sec-WebSocket-Version", ""), 400),
    ] {
        let r = handshake(addr, target, replace).await;
        assert_refused(&r, status, &format!("{replace:?}"));
        if status == 426 {
            assert_eq!(r.header("sec-websocket-version"), Some("13"));
        }
    }
}

#[tokio::test]
async fn fresh_websocket_handshakes_are_checked() {
    let srv = start(fast_config()).await;
    let target = eio(None, "websocket");
    let ok = handshake(srv.addr, &target, ("Upgrade", "WebSocket")).await;
    assert_eq!(ok.status, 101);
    assert_eq!(
        ok.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    refuses_bad_handshakes(srv.addr, &target).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let connects = srv
        .rec
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, e)| *e == Seen::Connect)
        .count();
    assert_eq!(connects, 1, "no session for a refused handshake");
}

#[tokio::test]
async fn upgrade_handshakes_are_checked_and_leave_the_session_alone() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let target = eio(Some(&sid), "websocket");
    refuses_bad_handshakes(srv.addr, &target).await;
    // The session still polls, and a good upgrade still succeeds.
    assert_polls(srv.addr, &sid).await;
    let mut ws = ws_connect(srv.addr, &target).await.unwrap();
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    ws_send(&mut ws, "5").await;
    ws_send(&mut ws, "4over ws").await;
    assert_eq!(ws_text(&mut ws).await, "4over ws");
    assert!(srv.rec.events(&sid).contains(&Seen::Upgrade));
}
