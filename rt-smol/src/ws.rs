//! One server WebSocket on an async-io TCP stream: the client's frames are
//! decoded by [`engineio::wsframe::WsDecoder`] into Engine.IO packets, the
//! session's packets written as unmasked server frames; pings are answered
//! and a close frame echoed here.
//!
//! Owns the connection's read and write buffers, both released when empty
//! (an idle WebSocket holds no buffer). It must not touch sessions or
//! sockets: the driver decides what to send and when to close.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use async_io::Async;
use bytes::{Buf, BytesMut};
use engineio::wsframe::{encode_close, encode_header, FrameKind, WsDecoder, WsMessage};
use engineio::{EngineConfig, Packet};
use futures_lite::{AsyncRead, AsyncWrite};
use std::net::TcpStream;

/// Unflushed bytes above which the driver queues no more packets.
const WRITE_HIGH: usize = 64 * 1024;

/// Unflushed bytes above which pings go unanswered (RFC 6455 5.5.3 lets a
/// server answer only the latest ping).
const PONG_LIMIT: usize = 4 * WRITE_HIGH;

/// Largest read while a frame is partly received.
const FRAME_READ: usize = 64 * 1024;

/// What one read gave, as the session takes it.
pub(crate) enum WsRead {
    /// An Engine.IO packet.
    Packet(Packet),
    /// A text frame that is no Engine.IO packet.
    ParseError,
    /// The client closed, went away or broke the framing (`error`).
    Closed { error: bool },
    /// A control frame, handled here.
    Skip,
}

/// A server WebSocket whose opening handshake is done.
pub(crate) struct Ws {
    io: Arc<Async<TcpStream>>,
    decoder: WsDecoder,
    rbuf: BytesMut,
    wbuf: BytesMut,
    read_chunk: usize,
    read_done: bool,
    close_queued: bool,
    /// The client asked for binary as base64 text (`b64=1`).
    pub(crate) base64: bool,
    /// The driver is closing it: flush, close frame, shut down, drop.
    pub(crate) closing: bool,
}

impl Ws {
    /// A WebSocket on `io`; `read` holds the bytes the client sent right
    /// behind its upgrade request, already read.
    pub(crate) fn new(io: Arc<Async<TcpStream>>, read: &[u8], config: &EngineConfig) -> Self {
        Ws {
            io,
            decoder: WsDecoder::new(config.max_payload),
            rbuf: BytesMut::from(read),
            wbuf: BytesMut::new(),
            read_chunk: config.ws_read_buffer.clamp(64, 16 * 1024),
            read_done: false,
            close_queued: false,
            base64: false,
            closing: false,
        }
    }

    /// The next packet, control frame or end of the connection.
    pub(crate) fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<WsRead> {
        if self.read_done {
            return Poll::Ready(WsRead::Closed { error: false });
        }
        loop {
            match self.decoder.decode(&mut self.rbuf) {
                Ok(Some(msg)) => {
                    self.release_rbuf();
                    return Poll::Ready(self.on_message(msg));
                }
                Ok(None) => {}
                Err(e) => {
                    self.end_reads();
                    self.queue_close(Some(e.close_code()));
                    return Poll::Ready(WsRead::Closed { error: true });
                }
            }
            let want = match self.rbuf.is_empty() {
                true => self.read_chunk,
                // Bounded, so a peer announcing a large frame and sending
                // slowly does not get the whole size reserved.
                false => self.decoder.missing(&self.rbuf).clamp(1, FRAME_READ),
            };
            let start = self.rbuf.len();
            self.rbuf.resize(start + want, 0);
            let read = Pin::new(&mut &*self.io).poll_read(cx, &mut self.rbuf[start..]);
            let n = match &read {
                Poll::Ready(Ok(n)) => *n,
                _ => 0,
            };
            self.rbuf.truncate(start + n);
            match read {
                Poll::Pending => {
                    self.release_rbuf();
                    return Poll::Pending;
                }
                Poll::Ready(Ok(0)) => {
                    // Gone without a close frame: an error if mid-frame.
                    let error = !self.rbuf.is_empty() || self.decoder.in_message();
                    self.end_reads();
                    return Poll::Ready(WsRead::Closed { error });
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(_)) => {
                    self.end_reads();
                    return Poll::Ready(WsRead::Closed { error: true });
                }
            }
        }
    }

    fn end_reads(&mut self) {
        self.read_done = true;
        self.rbuf = BytesMut::new();
    }

    fn release_rbuf(&mut self) {
        if self.rbuf.is_empty() && self.rbuf.capacity() > 0 {
            self.rbuf = BytesMut::new();
        }
    }

    fn on_message(&mut self, msg: WsMessage) -> WsRead {
        match msg {
            WsMessage::Text(t) => match Packet::decode_str(t) {
                Ok(p) => WsRead::Packet(p),
                Err(_) => WsRead::ParseError,
            },
            WsMessage::Binary(b) => WsRead::Packet(Packet::decode_binary(b)),
            WsMessage::Ping(data) => {
                if !self.close_queued && self.wbuf.len() <= PONG_LIMIT {
                    encode_header(&mut self.wbuf, FrameKind::Pong, data.len());
                    self.wbuf.extend_from_slice(&data);
                }
                WsRead::Skip
            }
            WsMessage::Close(code) => {
                // Echoed (RFC 6455 5.5.1); the driver flushes and drops it.
                self.read_done = true;
                self.queue_close(code);
                WsRead::Closed { error: false }
            }
            _ => WsRead::Skip,
        }
    }

    /// Whether another packet may be queued (little is unflushed).
    pub(crate) fn writable(&self) -> bool {
        self.wbuf.len() < WRITE_HIGH
    }

    /// Queues `packet` as one frame (binary as base64 text when asked).
    pub(crate) fn send(&mut self, packet: &Packet) {
        if self.close_queued {
            return;
        }
        match packet {
            Packet::Binary(b) if !self.base64 => {
                encode_header(&mut self.wbuf, FrameKind::Binary, b.len());
                self.wbuf.extend_from_slice(b);
            }
            other => {
                encode_header(&mut self.wbuf, FrameKind::Text, other.text_len());
                other.encode_text_into(&mut self.wbuf);
            }
        }
    }

    fn queue_close(&mut self, code: Option<u16>) {
        if !self.close_queued {
            self.close_queued = true;
            encode_close(&mut self.wbuf, code);
        }
    }

    /// Writes what is queued; `Ready(Ok)` once all of it is written.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.wbuf.is_empty() {
            let n = ready!(Pin::new(&mut &*self.io).poll_write(cx, &self.wbuf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.wbuf.advance(n);
        }
        self.wbuf = BytesMut::new();
        Poll::Ready(Ok(()))
    }

    /// Sends a close frame (once), flushes and shuts the stream down;
    /// `Ready` when done or failed.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.queue_close(None);
        if ready!(self.poll_flush(cx)).is_err() {
            return Poll::Ready(());
        }
        Pin::new(&mut &*self.io).poll_close(cx).map(|_| ())
    }
}
