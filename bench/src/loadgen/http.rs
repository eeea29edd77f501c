//! A minimal HTTP/1.1 keep-alive client over a tokio `TcpStream`, enough for
//! Engine.IO long-polling: it writes a whole request at once and reads one
//! response, its body framed by `Content-Length` or `Transfer-Encoding:
//! chunked` (or, failing both, by the end of the connection). No
//! compression is asked for. A connection the server marks `Connection:
//! close` is reopened by the next request.

use std::io;
use std::net::SocketAddr;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Longest response body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// The whole body, de-chunked.
    pub body: Bytes,
}

/// One keep-alive connection to the server.
pub struct HttpConn {
    /// The server, to reopen the connection.
    addr: SocketAddr,
    /// The connection; `None` once the server closed it.
    stream: Option<TcpStream>,
    /// Bytes read and not consumed yet.
    buf: BytesMut,
    /// Bytes read since the current request was sent.
    received: usize,
}

/// An `InvalidData` error.
fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether `e` is how a kept-alive connection the server has closed fails.
fn stale(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
    )
}

/// A `GET` request for `path_query`.
pub fn get_request(host: &str, path_query: &str) -> Vec<u8> {
    format!("GET {path_query} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n").into_bytes()
}

/// A `POST` request of `body` (text/plain) to `path_query`.
pub fn post_request(host: &str, path_query: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST {path_query} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\nAccept: */*\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

impl HttpConn {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let mut conn = Self {
            addr,
            stream: None,
            buf: BytesMut::with_capacity(4096),
            received: 0,
        };
        conn.open().await?;
        Ok(conn)
    }

    /// (Re)opens the TCP connection.
    async fn open(&mut self) -> io::Result<&mut TcpStream> {
        let stream = TcpStream::connect(self.addr).await?;
        let _ = stream.set_nodelay(true);
        self.buf.clear();
        Ok(self.stream.insert(stream))
    }

    /// Reads more bytes into the buffer; EOF is an error.
    async fn fill(&mut self) -> io::Result<()> {
        let stream = self.stream.as_mut().ok_or_else(|| bad("not connected"))?;
        let n = stream.read_buf(&mut self.buf).await?;
        self.received += n;
        if n == 0 {
            self.stream = None;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by the server",
            ));
        }
        Ok(())
    }

    /// Reads until the buffer holds `n` bytes.
    async fn fill_to(&mut self, n: usize) -> io::Result<()> {
        while self.buf.len() < n {
            self.fill().await?;
        }
        Ok(())
    }

    /// Reads up to the next CRLF and returns the line without it.
    async fn line(&mut self) -> io::Result<BytesMut> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = self.buf.split_to(i);
                self.buf.advance(2);
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("line too long"));
            }
            self.fill().await?;
        }
    }

    /// Sends `request` (a whole request from [`get_request`] or
    /// [`post_request`]) and reads its response. A kept-alive connection
    /// that turns out closed by the server (idle timeout) before any byte
    /// of the answer is reopened and the request sent once more, as
    /// browsers do. Not cancel-safe: drop the connection if this is
    /// abandoned midway.
    pub async fn request(&mut self, request: &[u8]) -> io::Result<Response> {
        if self.stream.is_some() {
            match self.attempt(request).await {
                Err(e) if self.received == 0 && stale(&e) => {}
                res => return res,
            }
        }
        self.open().await?;
        self.attempt(request).await
    }

    /// One try of [`HttpConn::request`] on the current connection.
    async fn attempt(&mut self, request: &[u8]) -> io::Result<Response> {
        self.buf.clear();
        self.received = 0;
        let stream = self.stream.as_mut().ok_or_else(|| bad("not connected"))?;
        let res = match stream.write_all(request).await {
            Ok(()) => self.response().await,
            Err(e) => Err(e),
        };
        if res.is_err() {
            self.stream = None;
        }
        res
    }

    /// Reads one response.
    async fn response(&mut self) -> io::Result<Response> {
        let head_len = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("response head too long"));
            }
            self.fill().await?;
        };
        let head = self.buf.split_to(head_len);
        let head = std::str::from_utf8(&head).map_err(|_| bad("response head not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let status: u16 = status_line
            .strip_prefix("HTTP/1.")
            .and_then(|s| s.get(2..5))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| bad("bad Content-Length"))?,
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        let body = if chunked {
            self.chunked_body().await?
        } else if let Some(n) = length {
            if n > MAX_BODY {
                return Err(bad("body too long"));
            }
            self.fill_to(n).await?;
            self.buf.split_to(n).freeze()
        } else if status < 200 || status == 204 || status == 304 {
            Bytes::new()
        } else {
            // Delimited by the end of the connection.
            close = true;
            loop {
                if self.buf.len() > MAX_BODY {
                    return Err(bad("body too long"));
                }
                match self.fill().await {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(e),
                }
            }
            self.buf.split().freeze()
        };
        if close {
            self.stream = None;
        }
        Ok(Response { status, body })
    }

    /// Reads a chunked body, trailers included.
    async fn chunked_body(&mut self) -> io::Result<Bytes> {
        let mut body = BytesMut::new();
        loop {
            let line = self.line().await?;
            let size = std::str::from_utf8(&line)
                .ok()
                .and_then(|l| {
                    usize::from_str_radix(l.split(';').next().unwrap_or("").trim(), 16).ok()
                })
                .ok_or_else(|| bad("bad chunk size"))?;
            if size == 0 {
                // Trailers, up to an empty line.
                while !self.line().await?.is_empty() {}
                return Ok(body.freeze());
            }
            if body.len() + size > MAX_BODY {
                return Err(bad("body too long"));
            }
            self.fill_to(size + 2).await?;
            body.extend_from_slice(&self.buf[..size]);
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(bad("chunk not followed by CRLF"));
            }
            self.buf.advance(size + 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// Serves the `replies` in turn, one per request head read.
    async fn server(replies: Vec<&'static [u8]>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            for reply in replies {
                loop {
                    if let Some(i) = find(&buf, b"\r\n\r\n") {
                        buf.drain(..i + 4);
                        break;
                    }
                    let mut chunk = [0u8; 1024];
                    let n = s.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                // Byte by byte, to exercise the partial reads.
                for b in reply {
                    s.write_all(&[*b]).await.unwrap();
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn content_length_and_chunked_on_one_connection() {
        let addr = server(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\n\x1e2\r\n0\r\nT: v\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
        ])
        .await;
        let mut c = HttpConn::connect(addr).await.unwrap();
        let r = c.request(&get_request("h", "/a")).await.unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"hello"[..]));
        let r = c.request(&post_request("h", "/a", b"40")).await.unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"abc\x1e2"[..]));
        let r = c.request(&get_request("h", "/a")).await.unwrap();
        assert_eq!((r.status, r.body.len()), (400, 0));
    }

    #[tokio::test]
    async fn a_connection_closed_while_idle_is_reopened() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for body in ["one", "two"] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = Vec::new();
                while find(&buf, b"\r\n\r\n").is_none() {
                    let mut chunk = [0u8; 1024];
                    let n = s.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let reply = format!("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{body}");
                s.write_all(reply.as_bytes()).await.unwrap();
                // Closed right after: the client's next request finds it so.
            }
        });
        let mut c = HttpConn::connect(addr).await.unwrap();
        let r = c.request(&get_request("h", "/")).await.unwrap();
        assert_eq!(&r.body[..], b"one");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let r = c.request(&post_request("h", "/", b"3")).await.unwrap();
        assert_eq!(&r.body[..], b"two");
    }
}
