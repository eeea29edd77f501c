//! The client side of permessage-deflate (RFC 7692) for `--deflate`,
//! without context takeover: tokio-tungstenite does not implement the
//! extension (it fails on a frame with RSV1 set), so [`Inflating`] sits
//! between it and the socket and hands it every compressed message
//! inflated, as one plain frame. Writes pass through: the client sends
//! uncompressed, which the extension allows.
//!
//! Every message is inflated on its own (the offer asks for
//! `server_no_context_takeover`, and [`check_answer`] refuses a server that
//! does not agree), with one decompressor per thread reset per message, so
//! that an idle connection holds no inflate state. The inflated size is
//! capped at [`MAX_MESSAGE`].

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The offer sent in `Sec-WebSocket-Extensions`.
pub const OFFER: &str =
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover";

/// Largest inflated message accepted (the servers' default max payload).
pub const MAX_MESSAGE: usize = 1_000_000;

/// What the inflating connections of a run counted.
#[derive(Debug, Default)]
pub struct DeflateStats {
    /// Messages that arrived compressed.
    pub messages: AtomicU64,
    /// Their payload bytes on the wire.
    pub wire_bytes: AtomicU64,
    /// Their bytes once inflated.
    pub inflated_bytes: AtomicU64,
}

/// Checks the server's `Sec-WebSocket-Extensions` answer: permessage-deflate
/// with `server_no_context_takeover` (what [`Inflating`] relies on).
pub fn check_answer(answer: Option<&str>) -> Result<(), String> {
    let answer = answer.ok_or("the server did not accept permessage-deflate")?;
    let ext = answer
        .split(',')
        .map(|e| e.split(';').map(str::trim).collect::<Vec<_>>())
        .find(|p| p.first() == Some(&"permessage-deflate"))
        .ok_or_else(|| format!("no permessage-deflate in the answer {answer:?}"))?;
    if !ext.contains(&"server_no_context_takeover") {
        return Err(format!(
            "the server keeps its compression context ({answer:?}): not supported"
        ));
    }
    Ok(())
}

thread_local! {
    /// The decompressor of this thread, reset for every message.
    static STATE: RefCell<Box<InflateState>> = RefCell::new(InflateState::new_boxed(DataFormat::Raw));
}

/// Inflates one message's payload (the frames' data joined, without the
/// `00 00 ff ff` tail the sender removed), at most `max` bytes of output.
pub fn inflate_message(data: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut input = Vec::with_capacity(data.len() + 4);
    input.extend_from_slice(data);
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    STATE.with(|s| {
        let mut state = s.borrow_mut();
        state.reset(DataFormat::Raw);
        let mut out = Vec::with_capacity((data.len() * 4).clamp(256, max.max(256)));
        let mut rest = &input[..];
        loop {
            let start = out.len();
            let room = (out.capacity() - start).max(4096);
            out.resize(start + room, 0);
            let r = inflate(&mut state, rest, &mut out[start..], MZFlush::Sync);
            out.truncate(start + r.bytes_written);
            rest = &rest[r.bytes_consumed..];
            if out.len() > max {
                return Err(format!("an inflated message over {max} bytes"));
            }
            match r.status {
                Ok(MZStatus::StreamEnd) => return Ok(out),
                Ok(_) | Err(MZError::Buf) => {}
                Err(e) => return Err(format!("invalid deflate data ({e:?})")),
            }
            let stuck = r.bytes_consumed == 0 && r.bytes_written == 0;
            if rest.is_empty() && r.bytes_written < room {
                return Ok(out);
            }
            if stuck {
                return Err("invalid deflate data (no progress)".into());
            }
        }
    })
}

/// A compressed message being received, frame by frame.
struct Partial {
    /// Opcode of its first frame (text or binary).
    opcode: u8,
    /// Its payload so far.
    data: Vec<u8>,
}

/// The inflating state of a connection with `--deflate`.
struct Inflate {
    /// Bytes read from the socket, not yet looked at.
    raw: BytesMut,
    /// Bytes for tokio-tungstenite: headers, frames as they came, or
    /// inflated messages re-framed.
    out: BytesMut,
    /// The HTTP answer's headers have been passed on.
    headers_done: bool,
    /// The compressed message being received.
    partial: Option<Partial>,
    /// The run's counters.
    stats: Arc<DeflateStats>,
}

/// A socket that, with deflate on, inflates the compressed messages it
/// reads (see the module docs); with it off, a plain pass-through.
pub struct Inflating<S> {
    /// The socket.
    inner: S,
    /// `None`: pass-through.
    state: Option<Box<Inflate>>,
}

impl<S> Inflating<S> {
    /// `inner` as is.
    pub fn plain(inner: S) -> Self {
        Self { inner, state: None }
    }

    /// `inner` with compressed messages inflated, counted in `stats`.
    pub fn deflate(inner: S, stats: Arc<DeflateStats>) -> Self {
        let state = Inflate {
            raw: BytesMut::new(),
            out: BytesMut::new(),
            headers_done: false,
            partial: None,
            stats,
        };
        Self {
            inner,
            state: Some(Box::new(state)),
        }
    }
}

/// Writes a final frame header for `len` bytes of payload, unmasked (from
/// the server), RSV bits clear.
fn frame_header(out: &mut BytesMut, opcode: u8, len: usize) {
    out.extend_from_slice(&[0x80 | opcode]);
    if len < 126 {
        out.extend_from_slice(&[len as u8]);
    } else if len <= 0xffff {
        out.extend_from_slice(&[126]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.extend_from_slice(&[127]);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// Length of the frame at the start of `buf` and where its payload starts,
/// once all of it is there.
fn whole_frame(buf: &[u8]) -> Result<Option<(usize, usize)>, String> {
    if buf.len() < 2 {
        return Ok(None);
    }
    if buf[1] & 0x80 != 0 {
        return Err("a masked frame from the server".into());
    }
    let (len, head) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4),
        127 if buf.len() >= 10 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(b), 10)
        }
        126 | 127 => return Ok(None),
        n => (n as u64, 2),
    };
    if len > MAX_MESSAGE as u64 {
        return Err(format!("a frame of {len} bytes"));
    }
    let total = head + len as usize;
    Ok((buf.len() >= total).then_some((total, head)))
}

impl Inflate {
    /// Moves what is complete in `raw` to `out`: the headers first, then
    /// frame by frame, compressed messages inflated once whole.
    fn process(&mut self) -> Result<(), String> {
        if !self.headers_done {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return Ok(());
            };
            self.out.extend_from_slice(&self.raw[..end + 4]);
            self.raw.advance(end + 4);
            self.headers_done = true;
        }
        while let Some((total, head)) = whole_frame(&self.raw)? {
            let (b0, payload) = (self.raw[0], &self.raw[head..total]);
            let (fin, rsv1, opcode) = (b0 & 0x80 != 0, b0 & 0x40 != 0, b0 & 0x0f);
            let mut pass = true;
            if opcode == 0 {
                if let Some(p) = &mut self.partial {
                    if p.data.len() + payload.len() > MAX_MESSAGE {
                        return Err("a compressed message over the limit".into());
                    }
                    p.data.extend_from_slice(payload);
                    pass = false;
                }
            } else if opcode < 8 && rsv1 {
                if self.partial.is_some() {
                    return Err("a new message inside a fragmented one".into());
                }
                let data = payload.to_vec();
                self.partial = Some(Partial { opcode, data });
                pass = false;
            }
            if pass {
                self.out.extend_from_slice(&self.raw[..total]);
            } else if fin {
                let p = self.partial.take().unwrap_or(Partial {
                    opcode,
                    data: Vec::new(),
                });
                let inflated = inflate_message(&p.data, MAX_MESSAGE)?;
                let s = &self.stats;
                s.messages.fetch_add(1, Ordering::Relaxed);
                s.wire_bytes
                    .fetch_add(p.data.len() as u64, Ordering::Relaxed);
                s.inflated_bytes
                    .fetch_add(inflated.len() as u64, Ordering::Relaxed);
                frame_header(&mut self.out, p.opcode, inflated.len());
                self.out.extend_from_slice(&inflated);
            }
            self.raw.advance(total);
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Inflating<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(st) = this.state.as_deref_mut() else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        loop {
            if !st.out.is_empty() {
                let n = st.out.len().min(buf.remaining());
                buf.put_slice(&st.out[..n]);
                st.out.advance(n);
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 8192];
            let mut rb = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                    // End of stream: whatever is left is a cut frame.
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Ok(())) => {
                    st.raw.extend_from_slice(rb.filled());
                    st.process()
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Inflating<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// RFC 7692 section 7.2.3.1: "Hello" compressed, tail removed.
    const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

    #[test]
    fn inflates_the_rfc_example_and_refuses_garbage_and_bombs() {
        assert_eq!(inflate_message(&HELLO, 100).unwrap(), b"Hello");
        // Twice: the thread's decompressor is reset between messages.
        assert_eq!(inflate_message(&HELLO, 100).unwrap(), b"Hello");
        assert!(inflate_message(&[0xff, 0xff, 0xff], 100).is_err());
        let big = miniz_oxide::deflate::compress_to_vec(&[b'x'; 100_000], 6);
        assert_eq!(inflate_message(&big, 200_000).unwrap().len(), 100_000);
        assert!(inflate_message(&big, 50_000).is_err());
    }

    #[test]
    fn answers_without_server_no_context_takeover_are_refused() {
        assert!(check_answer(Some(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ))
        .is_ok());
        assert!(check_answer(Some("permessage-deflate")).is_err());
        assert!(check_answer(None).is_err());
        assert!(check_answer(Some("x-webkit-deflate-frame")).is_err());
    }

    #[tokio::test]
    async fn a_fragmented_compressed_message_reads_as_one_plain_frame() {
        let mut wire = b"HTTP/1.1 101 Switching Protocols\r\nA: b\r\n\r\n".to_vec();
        // "Hel" + "lo" compressed, in two frames: text+RSV1 then FIN continuation.
        wire.extend_from_slice(&[0x41, 3]);
        wire.extend_from_slice(&HELLO[..3]);
        wire.extend_from_slice(&[0x80, 4]);
        wire.extend_from_slice(&HELLO[3..]);
        // An uncompressed ping passes as it came.
        wire.extend_from_slice(&[0x89, 1, b'p']);
        let stats = Arc::new(DeflateStats::default());
        let mut s = Inflating::deflate(&wire[..], stats.clone());
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        let mut want = b"HTTP/1.1 101 Switching Protocols\r\nA: b\r\n\r\n".to_vec();
        want.extend_from_slice(&[0x81, 5]);
        want.extend_from_slice(b"Hello");
        want.extend_from_slice(&[0x89, 1, b'p']);
        assert_eq!(got, want);
        assert_eq!(stats.messages.load(Ordering::Relaxed), 1);
        assert_eq!(stats.inflated_bytes.load(Ordering::Relaxed), 5);
    }
}
