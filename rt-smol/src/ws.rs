//! One server WebSocket on an async-io TCP stream: the framing, buffers
//! and control frames are [`engineio::wsbuf::WsBuffers`]' (the same code
//! the tokio driver frames with); this is the stream's side: reads into
//! the buffers, writes what they queued.
//!
//! As an [`engineio::drive::WsIo`] it is driven by the shared
//! [`engineio::drive::Transports`]. It must not touch sessions or sockets:
//! the driver decides what to send and when to close.

use std::net::TcpStream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use async_io::Async;
use engineio::deflate::Negotiated;
use engineio::drive::WsIo;
use engineio::wsbuf::{WsBuffers, WsInput};
use engineio::{EngineConfig, Packet};
use futures_lite::{AsyncRead, AsyncWrite};

/// A server WebSocket whose opening handshake is done.
pub(crate) struct Ws {
    io: Arc<Async<TcpStream>>,
    bufs: WsBuffers,
    read_chunk: usize,
}

impl Ws {
    /// A WebSocket on `io`; `read` holds the bytes the client sent right
    /// behind its upgrade request, already read; `deflate`: the
    /// permessage-deflate parameters its 101 agreed.
    pub(crate) fn new(
        io: Arc<Async<TcpStream>>,
        read: &[u8],
        config: &EngineConfig,
        deflate: Option<&Negotiated>,
    ) -> Self {
        let mut bufs = WsBuffers::new(config.max_payload);
        if let Some(agreed) = deflate {
            bufs.set_deflate(agreed);
        }
        bufs.unread(read);
        Ws {
            io,
            bufs,
            read_chunk: config.ws_read_buffer.clamp(64, 16 * 1024),
        }
    }

    /// Queues `bytes` (the handshake's 101) ahead of the first frames,
    /// to leave with them in one write.
    pub(crate) fn queue_raw(&mut self, bytes: &[u8]) {
        self.bufs.queue_raw(bytes);
    }
}

impl WsIo for Ws {
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<WsInput> {
        loop {
            if let Some(input) = self.bufs.poll_input() {
                return Poll::Ready(input);
            }
            let read = match self.bufs.partial() {
                true => {
                    let room = self.bufs.read_buf();
                    let len = room.len();
                    let r = Pin::new(&mut &*self.io).poll_read(cx, room);
                    let n = match r {
                        Poll::Ready(Ok(n)) => n,
                        _ => 0,
                    };
                    self.bufs.filled(len, n);
                    r
                }
                false => {
                    // Idle: read into the stack, so no buffer is held while waiting.
                    let mut stack = [0u8; 16 * 1024];
                    let r = Pin::new(&mut &*self.io).poll_read(cx, &mut stack[..self.read_chunk]);
                    if let Poll::Ready(Ok(n)) = r {
                        self.bufs.unread(&stack[..n]);
                    }
                    r
                }
            };
            let input = match ready!(read) {
                Ok(0) => self.bufs.handle_eof(),
                Ok(_) => continue,
                Err(_) => self.bufs.handle_read_error(),
            };
            return Poll::Ready(input);
        }
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        if self.bufs.writable() {
            return Poll::Ready(Ok(()));
        }
        match self.poll_flush(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending if self.bufs.writable() => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn start_send(&mut self, packet: &Packet, wire: engineio::Wire, compress: bool) {
        self.bufs.queue_packet(packet, wire, compress);
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        while !self.bufs.pending().is_empty() {
            let n = ready!(Pin::new(&mut &*self.io).poll_write(cx, self.bufs.pending()))
                .map_err(|_| ())?;
            if n == 0 {
                return Poll::Ready(Err(()));
            }
            self.bufs.written(n);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.bufs.queue_close(None);
        if ready!(WsIo::poll_flush(self, cx)).is_err() {
            return Poll::Ready(());
        }
        Pin::new(&mut &*self.io).poll_close(cx).map(|_| ())
    }
}
