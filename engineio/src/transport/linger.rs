//! Lingering close of an HTTP connection (as Apache's and nginx's): when
//! the server closes a connection whose request body it did not read (a
//! 413 answered on the headers, a refused POST, a malformed request), it
//! shuts down writing, then reads and discards what the client still
//! sends, for a bounded time and number of bytes, before closing.
//!
//! Closing at once would make the kernel answer the unread input with a
//! reset, and a reset can destroy the answer before the client read it
//! (ECONNRESET in place of the 413). Owns only the connection's stream
//! while hyper serves it; it must not touch requests, sessions or the
//! registry.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

/// A connection's stream, as hyper serves it: it notes whether hyper shut
/// down writing and whether the client ended its side, and when hyper
/// drops it after a shutdown with the client's side still open, hands the
/// stream to its [`Linger`].
#[derive(Debug)]
pub struct Lingering<I> {
    /// Always `Some` until dropped.
    io: Option<I>,
    /// Bytes read off `io` before it was wrapped (a request head looked at
    /// by the engine's accept path), read again first.
    prefix: bytes::Bytes,
    shut: bool,
    eof: bool,
    back: Option<oneshot::Sender<I>>,
}

/// The other half of a [`Lingering`] stream: awaiting [`Linger::finish`]
/// once the HTTP connection is done does the lingering close, if one is
/// due.
#[derive(Debug)]
pub struct Linger<I> {
    rx: oneshot::Receiver<I>,
    timeout: Duration,
    max_bytes: usize,
}

/// Wraps `io` for lingering closes of at most `timeout` and `max_bytes`
/// (a zero `timeout` closes at once, as without the wrapper).
pub fn lingering<I>(io: I, timeout: Duration, max_bytes: usize) -> (Lingering<I>, Linger<I>) {
    lingering_after(io, bytes::Bytes::new(), timeout, max_bytes)
}

/// [`lingering`] for a stream off which `prefix` was already read: those
/// bytes come first.
pub(crate) fn lingering_after<I>(
    io: I,
    prefix: bytes::Bytes,
    timeout: Duration,
    max_bytes: usize,
) -> (Lingering<I>, Linger<I>) {
    let (tx, rx) = oneshot::channel();
    let io = Lingering {
        io: Some(io),
        prefix,
        shut: false,
        eof: false,
        back: Some(tx),
    };
    let linger = Linger {
        rx,
        timeout,
        max_bytes,
    };
    (io, linger)
}

impl<I> Lingering<I> {
    /// No lingering close for this stream: it lives on past the HTTP
    /// connection (an upgrade to a WebSocket) and closes by other means.
    pub fn detach(&mut self) {
        self.back = None;
    }

    /// The bytes of the prefix not read yet (see [`lingering_after`]).
    pub(crate) fn take_prefix(&mut self) -> bytes::Bytes {
        std::mem::take(&mut self.prefix)
    }

    fn io(&mut self) -> io::Result<&mut I> {
        self.io
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl<I> Drop for Lingering<I> {
    fn drop(&mut self) {
        if !self.shut || self.eof {
            return;
        }
        if let (Some(io), Some(back)) = (self.io.take(), self.back.take()) {
            // The receiver is gone when nobody lingers: the stream closes.
            let _ = back.send(io);
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Lingering<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let r = Pin::new(self.io()?).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() == before && buf.remaining() > 0 {
            self.eof = true;
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Lingering<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.io()?).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.io()?).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.as_ref().is_some_and(|io| io.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.io()?).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(self.io()?).poll_shutdown(cx);
        if matches!(r, Poll::Ready(Ok(()))) {
            self.shut = true;
        }
        r
    }
}

impl<I: AsyncRead + Unpin> Linger<I> {
    /// Reads and discards the client's input until it ends its side, an
    /// error, `max_bytes` or the timeout, whichever comes first, then closes
    /// the stream. Returns at once when no lingering close is due: the
    /// stream was upgraded, the client had ended its side, or it was
    /// dropped without a shutdown.
    ///
    /// Call it once the connection's future has completed (and so dropped
    /// the stream): a stream still in use, upgraded, is not waited for.
    pub async fn finish(mut self) {
        let Ok(mut io) = self.rx.try_recv() else {
            return;
        };
        if self.timeout.is_zero() || self.max_bytes == 0 {
            return;
        }
        let mut buf = vec![0u8; self.max_bytes.min(4096)];
        let mut left = self.max_bytes;
        let drain = async {
            while left > 0 {
                let n = left.min(buf.len());
                match io.read(&mut buf[..n]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left -= n,
                }
            }
        };
        let _ = tokio::time::timeout(self.timeout, drain).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{duplex, AsyncWriteExt};

    /// A peer that never stops sending; counts the bytes read.
    struct Endless(Arc<AtomicUsize>);

    impl AsyncRead for Endless {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = buf.remaining().min(700);
            buf.put_slice(&[b'x'; 700][..n]);
            self.0.fetch_add(n, Ordering::Relaxed);
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Endless {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            b: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(b.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn lingers_only_after_a_shutdown_with_input_unread() {
        // Shut down with the peer's side open: the stream comes back.
        let (a, _peer) = duplex(64);
        let (mut io, linger) = lingering(a, Duration::from_secs(5), 1000);
        io.shutdown().await.unwrap();
        drop(io);
        assert!(linger.rx.await.is_ok());

        // The peer had ended its side: nothing to linger for.
        let (a, peer) = duplex(64);
        let (mut io, linger) = lingering(a, Duration::from_secs(5), 1000);
        drop(peer);
        let mut b = [0u8; 8];
        assert_eq!(io.read(&mut b).await.unwrap(), 0);
        io.shutdown().await.unwrap();
        drop(io);
        assert!(linger.rx.await.is_err());

        // Dropped without a shutdown, or detached: no linger either.
        let (a, _peer) = duplex(64);
        let (io, linger) = lingering(a, Duration::from_secs(5), 1000);
        drop(io);
        assert!(linger.rx.await.is_err());
        let (a, _peer) = duplex(64);
        let (mut io, linger) = lingering(a, Duration::from_secs(5), 1000);
        io.detach();
        io.shutdown().await.unwrap();
        drop(io);
        assert!(linger.rx.await.is_err());
    }

    #[tokio::test]
    async fn lingering_is_bounded_in_time_and_bytes() {
        // A peer that keeps the connection open and silent: the timeout.
        let (a, _peer) = duplex(64);
        let (mut io, linger) = lingering(a, Duration::from_millis(200), 1000);
        io.shutdown().await.unwrap();
        drop(io);
        let start = tokio::time::Instant::now();
        linger.finish().await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");

        // A peer that sends some more, then ends: done as soon as it ends.
        let (a, mut peer) = duplex(64);
        let (mut io, linger) = lingering(a, Duration::from_secs(2), 1000);
        io.shutdown().await.unwrap();
        drop(io);
        peer.write_all(b"rest of the body").await.unwrap();
        drop(peer);
        let start = tokio::time::Instant::now();
        linger.finish().await;
        assert!(start.elapsed() < Duration::from_secs(1));

        // A peer that keeps sending: exactly `max_bytes` are read.
        let read = Arc::new(AtomicUsize::new(0));
        let (mut io, linger) = lingering(Endless(read.clone()), Duration::from_secs(2), 10_000);
        io.shutdown().await.unwrap();
        drop(io);
        let start = tokio::time::Instant::now();
        linger.finish().await;
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(read.load(Ordering::Relaxed), 10_000);
    }
}
