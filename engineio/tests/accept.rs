//! `Engine::serve`'s own answer to a connection's first request when it
//! opens a WebSocket session (no hyper), and the hand-over to hyper of
//! everything else with the bytes already read: a head in pieces, frames
//! sent behind the head, a head too long for the first buffer, a polling
//! handshake kept alive for a second request, hook refusals and waits,
//! sessions at capacity and a head that never completes.
mod common;
use common::*;
#[cfg(target_os = "linux")]
#[path = "support/tcp_info.rs"]
mod tcp_info;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use engineio::{Engine, Refusal};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn ws_head(extra: &str) -> String {
    format!(
        "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\
         Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: {KEY}\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A masked client text frame.
fn frame(text: &str) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    assert!(text.len() < 126);
    let mut f = vec![0x81, 0x80 | text.len() as u8];
    f.extend_from_slice(&mask);
    f.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// Reads the answer's head (and the body it declares); what came behind
/// it stays in `rest`.
async fn read_head(s: &mut TcpStream, rest: &mut Vec<u8>) -> Resp {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
            let r = parse_response(rest);
            let declared: usize = r.header("content-length").map_or(0, |v| v.parse().unwrap());
            if rest.len() >= end + 4 + declared {
                rest.drain(..end + 4 + declared);
                return r;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(rest));
        rest.extend_from_slice(&chunk[..n]);
    }
}

/// The next server text frame.
async fn read_text(s: &mut TcpStream, rest: &mut Vec<u8>) -> String {
    let mut chunk = [0u8; 4096];
    loop {
        if rest.len() >= 2 {
            assert_eq!(rest[0], 0x81, "a final text frame");
            let len = rest[1] as usize;
            assert!(len < 126);
            if rest.len() >= 2 + len {
                let text = String::from_utf8(rest[2..2 + len].to_vec()).unwrap();
                rest.drain(..2 + len);
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .expect("a frame")
            .unwrap();
        assert!(n > 0, "closed early");
        rest.extend_from_slice(&chunk[..n]);
    }
}

/// Opens a session with `head` (written in `pieces` parts, 30 ms apart)
/// followed by `behind`; checks the 101 and the open packet, returns the
/// stream, what was read past them and the session id.
async fn open(
    addr: SocketAddr,
    head: &str,
    pieces: usize,
    behind: &[u8],
) -> (TcpStream, Vec<u8>, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend_from_slice(behind);
    let step = bytes.len().div_ceil(pieces);
    for part in bytes.chunks(step) {
        s.write_all(part).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let mut rest = Vec::new();
    let r = read_head(&mut s, &mut rest).await;
    assert_eq!(r.status, 101, "{}", r.text());
    assert_eq!(
        r.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    let opened = read_text(&mut s, &mut rest).await;
    assert!(opened.starts_with("0{"), "{opened}");
    let sid = serde_json::from_str::<serde_json::Value>(&opened[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    (s, rest, sid)
}

/// The 101 waits for the open packet: both leave in one write, so the
/// client receives them in one TCP segment.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_101_and_the_open_packet_leave_in_one_write() {
    let srv = start(fast_config()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(ws_head("").as_bytes()).await.unwrap();
    let mut rest = Vec::new();
    assert_eq!(read_head(&mut s, &mut rest).await.status, 101);
    assert!(read_text(&mut s, &mut rest).await.starts_with("0{"));
    assert_eq!(
        tcp_info::data_segments_in(&s),
        1,
        "segments with data received"
    );
}

#[tokio::test]
async fn frames_sent_behind_the_handshake_are_read() {
    let srv = start(fast_config()).await;
    let mut behind = frame("4first");
    behind.extend(frame("4second"));
    let (mut s, mut rest, sid) = open(srv.addr, &ws_head(""), 1, &behind).await;
    assert_eq!(read_text(&mut s, &mut rest).await, "4first");
    assert_eq!(read_text(&mut s, &mut rest).await, "4second");
    s.write_all(&frame("4third")).await.unwrap();
    assert_eq!(read_text(&mut s, &mut rest).await, "4third");
    let seen = srv.rec.events(&sid);
    assert_eq!(seen[0], Seen::Connect);
    assert_eq!(seen[1], Seen::Text("first".into()));
}

#[tokio::test]
async fn a_head_in_pieces_and_a_head_too_long_for_the_first_buffer_open_sessions() {
    let srv = start(fast_config()).await;
    let (mut s, mut rest, _) = open(srv.addr, &ws_head(""), 5, &frame("4piece")).await;
    assert_eq!(read_text(&mut s, &mut rest).await, "4piece");
    // 6 KB of headers: longer than the accept path's buffer, so hyper's.
    let long = format!("X-Long: {}\r\n", "a".repeat(6000));
    let (mut s, mut rest, sid) = open(srv.addr, &ws_head(&long), 3, &frame("4long")).await;
    assert_eq!(read_text(&mut s, &mut rest).await, "4long");
    let handshake = srv.rec.socket(&sid).handshake().clone();
    assert_eq!(handshake.headers["x-long"].len(), 6000);
    // Lines ended by bare newlines (httparse takes them): answered, not
    // left waiting for a CRLF that never comes.
    let bare = ws_head("").replace("\r\n", "\n");
    let (mut s, mut rest, _) = open(srv.addr, &bare, 1, &frame("4bare")).await;
    assert_eq!(read_text(&mut s, &mut rest).await, "4bare");
    let mixed = ws_head("").replacen("\r\n", "\n", 2);
    let (mut s, mut rest, _) = open(srv.addr, &mixed, 1, &frame("4mixed")).await;
    assert_eq!(read_text(&mut s, &mut rest).await, "4mixed");
}

#[tokio::test]
async fn other_first_requests_are_served_by_hyper_with_the_bytes_read() {
    let srv = start(fast_config()).await;
    // A polling handshake, its first bytes alone, then a poll on the same
    // (kept-alive) connection.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let req = format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", eio(None, "polling"));
    s.write_all(&req.as_bytes()[..2]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    s.write_all(&req.as_bytes()[2..]).await.unwrap();
    let mut rest = Vec::new();
    let r = read_head(&mut s, &mut rest).await;
    assert_eq!(r.status, 200);
    let body = r.text();
    assert!(body.starts_with("0{"), "{body}");
    let sid = serde_json::from_str::<serde_json::Value>(&body[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n4hello",
        eio(Some(&sid), "polling")
    );
    s.write_all(post.as_bytes()).await.unwrap();
    let r = read_head(&mut s, &mut rest).await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    // Off the engine path, an unknown sid, a bad handshake: hyper's
    // answers, as before.
    assert_eq!(get(srv.addr, "/elsewhere").await.status, 404);
    get(srv.addr, &eio(Some("nope"), "websocket"))
        .await
        .assert_error(400, 1);
    let r = request(
        srv.addr,
        "GET",
        &eio(None, "websocket"),
        &[("Upgrade", "websocket")],
        b"",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(srv.rec.events(&sid)[1], Seen::Text("hello".into()));
}

#[tokio::test]
async fn hooks_run_on_the_accept_path() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let rec = Recorder::default();
    let engine = Engine::builder(fast_config())
        .allow_request(move |info| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                // An async verdict: the handshake waits for it.
                tokio::time::sleep(Duration::from_millis(20)).await;
                match info.headers.get("x-token").map(|v| v.as_bytes()) {
                    Some(b"ok") if n < 10 => Ok(()),
                    _ => Err(Refusal::forbidden("no token")),
                }
            }
        })
        .build(rec.clone());
    let srv = start_engine(engine, rec).await;
    let (mut s, mut rest, _) = open(srv.addr, &ws_head("X-Token: ok\r\n"), 1, &frame("4in")).await;
    assert_eq!(read_text(&mut s, &mut rest).await, "4in");
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(ws_head("Origin: http://a.example\r\n").as_bytes())
        .await
        .unwrap();
    let r = read_response(&mut s).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["message"], "no token");
    assert_eq!(r.header("connection"), Some("close"));
    // Dated, as hyper's answers are (RFC 9110: every 4xx from a server
    // with a clock).
    assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(srv.engine.session_count(), 1);
}

#[tokio::test]
async fn sessions_at_capacity_are_refused_and_slow_heads_time_out() {
    let config = fast_config()
        .max_sessions(1)
        .header_read_timeout(Duration::from_millis(300));
    let srv = start(config).await;
    let (_s, _rest, _) = open(srv.addr, &ws_head(""), 1, b"").await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(ws_head("").as_bytes()).await.unwrap();
    let r = read_response(&mut s).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(srv.engine.session_count(), 1);
    // Half a head, then nothing: closed once the timeout passes.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(&ws_head("").as_bytes()[..40]).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("closed by the server")
        .unwrap_or(0);
    assert_eq!(n, 0, "nothing answered");
    assert!(started.elapsed() >= Duration::from_millis(200));
}
