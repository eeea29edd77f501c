//! permessage-deflate on the Engine.IO WebSocket of the sio-interop server
//! (which turns it on), on each runtime (the test's name ends with it),
//! seen on the wire by a hand-made client: the 101 answers the offer, a
//! large event sent compressed comes back compressed (RSV1), a small one
//! does not, nor a large one emitted or broadcast with `compress(false)`; a decompression bomb closes with 1009, bad deflate data with
//! 1007, RSV1 on a control frame or without the extension with 1002.

mod common;
#[path = "common/rawws.rs"]
mod rawws;

use std::net::SocketAddr;

use common::Server;
use conformance::smol::Mode;
use engineio::deflate::{negotiate, Negotiated};
use engineio::PerMessageDeflate;
use rawws::{connect_with, frame, read_frame};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const PATH: &str = "/socket.io/?EIO=4&transport=websocket";
const OFFER: &str = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

/// The client's side of the codec (no context, every message compressed).
fn client_codec() -> Negotiated {
    negotiate(
        ["permessage-deflate"],
        &PerMessageDeflate::default().threshold(0),
    )
    .unwrap()
}

/// The next data or close frame, answering Engine.IO pings meanwhile.
async fn next_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    loop {
        let (first, payload) = read_frame(s).await;
        if first == 0x81 && payload == b"2" {
            s.write_all(&frame(0x81, b"3")).await.unwrap();
            continue;
        }
        return (first, payload);
    }
}

/// A connected Socket.IO client on the main namespace; the 101's head.
async fn open(addr: SocketAddr, extra: &str) -> (TcpStream, String) {
    let (mut s, head) = connect_with(addr, PATH, extra).await;
    let (first, open) = next_frame(&mut s).await;
    assert_eq!(
        (first, open[0]),
        (0x81, b'0'),
        "the open packet, uncompressed"
    );
    s.write_all(&frame(0x81, b"40")).await.unwrap();
    loop {
        let (_, p) = next_frame(&mut s).await;
        if p.starts_with(b"40") {
            return (s, head.to_ascii_lowercase());
        }
    }
}

/// The close code the server ends with after `bytes`.
async fn closed_with(addr: SocketAddr, extra: &str, bytes: &[u8]) -> u16 {
    let (mut s, _) = open(addr, extra).await;
    s.write_all(bytes).await.unwrap();
    loop {
        let (first, p) = next_frame(&mut s).await;
        if first == 0x88 {
            return u16::from_be_bytes([p[0], p[1]]);
        }
    }
}

async fn compressed_echo(addr: SocketAddr) {
    let (mut s, head) = open(addr, OFFER).await;
    assert!(
        head.contains(
            "sec-websocket-extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ),
        "{head}"
    );
    let event = format!(
        r#"42["echo","{}"]"#,
        "sing a song of sixpence ".repeat(4000)
    );
    let codec = client_codec();
    let z = codec
        .deflater()
        .compress(&[event.as_bytes()], None)
        .unwrap();
    assert!(z.len() < event.len() / 20);
    s.write_all(&frame(0xC1, &z)).await.unwrap();
    // Skipping the server's welcome events (small: uncompressed).
    let (first, payload) = loop {
        let (first, p) = next_frame(&mut s).await;
        if first != 0x81 || p.starts_with(br#"42["echo""#) {
            break (first, p);
        }
    };
    assert_eq!(first, 0xC1, "a final text frame with RSV1");
    assert!(payload.len() < event.len() / 20, "{} bytes", payload.len());
    let echoed = codec.inflater().inflate(&payload, 1 << 20).unwrap();
    // The same event (recovery adds its offset as a last argument).
    let args = &event.as_bytes()[..event.len() - 1];
    assert!(echoed.starts_with(args), "echo of {} bytes", echoed.len());
    // Below the threshold (1024): uncompressed.
    s.write_all(&frame(0x81, br#"42["echo","hi"]"#))
        .await
        .unwrap();
    let (first, p) = next_frame(&mut s).await;
    assert!(p.starts_with(br#"42["echo","hi""#), "{p:?}");
    assert_eq!(first, 0x81, "uncompressed");
}

/// `compress(false)`: a large event to the socket's own room and one to
/// the whole namespace come uncompressed (RSV1 clear) though above the
/// threshold; the same broadcast without it comes compressed.
async fn compress_false_is_honoured(addr: SocketAddr) {
    let (mut s, _) = open(addr, OFFER).await;
    let big = "pease porridge hot ".repeat(500);
    let ask = format!(r#"42["uncompressed","{big}"]"#);
    s.write_all(&frame(0x81, ask.as_bytes())).await.unwrap();
    let codec = client_codec();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let (first, p) = next_frame(&mut s).await;
        let text = match first {
            0xC1 => codec.inflater().inflate(&p, 1 << 20).unwrap().to_vec(),
            _ => p,
        };
        for name in ["plain-own", "plain-all", "deflated-all"] {
            if text.starts_with(format!(r#"42["{name}","{big}""#).as_bytes()) {
                seen.push((name, first));
            }
        }
    }
    assert_eq!(
        seen,
        [
            ("plain-own", 0x81),
            ("plain-all", 0x81),
            ("deflated-all", 0xC1)
        ]
    );
}

async fn bad_input_closes(addr: SocketAddr) {
    // 3 MB of text inflated from a few KB: over max_payload (1 MB).
    let bomb = format!(r#"42["echo","{}"]"#, "a".repeat(3 << 20));
    let z = client_codec()
        .deflater()
        .compress(&[bomb.as_bytes()], None)
        .unwrap();
    assert!(z.len() < 64 << 10);
    assert_eq!(closed_with(addr, OFFER, &frame(0xC1, &z)).await, 1009);
    assert_eq!(
        closed_with(addr, OFFER, &frame(0xC1, &[0xff, 0])).await,
        1007
    );
    assert_eq!(closed_with(addr, OFFER, &frame(0xC9, b"")).await, 1002);
    // Without an offer: no extension, and RSV1 is a protocol error.
    let (_, head) = open(addr, "").await;
    assert!(!head.contains("sec-websocket-extensions"), "{head}");
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(closed_with(addr, "", &frame(0xC1, &hello)).await, 1002);
}

fn run(runtime: &str) {
    let server = Server::start(runtime, Mode::SioInterop);
    let addr = server.addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        tokio::time::timeout(std::time::Duration::from_secs(60), async {
            compressed_echo(addr).await;
            compress_false_is_honoured(addr).await;
            bad_input_closes(addr).await;
        })
        .await
        .expect("the exchange finishes");
    });
}

#[test]
fn deflate_on_the_wire_tokio() {
    run("tokio");
}

#[test]
fn deflate_on_the_wire_smol() {
    run("smol");
}
