//! One server-side WebSocket over an upgraded HTTP connection: reads the
//! client's frames through [`WsDecoder`], writes unmasked server frames,
//! answers pings and close frames. Owns the connection's buffers and
//! nothing else; the driver decides what to send and when to close.
//!
//! The framing and buffers are [`WsBuffers`]' (shared with other runtime
//! drivers); this is the stream's side. Idle connections hold no buffer:
//! reads land in a stack buffer and only a partly received frame is kept
//! on the heap, and the write buffer is released once flushed. Frames queued between two flushes go out in one
//! write, so a burst of messages (a run of broadcasts) costs one syscall.
//!
//! Also owns the stream under a WebSocket ([`WsIo`]) and [`wrap`], which
//! makes one of a completed HTTP upgrade. It must not touch sessions,
//! sockets or the registry: the driver and the HTTP glue sit above it.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::linger::Lingering;
use crate::config::EngineConfig;
use crate::deflate::Negotiated;
use crate::packet::Packet;
use crate::wsbuf::WsBuffers;
use crate::wsframe::FrameKind;

/// Largest read into the stack buffer (the cap on `ws_read_buffer`).
pub(crate) const STACK_READ: usize = 16 * 1024;

/// What one read from the WebSocket gave.
pub(crate) use crate::wsbuf::WsInput as WsEvent;

/// A server WebSocket over any byte stream: [`WsBuffers`] and the stream.
pub(crate) struct WsConn<S> {
    io: S,
    bufs: WsBuffers,
    read_chunk: usize,
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
            bufs: WsBuffers::new(max_message),
            read_chunk: read_chunk.clamp(64, STACK_READ),
            unflushed: false,
        }
    }

    /// Puts bytes already read from the stream (by whoever read the HTTP
    /// upgrade request) before anything read from it later.
    pub(crate) fn unread(&mut self, bytes: &[u8]) {
        self.bufs.unread(bytes);
    }

    /// Reads until one message, control frame or end is available.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<WsEvent> {
        loop {
            if let Some(input) = self.bufs.poll_input() {
                return Poll::Ready(input);
            }
            match ready!(self.poll_fill(cx)) {
                Ok(0) => return Poll::Ready(self.bufs.handle_eof()),
                Ok(_) => {}
                Err(_) => return Poll::Ready(self.bufs.handle_read_error()),
            }
        }
    }

    /// Reads more bytes into the buffers; `Ok(0)` at the end of the stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if !self.bufs.partial() {
            // Idle: read into the stack, so no buffer is held while waiting.
            let mut stack = [MaybeUninit::<u8>::uninit(); STACK_READ];
            let mut rb = ReadBuf::uninit(&mut stack[..self.read_chunk]);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
            self.bufs.unread(rb.filled());
            return Poll::Ready(Ok(rb.filled().len()));
        }
        // A frame is partly here: read straight into it.
        let room = self.bufs.read_buf();
        let len = room.len();
        let mut rb = ReadBuf::new(room);
        let r = Pin::new(&mut self.io).poll_read(cx, &mut rb);
        let n = rb.filled().len();
        self.bufs.filled(len, n);
        ready!(r)?;
        Poll::Ready(Ok(n))
    }

    /// Ready when another message may be queued; writes while too much is
    /// buffered. `Err` when the connection failed.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.bufs.writable() {
            return Poll::Ready(Ok(()));
        }
        match self.poll_write_buf(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending if self.bufs.writable() => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Queues `packet` as one frame (binary as base64 text when `base64`),
    /// compressed only if `compress` allows. Dropped once a close frame
    /// is queued.
    pub(crate) fn start_send(&mut self, packet: &Packet, wire: crate::eio3::Wire, compress: bool) {
        self.bufs.queue_packet(packet, wire, compress);
    }

    /// Queues one final frame of `kind` carrying `data` as it is (no
    /// Engine.IO packet type): the raw WebSocket's send. Dropped once a
    /// close frame is queued.
    pub(crate) fn start_send_frame(&mut self, kind: FrameKind, data: &[u8]) {
        self.bufs.queue_frame(kind, data);
    }

    fn poll_write_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.bufs.pending().is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, self.bufs.pending()))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.bufs.written(n);
            self.unflushed = true;
        }
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

    /// Sends a close frame (once), flushes and shuts the stream down;
    /// `Ready` when done or failed.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.bufs.queue_close(None);
        if ready!(self.poll_flush(cx)).is_err() {
            return Poll::Ready(());
        }
        Pin::new(&mut self.io).poll_shutdown(cx).map(|_| ())
    }

    /// Sends a close frame and shuts down.
    pub(crate) async fn close(&mut self) {
        std::future::poll_fn(|cx| self.poll_close(cx)).await
    }

    #[cfg(test)]
    pub(crate) fn bufs(&self) -> &WsBuffers {
        &self.bufs
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
    /// permessage-deflate, as the 101 agreed.
    deflate: Option<Negotiated>,
}

impl WsLimits {
    /// These limits with the permessage-deflate parameters `agreed`.
    pub(crate) fn with_deflate(mut self, agreed: Option<Negotiated>) -> Self {
        self.deflate = agreed;
        self
    }
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
        deflate: None,
    }
}

/// The WebSocket over a completed upgrade. Bytes the client sent right
/// behind its upgrade request, which hyper already read, come first.
pub(crate) fn wrap(upgraded: Upgraded, limits: WsLimits) -> Box<Ws> {
    // The engine's own connections come wrapped for lingering closes; a
    // WebSocket closes by its own handshake instead.
    let (io, read, prefix) = match upgraded.downcast::<TokioIo<Lingering<TcpStream>>>() {
        Ok(parts) => {
            let mut io = parts.io.into_inner();
            io.detach();
            // What hyper read came off the stream before what it left of
            // the accept path's prefix.
            let prefix = io.take_prefix();
            (WsIo::Engine(io), parts.read_buf, prefix)
        }
        Err(other) => match other.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => (
                WsIo::Tcp(parts.io.into_inner()),
                parts.read_buf,
                Bytes::new(),
            ),
            Err(other) => (
                WsIo::Upgraded(TokioIo::new(other)),
                Bytes::new(),
                Bytes::new(),
            ),
        },
    };
    let mut ws = ws_over(io, limits);
    ws.unread(&read);
    ws.unread(&prefix);
    ws
}

/// The WebSocket over a TCP connection on which the engine itself answers
/// the opening handshake: `answer` (the 101) is not written yet and goes
/// out with the first frames, in one write; `ahead`: what the client sent
/// behind its request.
pub(crate) fn wrap_tcp(
    stream: TcpStream,
    ahead: &[u8],
    answer: &[u8],
    limits: WsLimits,
) -> Box<Ws> {
    let mut ws = ws_over(WsIo::Tcp(stream), limits);
    ws.unread(ahead);
    ws.bufs.queue_raw(answer);
    ws
}

fn ws_over(io: WsIo, limits: WsLimits) -> Box<Ws> {
    let mut ws = WsConn::new(io, limits.max_message, limits.read_chunk);
    if let Some(agreed) = &limits.deflate {
        ws.bufs.set_deflate(agreed);
    }
    Box::new(ws)
}

#[cfg(test)]
mod tests;
