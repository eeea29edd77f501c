//! One server-side WebSocket over an upgraded HTTP connection: reads the
//! client's frames through [`WsDecoder`], writes unmasked server frames,
//! answers pings and close frames. Owns the connection's buffers and
//! nothing else; the driver decides what to send and when to close.
//!
//! Idle connections hold no buffer: reads land in a stack buffer and only
//! a partly received frame is kept on the heap, and the write buffer is
//! released once flushed. Frames queued between two flushes go out in one
//! write, so a burst of messages (a run of broadcasts) costs one syscall.
//!
//! Also owns the stream under a WebSocket ([`WsIo`]) and [`wrap`], which
//! makes one of a completed HTTP upgrade. It must not touch sessions,
//! sockets or the registry: the driver and the HTTP glue sit above it.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::linger::Lingering;
use crate::config::EngineConfig;
use crate::packet::Packet;
use crate::str::Str;
use crate::wsframe::{encode_close, encode_header, FrameKind, WsDecoder, WsMessage};

/// Largest read into the stack buffer (the cap on `ws_read_buffer`).
pub(crate) const STACK_READ: usize = 16 * 1024;

/// Largest read into a partly received frame.
const FRAME_READ: usize = 64 * 1024;

/// Unflushed bytes above which no more messages are taken.
const WRITE_HIGH: usize = 64 * 1024;

/// Unflushed bytes above which pings go unanswered (RFC 6455 5.5.3 lets a
/// server answer only the latest ping).
const PONG_LIMIT: usize = 4 * WRITE_HIGH;

/// First allocation of the write buffer: room for a burst of small frames
/// queued in one wake (the buffer is freed once flushed), instead of
/// growing it frame by frame.
const WRITE_INIT: usize = 1024;

/// What one read from the WebSocket gave.
#[derive(Debug)]
pub(crate) enum WsEvent {
    /// A text message.
    Text(Str),
    /// A binary message.
    Binary(Bytes),
    /// A control frame, handled here.
    Skip,
    /// The client closed, the connection ended or broke the protocol.
    Closed { error: bool },
}

/// A server WebSocket over any byte stream.
pub(crate) struct WsConn<S> {
    io: S,
    decoder: WsDecoder,
    /// A partly received frame; empty (no allocation) otherwise.
    rbuf: BytesMut,
    /// Frames not yet written; empty (no allocation) when flushed.
    wbuf: BytesMut,
    read_chunk: usize,
    /// No more reads: a close frame, the end of the stream or an error.
    read_done: bool,
    /// A close frame is queued; nothing may follow it.
    close_queued: bool,
    /// Bytes were written since the stream was last flushed (a TLS stream
    /// may hold records until its `poll_flush` completes).
    unflushed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsConn<S> {
    /// Wraps a stream on which the handshake is done. Messages over
    /// `max_message` bytes close the connection (1009); one read takes at
    /// most `read_chunk` bytes (capped at [`STACK_READ`]).
    pub(crate) fn new(io: S, max_message: usize, read_chunk: usize) -> Self {
        WsConn {
            io,
            decoder: WsDecoder::new(max_message),
            rbuf: BytesMut::new(),
            wbuf: BytesMut::new(),
            read_chunk: read_chunk.clamp(64, STACK_READ),
            read_done: false,
            close_queued: false,
            unflushed: false,
        }
    }

    /// Puts bytes already read from the stream (by whoever read the HTTP
    /// upgrade request) before anything read from it later.
    pub(crate) fn unread(&mut self, bytes: &[u8]) {
        self.rbuf.extend_from_slice(bytes);
    }

    /// Reads until one message, control frame or end is available.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<WsEvent> {
        if self.read_done {
            return Poll::Ready(WsEvent::Closed { error: false });
        }
        loop {
            match self.decoder.decode(&mut self.rbuf) {
                Ok(Some(msg)) => {
                    self.release_rbuf();
                    return Poll::Ready(self.on_message(msg));
                }
                Ok(None) => {}
                Err(e) => {
                    self.read_done = true;
                    self.rbuf = BytesMut::new();
                    self.queue_close(Some(e.close_code()));
                    return Poll::Ready(WsEvent::Closed { error: true });
                }
            }
            match self.poll_fill(cx) {
                Poll::Pending => {
                    self.release_rbuf();
                    return Poll::Pending;
                }
                Poll::Ready(Ok(0)) => {
                    // The stream ended without a close frame, as when a
                    // client goes away: a close, an error if mid-frame.
                    self.read_done = true;
                    let error = !self.rbuf.is_empty() || self.decoder.in_message();
                    self.rbuf = BytesMut::new();
                    return Poll::Ready(WsEvent::Closed { error });
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(_)) => {
                    self.read_done = true;
                    self.rbuf = BytesMut::new();
                    return Poll::Ready(WsEvent::Closed { error: true });
                }
            }
        }
    }

    fn on_message(&mut self, msg: WsMessage) -> WsEvent {
        match msg {
            WsMessage::Text(s) => WsEvent::Text(s),
            WsMessage::Binary(b) => WsEvent::Binary(b),
            WsMessage::Ping(data) => {
                if !self.close_queued && self.wbuf.len() <= PONG_LIMIT {
                    encode_header(&mut self.wbuf, FrameKind::Pong, data.len());
                    self.wbuf.extend_from_slice(&data);
                }
                WsEvent::Skip
            }
            WsMessage::Close(code) => {
                // Echo the status back (RFC 6455 5.5.1); then the driver
                // flushes and drops the connection.
                self.read_done = true;
                self.queue_close(code);
                WsEvent::Closed { error: false }
            }
            WsMessage::Pong => WsEvent::Skip,
        }
    }

    /// Drops the read buffer's allocation once nothing partial is in it.
    fn release_rbuf(&mut self) {
        if self.rbuf.is_empty() && self.rbuf.capacity() > 0 {
            self.rbuf = BytesMut::new();
        }
    }

    /// Reads more bytes into `rbuf`; `Ok(0)` at the end of the stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.rbuf.is_empty() {
            let mut stack = [MaybeUninit::<u8>::uninit(); STACK_READ];
            let mut rb = ReadBuf::uninit(&mut stack[..self.read_chunk]);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
            self.rbuf.extend_from_slice(rb.filled());
            return Poll::Ready(Ok(rb.filled().len()));
        }
        // A frame is partly here: read straight into it, as much as it
        // still needs (bounded, so a peer announcing a large frame and
        // sending slowly does not get the whole size reserved).
        let want = self.decoder.missing(&self.rbuf).clamp(1, FRAME_READ);
        let start = self.rbuf.len();
        self.rbuf.resize(start + want, 0);
        let mut rb = ReadBuf::new(&mut self.rbuf[start..]);
        let r = Pin::new(&mut self.io).poll_read(cx, &mut rb);
        let n = rb.filled().len();
        self.rbuf.truncate(start + n);
        ready!(r)?;
        Poll::Ready(Ok(n))
    }

    /// Ready when another message may be queued; writes while too much is
    /// buffered. `Err` when the connection failed.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.wbuf.len() < WRITE_HIGH {
            return Poll::Ready(Ok(()));
        }
        match self.poll_write_buf(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending if self.wbuf.len() < WRITE_HIGH => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Queues `packet` as one frame (binary as base64 text when `base64`).
    /// Dropped once a close frame is queued.
    pub(crate) fn start_send(&mut self, packet: &Packet, base64: bool) {
        if self.close_queued {
            return;
        }
        match packet {
            Packet::Binary(b) if !base64 => {
                self.reserve_frame(10 + b.len());
                encode_header(&mut self.wbuf, FrameKind::Binary, b.len());
                self.wbuf.extend_from_slice(b);
            }
            other => {
                let len = other.text_len();
                self.reserve_frame(10 + len);
                encode_header(&mut self.wbuf, FrameKind::Text, len);
                other.encode_text_into(&mut self.wbuf);
            }
        }
    }

    /// Queues one final frame of `kind` carrying `data` as it is (no
    /// Engine.IO packet type): the raw WebSocket's send. Dropped once a
    /// close frame is queued.
    pub(crate) fn start_send_frame(&mut self, kind: FrameKind, data: &[u8]) {
        if self.close_queued {
            return;
        }
        self.reserve_frame(10 + data.len());
        encode_header(&mut self.wbuf, kind, data.len());
        self.wbuf.extend_from_slice(data);
    }

    fn reserve_frame(&mut self, n: usize) {
        if self.wbuf.capacity() == 0 {
            self.wbuf.reserve(n.max(WRITE_INIT));
        } else {
            self.wbuf.reserve(n);
        }
    }

    fn poll_write_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.wbuf.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.wbuf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.wbuf.advance(n);
            self.unflushed = true;
        }
        self.wbuf = BytesMut::new();
        Poll::Ready(Ok(()))
    }

    /// Writes every queued frame and flushes the stream, until it is done
    /// (a `Pending` flush is retried on the next call, even with nothing
    /// new queued).
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_write_buf(cx))?;
        if self.unflushed {
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    fn queue_close(&mut self, code: Option<u16>) {
        if !self.close_queued {
            self.close_queued = true;
            encode_close(&mut self.wbuf, code);
        }
    }

    /// Sends a close frame (once), flushes and shuts the stream down;
    /// `Ready` when done or failed.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.queue_close(None);
        if ready!(self.poll_flush(cx)).is_err() {
            return Poll::Ready(());
        }
        Pin::new(&mut self.io).poll_shutdown(cx).map(|_| ())
    }

    /// Sends a close frame and shuts down.
    pub(crate) async fn close(&mut self) {
        std::future::poll_fn(|cx| self.poll_close(cx)).await
    }
}

/// The WebSocket type the driver owns.
pub(crate) type Ws = WsConn<WsIo>;

/// The stream under a WebSocket: the TCP connection itself when the
/// engine's own server accepted it (`Engine`, in its lingering wrapper) or
/// another server served a plain `TcpStream`, so reads and writes skip
/// hyper's boxed `Upgraded` and two adapter layers; otherwise whatever
/// hyper upgraded (TLS, another server's stream type).
pub(crate) enum WsIo {
    Engine(Lingering<TcpStream>),
    Tcp(TcpStream),
    Upgraded(TokioIo<Upgraded>),
}

impl AsyncRead for WsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Engine(s) => Pin::new(s).poll_read(cx, buf),
            WsIo::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            WsIo::Upgraded(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WsIo::Engine(s) => Pin::new(s).poll_write(cx, buf),
            WsIo::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            WsIo::Upgraded(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Engine(s) => Pin::new(s).poll_flush(cx),
            WsIo::Tcp(s) => Pin::new(s).poll_flush(cx),
            WsIo::Upgraded(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Engine(s) => Pin::new(s).poll_shutdown(cx),
            WsIo::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            WsIo::Upgraded(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// The limits a WebSocket of this engine gets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WsLimits {
    max_message: usize,
    read_chunk: usize,
}

pub(crate) fn ws_config(config: &EngineConfig) -> WsLimits {
    ws_limits(config.max_payload, config.ws_read_buffer)
}

/// Limits given directly: messages up to `max_message` bytes, reads of at
/// most `read_chunk` bytes (capped at [`STACK_READ`]).
pub(crate) fn ws_limits(max_message: usize, read_chunk: usize) -> WsLimits {
    WsLimits {
        max_message,
        read_chunk,
    }
}

/// The WebSocket over a completed upgrade. Bytes the client sent right
/// behind its upgrade request, which hyper already read, come first.
pub(crate) fn wrap(upgraded: Upgraded, limits: WsLimits) -> Box<Ws> {
    // The engine's own connections come wrapped for lingering closes; a
    // WebSocket closes by its own handshake instead.
    let (io, read) = match upgraded.downcast::<TokioIo<Lingering<TcpStream>>>() {
        Ok(parts) => {
            let mut io = parts.io.into_inner();
            io.detach();
            (WsIo::Engine(io), parts.read_buf)
        }
        Err(other) => match other.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => (WsIo::Tcp(parts.io.into_inner()), parts.read_buf),
            Err(other) => (WsIo::Upgraded(TokioIo::new(other)), Bytes::new()),
        },
    };
    let mut ws = WsConn::new(io, limits.max_message, limits.read_chunk);
    ws.unread(&read);
    Box::new(ws)
}

#[cfg(test)]
mod tests;
