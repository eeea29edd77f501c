//! `conformance ws-echo`: the raw WebSocket echo server on the engine's
//! framing, driven by hand-made client frames over TCP (the Autobahn run,
//! scripts/autobahn.sh, covers the rest of RFC 6455).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "common/rawws.rs"]
mod rawws;

use rawws::{connect_with, frame, read_frame, read_head};

async fn server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(conformance::serve_ws_echo(
        listener,
        conformance::ws_echo_config(),
    ));
    addr
}

async fn connect(addr: std::net::SocketAddr, path: &str) -> TcpStream {
    connect_with(addr, path, "").await.0
}

async fn read_to_end(s: &mut TcpStream) {
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest))
        .await
        .expect("the server ends the connection")
        .unwrap();
    assert!(rest.is_empty(), "nothing after the close frame: {rest:?}");
}

#[tokio::test]
async fn echoes_text_as_text_and_binary_as_binary_on_any_path() {
    let addr = server().await;
    let mut s = connect(addr, "/any/path?x=1").await;
    let big = vec![0xA5u8; 70_000];
    let mut out = frame(0x81, "héllo".as_bytes());
    out.extend(frame(0x82, &[0, 1, 2]));
    // Fragmented, a ping between the fragments.
    out.extend(frame(0x01, b"frag"));
    out.extend(frame(0x89, b"ping!"));
    out.extend(frame(0x80, b"mented"));
    out.extend(frame(0x82, &big));
    s.write_all(&out).await.unwrap();
    assert_eq!(
        read_frame(&mut s).await,
        (0x81, "héllo".as_bytes().to_vec())
    );
    assert_eq!(read_frame(&mut s).await, (0x82, vec![0, 1, 2]));
    assert_eq!(read_frame(&mut s).await, (0x8A, b"ping!".to_vec()));
    assert_eq!(read_frame(&mut s).await, (0x81, b"fragmented".to_vec()));
    assert_eq!(read_frame(&mut s).await, (0x82, big));
    // The close code is echoed, then the server ends the connection.
    s.write_all(&frame(0x88, &[0x0B, 0xB8, b'b', b'y', b'e']))
        .await
        .unwrap();
    assert_eq!(read_frame(&mut s).await, (0x88, vec![0x0B, 0xB8]));
    read_to_end(&mut s).await;
}

#[tokio::test]
async fn refuses_protocol_errors_with_their_close_code() {
    let addr = server().await;
    let cases: [(&str, Vec<u8>, u16); 4] = [
        ("invalid close code", frame(0x88, &[0x03, 0xED]), 1002),
        ("reserved bit", frame(0xC1, b"x"), 1002),
        ("unmasked", vec![0x81, 0x01, b'x'], 1002),
        ("invalid utf-8", frame(0x81, &[b'a', 0xFF]), 1007),
    ];
    for (name, bytes, code) in cases {
        let mut s = connect(addr, "/").await;
        s.write_all(&bytes).await.unwrap();
        let got = read_frame(&mut s).await;
        assert_eq!(got, (0x88, code.to_be_bytes().to_vec()), "{name}");
        read_to_end(&mut s).await;
    }
}

#[tokio::test]
async fn a_plain_request_gets_400() {
    let addr = server().await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
}

/// Sends an upgrade request with the given key and version; returns the
/// response head.
async fn handshake(addr: std::net::SocketAddr, key: &str, version: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /any HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    read_head(&mut s).await
}

#[tokio::test]
async fn a_bad_key_gets_400_and_another_version_426() {
    let addr = server().await;
    // Not the base64 of 16 bytes (RFC 6455 section 4.1, item 7).
    let head = handshake(addr, "c2hvcnQ=", "13").await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // Section 4.4: 426 with the version the server speaks.
    let head = handshake(addr, "dGhlIHNhbXBsZSBub25jZQ==", "8").await;
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{head}"
    );
}
