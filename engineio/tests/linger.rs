//! Issue #23, item 1: an error answered before the request body was read
//! (a 413 on the declared length or mid-stream, an unknown sid) reaches a
//! client that is still sending: the server shuts down writing after the
//! answer and discards input for a bounded time and size (a lingering
//! close) instead of closing on unread input, which resets the connection
//! and can destroy the answer before the client reads it.
mod common;
use common::*;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use engineio::EngineConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A client that uploads its whole body before it reads the answer, like
/// a simple synchronous client: `head`, then `count` times `chunk`, one
/// every `pace`; then everything until EOF. A failed write (the server
/// reset the connection) or read is the error, as such a client reports
/// it: ECONNRESET instead of the answer.
async fn upload_then_read(
    addr: SocketAddr,
    head: String,
    chunk: &[u8],
    count: usize,
    pace: Duration,
) -> Result<Vec<u8>, String> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    for i in 0..count {
        s.write_all(chunk)
            .await
            .map_err(|e| format!("write {i} of {count} failed: {e}"))?;
        tokio::time::sleep(pace).await;
    }
    let mut buf = Vec::new();
    match tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await {
        Ok(Ok(_)) => Ok(buf),
        Ok(Err(e)) => Err(format!(
            "read failed after {:?}: {e}",
            String::from_utf8_lossy(&buf)
        )),
        Err(_) => Err(format!("no EOF after {:?}", String::from_utf8_lossy(&buf))),
    }
}

/// Sends `head`, then `chunk` every 2 ms for `send_for` while reading
/// concurrently. Returns everything read until EOF, and when the server
/// stopped taking the upload (if it did).
async fn endless_upload(
    addr: SocketAddr,
    head: String,
    chunk: Vec<u8>,
    send_for: Duration,
) -> (Vec<u8>, Option<Duration>) {
    let s = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    wr.write_all(head.as_bytes()).await.unwrap();
    let start = Instant::now();
    let writer = tokio::spawn(async move {
        while start.elapsed() < send_for {
            if wr.write_all(&chunk).await.is_err() {
                return Some(start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        None
    });
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), rd.read_to_end(&mut buf)).await;
    (buf, writer.await.unwrap())
}

fn config() -> EngineConfig {
    fast_config()
        .ping_interval(Duration::from_secs(30))
        .max_payload(1000)
}

fn post_head(sid: &str, framing: &str) -> String {
    format!(
        "POST {} HTTP/1.1\r\nHost: x\r\n{framing}\r\n\r\n",
        eio(Some(sid), "polling")
    )
}

#[tokio::test]
async fn a_declared_oversized_upload_reads_its_413() {
    let srv = start(config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let chunk = [b'a'; 8 * 1024];
    let head = post_head(&sid, &format!("Content-Length: {}", 25 * chunk.len()));
    let buf = upload_then_read(srv.addr, head, &chunk, 25, Duration::from_millis(4))
        .await
        .unwrap();
    let r = parse_response(&buf);
    assert_eq!(r.status, 413);
    assert!(
        r.body.is_empty(),
        "the reference's 413 has no body: {}",
        r.text()
    );
    assert_eq!(r.header("content-length"), Some("0"));
    assert_eq!(r.header("connection"), Some("close"));
}

#[tokio::test]
async fn a_chunked_upload_past_the_limit_reads_its_413() {
    let srv = start(config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let head = post_head(&sid, "Transfer-Encoding: chunked");
    let chunk = format!("2000\r\n{}\r\n", "a".repeat(0x2000)).into_bytes();
    let buf = upload_then_read(srv.addr, head, &chunk, 25, Duration::from_millis(4))
        .await
        .unwrap();
    let r = parse_response(&buf);
    assert_eq!(r.status, 413);
    assert!(r.body.is_empty(), "{}", r.text());
}

#[tokio::test]
async fn an_error_answered_on_the_headers_reaches_an_uploading_client() {
    let srv = start(config()).await;
    let chunk = [b'a'; 8 * 1024];
    let head = post_head(
        "AAAAAAAAAAAAAAAAAAAA",
        &format!("Content-Length: {}", 25 * chunk.len()),
    );
    let buf = upload_then_read(srv.addr, head, &chunk, 25, Duration::from_millis(4))
        .await
        .unwrap();
    let r = parse_response(&buf);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 1);
}

/// The linger is bounded: a client that never stops sending is cut off
/// after `linger_timeout`, or after `linger_bytes` if it sends fast.
#[tokio::test]
async fn lingering_is_bounded_by_its_knobs() {
    let cfg = config()
        .linger_timeout(Duration::from_millis(300))
        .linger_bytes(usize::MAX);
    let srv = start(cfg).await;
    let (sid, _) = open_polling(srv.addr).await;
    let (buf, stopped) = endless_upload(
        srv.addr,
        post_head(&sid, "Content-Length: 100000000"),
        vec![b'a'; 1024],
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(parse_response(&buf).status, 413);
    let stopped = stopped.expect("the server closed within the upload");
    assert!(stopped >= Duration::from_millis(300), "{stopped:?}");
    assert!(stopped < Duration::from_secs(3), "{stopped:?}");

    let cfg = config()
        .linger_timeout(Duration::from_secs(30))
        .linger_bytes(64 * 1024);
    let srv = start(cfg).await;
    let (sid, _) = open_polling(srv.addr).await;
    let (buf, stopped) = endless_upload(
        srv.addr,
        post_head(&sid, "Content-Length: 100000000"),
        vec![b'a'; 32 * 1024],
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(parse_response(&buf).status, 413);
    let stopped = stopped.expect("the server closed after linger_bytes");
    assert!(stopped < Duration::from_secs(3), "{stopped:?}");
}
