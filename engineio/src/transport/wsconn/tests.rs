use std::future::poll_fn;

use bytes::BufMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;
use crate::str::Str;

fn v4(base64: bool) -> crate::eio3::Wire {
    crate::eio3::Wire {
        protocol: crate::eio3::Protocol::V4,
        base64,
    }
}

fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mask = [9u8, 8, 7, 6];
    let mut out = vec![first, 0x80 | payload.len() as u8];
    out.extend(mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

fn pair(max: usize) -> (WsConn<DuplexStream>, DuplexStream) {
    let (a, b) = tokio::io::duplex(1 << 20);
    (WsConn::new(a, max, 4096), b)
}

async fn next(ws: &mut WsConn<DuplexStream>) -> WsEvent {
    poll_fn(|cx| ws.poll_next(cx)).await
}

async fn flush(ws: &mut WsConn<DuplexStream>) {
    poll_fn(|cx| ws.poll_flush(cx)).await.unwrap();
}

async fn read_some(peer: &mut DuplexStream) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let n = peer.read(&mut buf).await.unwrap();
    buf.truncate(n);
    buf
}

#[tokio::test]
async fn reads_messages_and_keeps_no_buffer_between_them() {
    let (mut ws, mut peer) = pair(1000);
    let mut bytes = masked(0x81, b"4hi");
    bytes.extend(masked(0x82, &[1, 2]));
    // Half of the next frame: kept until the rest comes.
    let third = masked(0x81, b"4x");
    bytes.extend(&third[..3]);
    peer.write_all(&bytes).await.unwrap();
    assert!(matches!(next(&mut ws).await, WsEvent::Text(s) if s.as_str() == "4hi"));
    assert!(matches!(next(&mut ws).await, WsEvent::Binary(b) if b[..] == [1, 2]));
    let pending = poll_fn(|cx| Poll::Ready(ws.poll_next(cx))).await;
    assert!(pending.is_pending());
    assert_eq!(ws.bufs().lens().0, 3);
    peer.write_all(&third[3..]).await.unwrap();
    assert!(matches!(next(&mut ws).await, WsEvent::Text(s) if s.as_str() == "4x"));
    let pending = poll_fn(|cx| Poll::Ready(ws.poll_next(cx))).await;
    assert!(pending.is_pending());
    assert_eq!(
        ws.bufs().capacities().0,
        0,
        "an idle connection holds no read buffer"
    );
}

#[tokio::test]
async fn queued_frames_go_out_together_and_the_buffer_is_released() {
    let (mut ws, mut peer) = pair(1000);
    ws.start_send(
        &Packet::Message(Str::from("a".to_string())),
        v4(false),
        true,
    );
    ws.start_send(
        &Packet::Binary(Bytes::from_static(&[1, 2])),
        v4(false),
        true,
    );
    ws.start_send(&Packet::Binary(Bytes::from_static(&[1, 2])), v4(true), true);
    assert!(ws.bufs().lens().1 > 0);
    flush(&mut ws).await;
    assert_eq!(
        ws.bufs().capacities().1,
        0,
        "a flushed connection holds no write buffer"
    );
    let got = read_some(&mut peer).await;
    let mut want = vec![0x81, 2, b'4', b'a', 0x82, 2, 1, 2, 0x81, 5];
    want.extend(b"bAQI=");
    assert_eq!(got, want);
}

#[tokio::test]
async fn answers_pings_and_echoes_a_close() {
    let (mut ws, mut peer) = pair(1000);
    let mut bytes = masked(0x89, b"yo");
    bytes.extend(masked(0x8A, b""));
    bytes.extend(masked(0x88, &[0x03, 0xE9]));
    peer.write_all(&bytes).await.unwrap();
    assert!(matches!(next(&mut ws).await, WsEvent::Skip));
    assert!(matches!(next(&mut ws).await, WsEvent::Skip));
    assert!(matches!(
        next(&mut ws).await,
        WsEvent::Closed { error: false }
    ));
    // Nothing is sent after the close frame.
    ws.start_send(&Packet::Noop, v4(false), true);
    flush(&mut ws).await;
    assert_eq!(
        read_some(&mut peer).await,
        vec![0x8A, 2, b'y', b'o', 0x88, 2, 0x03, 0xE9]
    );
    assert!(matches!(
        next(&mut ws).await,
        WsEvent::Closed { error: false }
    ));
}

#[tokio::test]
async fn protocol_errors_close_with_their_code() {
    for (bytes, code) in [
        (vec![0x81u8, 0x01, b'4'], 1002u16),
        (masked(0x82, &[0; 100]), 1009),
        (masked(0x81, &[0xFF]), 1007),
    ] {
        let (mut ws, mut peer) = pair(50);
        peer.write_all(&bytes).await.unwrap();
        assert!(matches!(
            next(&mut ws).await,
            WsEvent::Closed { error: true }
        ));
        flush(&mut ws).await;
        let mut want = vec![0x88, 2];
        want.put_u16(code);
        assert_eq!(read_some(&mut peer).await, want);
    }
}

#[tokio::test]
async fn end_of_stream_is_a_close_and_mid_frame_an_error() {
    let (mut ws, peer) = pair(1000);
    drop(peer);
    assert!(matches!(
        next(&mut ws).await,
        WsEvent::Closed { error: false }
    ));
    let (mut ws, mut peer) = pair(1000);
    peer.write_all(&masked(0x81, b"4abc")[..4]).await.unwrap();
    drop(peer);
    assert!(matches!(
        next(&mut ws).await,
        WsEvent::Closed { error: true }
    ));
}

#[tokio::test]
async fn large_frames_arrive_across_reads() {
    let (mut ws, mut peer) = pair(1 << 20);
    let data = vec![5u8; 300_000];
    let mut frame = vec![0x82, 0x80 | 127];
    frame.extend((data.len() as u64).to_be_bytes());
    frame.extend([0, 0, 0, 0]);
    frame.extend(&data);
    let writer = tokio::spawn(async move {
        for chunk in frame.chunks(7000) {
            peer.write_all(chunk).await.unwrap();
        }
        peer
    });
    assert!(matches!(next(&mut ws).await, WsEvent::Binary(b) if b[..] == data[..]));
    let _peer = writer.await.unwrap();
}

#[tokio::test]
async fn close_sends_an_empty_close_frame_once() {
    let (mut ws, mut peer) = pair(1000);
    ws.close().await;
    ws.close().await;
    let mut all = Vec::new();
    peer.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, vec![0x88, 0]);
}

/// A stream whose first flush is pending, like TLS holding records.
struct SlowFlush {
    written: Vec<u8>,
    flushes: usize,
}

impl AsyncRead for SlowFlush {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Pending
    }
}

impl AsyncWrite for SlowFlush {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.flushes += 1;
        if self.flushes == 1 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_pending_stream_flush_is_retried_with_nothing_new_queued() {
    let mut ws = WsConn::new(
        SlowFlush {
            written: Vec::new(),
            flushes: 0,
        },
        100,
        4096,
    );
    ws.start_send(&Packet::Noop, v4(false), true);
    let first = poll_fn(|cx| Poll::Ready(ws.poll_flush(cx))).await;
    assert!(first.is_pending());
    assert_eq!(ws.io.written, vec![0x81, 1, b'6']);
    poll_fn(|cx| ws.poll_flush(cx)).await.unwrap();
    assert_eq!(ws.io.flushes, 2);
    // Flushed: nothing more to do.
    poll_fn(|cx| ws.poll_flush(cx)).await.unwrap();
    assert_eq!(ws.io.flushes, 2);
}

#[tokio::test]
async fn bytes_read_before_the_handoff_come_first() {
    // hyper may have read the client's first frames, and part of the next,
    // along with the upgrade request; they precede the stream's bytes.
    let (mut ws, mut peer) = pair(1000);
    let mut early = masked(0x81, b"4one");
    let second = masked(0x81, b"4two");
    early.extend(&second[..2]);
    ws.unread(&early);
    peer.write_all(&second[2..]).await.unwrap();
    assert!(matches!(next(&mut ws).await, WsEvent::Text(s) if s.as_str() == "4one"));
    assert!(matches!(next(&mut ws).await, WsEvent::Text(s) if s.as_str() == "4two"));
}
