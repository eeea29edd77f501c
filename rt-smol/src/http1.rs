//! HTTP/1.1 on one TCP connection: request heads parsed by
//! [`engineio::http1`] (which also writes the answers), bodies read by `Content-Length` up to a limit, responses written with
//! their length. Owns the connection's read buffer (bytes the client sent
//! ahead, kept for the next request or a WebSocket) and nothing else; the
//! engine decides what to answer.
//!
//! Limits: a head of at most [`MAX_HEAD`] bytes and
//! [`engineio::http1::MAX_HEADERS`] headers (431 beyond), read within the engine's `header_read_timeout`
//! (which also bounds how long a kept-alive connection waits for its next
//! request); a body within `body_read_timeout` (`Expect: 100-continue`
//! is answered before it is read). Chunked request bodies are
//! refused (411, the connection closes): Engine.IO clients send a
//! `Content-Length`.

use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use async_io::{Async, Timer};
use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use http::{Response, StatusCode};

pub(crate) use engineio::http1::{Head, MAX_HEAD};

/// Read size.
const READ: usize = 8 * 1024;

/// Why no request head could be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The client closed or the connection failed: nothing to answer.
    Gone,
    /// Too slow (nothing is answered: hyper does the same).
    Timeout,
    /// Answer with this status, then close.
    Refuse(StatusCode),
}

/// One server HTTP/1.1 connection.
pub(crate) struct Conn {
    pub(crate) io: Arc<Async<TcpStream>>,
    /// Bytes read and not yet consumed.
    pub(crate) buf: BytesMut,
    /// The current request lets the connection carry another one: when it
    /// does not, every answer says `Connection: close`.
    keep_alive: bool,
}

impl Conn {
    pub(crate) fn new(io: Arc<Async<TcpStream>>) -> Self {
        Conn {
            io,
            buf: BytesMut::new(),
            keep_alive: true,
        }
    }

    /// Reads more bytes into the buffer; `Ok(0)` at the end of the stream.
    /// Cancel-safe: the buffer changes only once a read completed (a GET's
    /// watch for the client leaving is dropped mid-read).
    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; READ];
        let n = (&*self.io).read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// The next request head, within `timeout`; `Ok(None)` when the client
    /// closed the connection between requests.
    pub(crate) async fn read_head(&mut self, timeout: Duration) -> Result<Option<Head>, HeadError> {
        let read = async {
            loop {
                if let Some(head) = self.parse_head()? {
                    return Ok(Some(head));
                }
                if self.buf.len() >= MAX_HEAD {
                    return Err(HeadError::Refuse(
                        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    ));
                }
                match self.fill().await {
                    Ok(0) if self.buf.is_empty() => return Ok(None),
                    Ok(0) | Err(_) => return Err(HeadError::Gone),
                    Ok(_) => {}
                }
            }
        };
        let expire = async {
            Timer::after(timeout).await;
            Err(HeadError::Timeout)
        };
        futures_lite::future::or(read, expire).await
    }

    /// Parses a complete head at the start of the buffer and consumes it
    /// ([`engineio::http1::parse_head`]).
    fn parse_head(&mut self) -> Result<Option<Head>, HeadError> {
        match engineio::http1::parse_head(&self.buf) {
            Ok(Some((head, len))) => {
                let _ = self.buf.split_to(len);
                self.keep_alive = head.keep_alive;
                Ok(Some(head))
            }
            Ok(None) => Ok(None),
            Err(status) => Err(HeadError::Refuse(status)),
        }
    }

    /// Reads a body of exactly `len` bytes within `timeout`; `None` when the
    /// client went away or was too slow. A client that sent
    /// `Expect: 100-continue` (`expect`) is told to go on first, unless its
    /// body is already arriving.
    pub(crate) async fn read_body(
        &mut self,
        len: usize,
        expect: bool,
        timeout: Duration,
    ) -> Option<Bytes> {
        if expect && self.buf.len() < len {
            (&*self.io)
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .ok()?;
        }
        let read = async {
            while self.buf.len() < len {
                match self.fill().await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
            Some(self.buf.split_to(len).freeze())
        };
        let expire = async {
            Timer::after(timeout).await;
            None
        };
        futures_lite::future::or(read, expire).await
    }

    /// Skips a body of `len` bytes (one this engine has no use for),
    /// within `timeout`; whether it was all read.
    pub(crate) async fn skip_body(&mut self, mut len: u64, timeout: Duration) -> bool {
        let skip = async {
            loop {
                let here = (self.buf.len() as u64).min(len);
                let _ = self.buf.split_to(here as usize);
                len -= here;
                if len == 0 {
                    return true;
                }
                if !matches!(self.fill().await, Ok(n) if n > 0) {
                    return false;
                }
            }
        };
        let expire = async {
            Timer::after(timeout).await;
            false
        };
        futures_lite::future::or(skip, expire).await
    }

    /// Resolves when the client closes the connection (or it fails) while
    /// a request waits for its answer. Bytes it sends meanwhile (a
    /// pipelined request) are kept; then it stops watching.
    pub(crate) async fn closed(&mut self) {
        if self.buf.len() < MAX_HEAD && matches!(self.fill().await, Ok(n) if n > 0) {
            std::future::pending::<()>().await;
        }
    }

    /// Writes `resp` with its length; `close` (or a request that asked for
    /// it) adds `Connection: close`.
    pub(crate) async fn respond(&mut self, resp: Response<Bytes>, close: bool) -> io::Result<()> {
        let out = engineio::http1::encode_response(&resp, close || !self.keep_alive);
        (&*self.io).write_all(&out).await?;
        (&*self.io).flush().await
    }

    /// Closes after an answer sent with a request body still unread: the
    /// write side shuts, and what the client still sends is read and
    /// dropped, up to `bytes` within `timeout`, so that its unread upload
    /// does not make the kernel reset the connection before the client
    /// read the answer.
    pub(crate) async fn linger(&mut self, timeout: Duration, bytes: usize) {
        let _ = self.io.get_ref().shutdown(std::net::Shutdown::Write);
        let drain = async {
            let mut left = bytes;
            let mut scratch = vec![0u8; READ];
            while left > 0 {
                match (&*self.io).read(&mut scratch).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        };
        let expire = async {
            Timer::after(timeout).await;
        };
        futures_lite::future::or(drain, expire).await;
    }
}
