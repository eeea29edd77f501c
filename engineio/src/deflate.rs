//! permessage-deflate (RFC 7692) for the engine's own WebSocket framing:
//! the negotiation of the client's `Sec-WebSocket-Extensions` offers
//! ([`negotiate`]), the server's compression of outgoing messages
//! ([`Deflater`]) and the inflation of the client's ([`Inflater`]), capped
//! while it runs.
//!
//! Memory stays bounded: unless context takeover is both allowed by the
//! configuration ([`PerMessageDeflate::context_takeover`]) and accepted by
//! the client, a connection keeps no codec state at all; each message is
//! compressed or inflated with a per-thread codec that is reset first, and
//! an outgoing message shared by several connections (a broadcast) is
//! compressed once and its frame payload reused ([`SHARED_BYTES`]). Each
//! thread that compressed or inflated once keeps one codec of each kind
//! (a few hundred KiB, whatever the number of connections).
//!
//! Pure (std, bytes, flate2's Rust backend): it must not touch sockets,
//! sessions or the framing itself; [`crate::wsframe`] and
//! [`crate::wsbuf`] call it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use http::header::{HeaderMap, HeaderValue, SEC_WEBSOCKET_EXTENSIONS};

pub use crate::config::PerMessageDeflate;

mod offer;

pub use offer::{negotiate, Negotiated};

/// The tail a sync flush ends with, removed from each compressed message
/// and put back before inflating (RFC 7692 section 7.2.1, 7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Most bytes (messages and their compressed frames) the cache of shared
/// compressed messages keeps; a message over a quarter of it is not
/// cached. 4 MiB.
pub const SHARED_BYTES: usize = 4 << 20;

/// Most messages the cache of shared compressed messages keeps.
const SHARED_ENTRIES: usize = 16;

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InflateError {
    /// The message inflates to more than the limit (close with 1009).
    TooBig,
    /// The data is not valid deflate data (close with 1007).
    Invalid,
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InflateError::TooBig => "inflated message too big",
            InflateError::Invalid => "invalid deflate data",
        })
    }
}

impl std::error::Error for InflateError {}

thread_local! {
    /// The codecs of connections that keep no context, reset before use.
    /// The thread's compressor for messages without context, and its level.
    static COMPRESS: RefCell<Option<(u32, Compress)>> = const { RefCell::new(None) };
    static DECOMPRESS: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// Compresses the concatenation of `parts` with a sync flush and drops
/// the flush's tail; `None` if the codec failed.
fn deflate_parts(c: &mut Compress, parts: &[&[u8]]) -> Option<Vec<u8>> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(total / 2 + 64);
    for part in parts {
        let mut input = *part;
        // Until the part is taken and the codec's pending output is out: a
        // call that only copies pending output does not flush (miniz_oxide),
        // so the flush below must find none.
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(4096.max(input.len() / 2));
            }
            let before = c.total_in();
            c.compress_vec(input, &mut out, FlushCompress::None).ok()?;
            let used = usize::try_from(c.total_in() - before).ok()?;
            input = input.get(used..)?;
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
    }
    sync_flush(c, &mut out)?;
    out.truncate(out.len() - TAIL.len());
    Some(out)
}

/// A sync flush of what `c` holds, appended to `out`, which then ends with
/// the flush's tail. miniz_oxide may return from a flush call with room
/// left and the flush not done (it copied pending output, or stopped at
/// its own buffer's end), and each completed flush call adds a marker: so
/// a flush whose output ends with the tail is probed with one more call,
/// which on a flushed stream adds just an empty stored block (removed).
fn sync_flush(c: &mut Compress, out: &mut Vec<u8>) -> Option<()> {
    /// An empty stored block on a byte boundary: a flush's marker.
    const MARK: [u8; 5] = [0x00, 0x00, 0x00, 0xff, 0xff];
    // A flush takes a few calls; the cap only guards against a codec bug.
    for _ in 0..100_000 {
        if out.capacity() - out.len() < 64 {
            out.reserve(4096);
        }
        c.compress_vec(&[], out, FlushCompress::Sync).ok()?;
        if out.len() == out.capacity() || !out.ends_with(&TAIL) {
            continue;
        }
        let mark = out.len();
        out.reserve(64);
        c.compress_vec(&[], out, FlushCompress::Sync).ok()?;
        if out[mark..] == MARK {
            out.truncate(mark);
            return Some(());
        }
    }
    None
}

/// The concatenation of `parts` (`len` bytes) as deflate stored blocks
/// (RFC 1951 section 3.2.4), ended as a sync flush without its tail: the
/// header byte of the empty stored block the tail completes.
fn stored(parts: &[&[u8]], len: usize) -> Vec<u8> {
    const MAX: usize = 0xFFFF;
    let mut out = Vec::with_capacity(len + 5 * (len / MAX + 1) + 1);
    let mut rest = parts.iter().flat_map(|p| p.chunks(MAX)).peekable();
    let mut block: Vec<u8> = Vec::with_capacity(len.min(MAX));
    while rest.peek().is_some() || !block.is_empty() {
        while block.len() < MAX {
            let Some(chunk) = rest.peek_mut() else { break };
            let take = chunk.len().min(MAX - block.len());
            block.extend_from_slice(&chunk[..take]);
            *chunk = &chunk[take..];
            if chunk.is_empty() {
                rest.next();
            }
        }
        // BFINAL 0, BTYPE 00, padded to the byte; LEN and its complement.
        let n = block.len() as u16;
        out.push(0);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.append(&mut block);
    }
    out.push(0);
    out
}

/// Inflates `data` followed by the flush tail, refusing output over `max`
/// bytes as soon as it is produced. Resets `d` if the data ended its
/// deflate stream (a final block).
fn inflate_into(d: &mut Decompress, data: &[u8], max: usize) -> Result<Vec<u8>, InflateError> {
    let first = data.len().saturating_mul(3).clamp(256, 64 << 10);
    let mut out = Vec::with_capacity(first.min(max.saturating_add(1)));
    for mut input in [data, &TAIL[..]] {
        loop {
            if out.len() == out.capacity() {
                let room = out.len().max(4096).min(max.saturating_add(1) - out.len());
                out.reserve_exact(room);
            }
            let (inb, outb) = (d.total_in(), d.total_out());
            let status = d
                .decompress_vec(input, &mut out, FlushDecompress::None)
                .map_err(|_| InflateError::Invalid)?;
            if out.len() > max {
                return Err(InflateError::TooBig);
            }
            let used = usize::try_from(d.total_in() - inb).map_err(|_| InflateError::Invalid)?;
            input = input.get(used..).ok_or(InflateError::Invalid)?;
            if status == Status::StreamEnd {
                // A final block: the next message starts a new stream.
                d.reset(false);
                return Ok(out);
            }
            let stuck = used == 0 && d.total_out() == outb;
            if (input.is_empty() || stuck) && out.len() < out.capacity() {
                break;
            }
        }
    }
    Ok(out)
}

/// One cached compressed message: the message (kept so its address names
/// it alone), what kind of frame it was, and the compressed payload.
struct Shared {
    key: Bytes,
    tag: u8,
    out: Bytes,
}

/// Compressed messages shared between connections, newest last.
static SHARED: Mutex<VecDeque<Shared>> = Mutex::new(VecDeque::new());

fn shared_lookup(key: &Bytes, tag: u8) -> Option<Bytes> {
    let cache = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .iter()
        .find(|e| e.tag == tag && e.key.as_ptr() == key.as_ptr() && e.key.len() == key.len())
        .map(|e| e.out.clone())
}

fn shared_insert(key: &Bytes, tag: u8, out: &Bytes) {
    let size = key.len() + out.len();
    if size > SHARED_BYTES / 4 {
        return;
    }
    let mut cache = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let mut held: usize = cache.iter().map(|e| e.key.len() + e.out.len()).sum();
    while cache.len() >= SHARED_ENTRIES || held + size > SHARED_BYTES {
        let Some(old) = cache.pop_front() else { break };
        held -= old.key.len() + old.out.len();
    }
    cache.push_back(Shared {
        key: key.clone(),
        tag,
        out: out.clone(),
    });
}

/// Whether the shared cache holds `key` compressed as `tag`.
#[cfg(test)]
pub(crate) fn shared_has(key: &Bytes, tag: u8) -> bool {
    shared_lookup(key, tag).is_some()
}

/// The server's side of the compression of one connection.
pub struct Deflater {
    /// The connection's own compressor, when context takeover is in use.
    own: Option<Box<Compress>>,
    threshold: usize,
    /// Longest message compressed (the client's `server_max_window_bits`
    /// with no context: no reference can reach further back).
    max_len: usize,
    /// The compression level, 0 to 9.
    level: u32,
}

impl fmt::Debug for Deflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflater")
            .field("takeover", &self.own.is_some())
            .field("threshold", &self.threshold)
            .finish()
    }
}

impl Deflater {
    /// The compressed payload of the message that is the concatenation
    /// of `parts`, or `None` to send it uncompressed (below the
    /// threshold). From the threshold on every message is compressed: one
    /// longer than the client's window for the server
    /// (`server_max_window_bits`) goes in stored blocks, which refer to
    /// nothing. `shared`: the message's shared buffer and frame kind, when
    /// other connections may send the same (a broadcast): its compressed
    /// form is then reused. Must be called for every message sent on the
    /// connection, in order.
    pub fn compress(&mut self, parts: &[&[u8]], shared: Option<(&Bytes, u8)>) -> Option<Bytes> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len < self.threshold {
            return None;
        }
        if len > self.max_len {
            return Some(Bytes::from(stored(parts, len)));
        }
        if let Some(c) = self.own.as_deref_mut() {
            // With context: every message compressed changes the state the
            // client inflates with, so it is sent compressed whatever its size.
            return deflate_parts(c, parts).map(Bytes::from);
        }
        if let Some(out) = shared.and_then(|(k, t)| shared_lookup(k, t)) {
            return Some(out);
        }
        let out = COMPRESS.with(|cell| {
            let mut cell = cell.try_borrow_mut().ok()?;
            let level = self.level;
            if cell.as_ref().is_none_or(|(l, _)| *l != level) {
                *cell = Some((level, Compress::new(Compression::new(level), false)));
            }
            let (_, c) = cell.as_mut()?;
            c.reset();
            deflate_parts(c, parts)
        })?;
        let out = Bytes::from(out);
        if let Some((k, t)) = shared {
            shared_insert(k, t, &out);
        }
        Some(out)
    }

    /// Whether it keeps a compressor between messages.
    pub fn keeps_context(&self) -> bool {
        self.own.is_some()
    }

    /// Messages shorter than this go uncompressed.
    pub fn threshold(&self) -> usize {
        self.threshold
    }
}

/// The server's side of the inflation of one connection's messages.
pub struct Inflater {
    /// The connection's own decompressor, when context takeover is in use.
    own: Option<Box<Decompress>>,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("takeover", &self.own.is_some())
            .finish()
    }
}

impl Inflater {
    /// Inflates one compressed message (its frames' payloads joined),
    /// refusing more than `max` bytes of output while inflating. Must be
    /// called for every compressed message received, in order.
    pub fn inflate(&mut self, data: &[u8], max: usize) -> Result<Bytes, InflateError> {
        if let Some(d) = self.own.as_deref_mut() {
            return inflate_into(d, data, max).map(Bytes::from);
        }
        DECOMPRESS.with(|cell| {
            let mut own = None;
            let mut borrowed = cell.try_borrow_mut();
            let d = match borrowed.as_deref_mut() {
                Ok(slot) => slot.get_or_insert_with(|| Decompress::new(false)),
                Err(_) => own.get_or_insert_with(|| Decompress::new(false)),
            };
            d.reset(false);
            inflate_into(d, data, max).map(Bytes::from)
        })
    }

    /// Whether it keeps a decompressor between messages.
    pub fn keeps_context(&self) -> bool {
        self.own.is_some()
    }
}

impl Negotiated {
    /// The compressor for the connection.
    pub fn deflater(&self) -> Deflater {
        Deflater {
            own: (!self.server_no_context_takeover)
                .then(|| Box::new(Compress::new(Compression::new(self.level), false))),
            threshold: self.threshold,
            level: self.level,
            max_len: match self.server_max_window_bits {
                Some(bits) if bits < 15 => 1usize << bits,
                _ => usize::MAX,
            },
        }
    }

    /// The decompressor for the connection.
    pub fn inflater(&self) -> Inflater {
        Inflater {
            own: (!self.client_no_context_takeover).then(|| Box::new(Decompress::new(false))),
        }
    }
}

/// The offers in a request's `Sec-WebSocket-Extensions` headers,
/// negotiated with `config` when it is on: see [`negotiate`].
pub fn negotiate_headers(
    headers: &HeaderMap,
    config: Option<&PerMessageDeflate>,
) -> Option<Negotiated> {
    let config = config?;
    let values = headers
        .get_all(SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|v| v.to_str().ok());
    negotiate(values, config)
}

/// Negotiates with the upgrade request's headers `req` (see
/// [`negotiate_headers`]) and, when an offer is accepted, puts the answer
/// in the 101 response's headers `resp`. The returned parameters go to
/// [`WsBuffers::set_deflate`](crate::wsbuf::WsBuffers::set_deflate).
pub fn answer(
    req: &HeaderMap,
    config: Option<&PerMessageDeflate>,
    resp: &mut HeaderMap,
) -> Option<Negotiated> {
    let agreed = negotiate_headers(req, config)?;
    let value = HeaderValue::from_str(&agreed.response()).ok()?;
    resp.insert(SEC_WEBSOCKET_EXTENSIONS, value);
    Some(agreed)
}

#[cfg(test)]
mod tests;
