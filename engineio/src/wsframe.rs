//! WebSocket framing for the server side of a connection (RFC 6455
//! section 5): [`WsDecoder`] turns the client's masked frames into
//! [`WsMessage`]s, [`encode_header`] writes the header of an unmasked server
//! frame. Pure: no I/O, no buffers kept between messages beyond a
//! fragmented message being assembled.
//!
//! The decoder enforces what a server must (section 5.1-5.5): client frames
//! are masked, reserved bits are clear (but RSV1 on the first frame of a
//! data message once permessage-deflate is negotiated, RFC 7692 section
//! 6: the message is then inflated, capped at the limit), control
//! frames are final and at most 125 bytes, fragments follow a started
//! message, close codes and text are valid (section 7.4, 8.1; text as it
//! arrives, see [`WsDecoder`]). A frame or a
//! message larger than the limit is refused as soon as its header is read,
//! so a peer cannot make the server buffer more than the limit.
//!
//! Public so fuzz targets reach the same decoder as the transport. It must
//! not touch sockets or streams: the transport's `WsConn` does the I/O.

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::deflate::{InflateError, Inflater};
use crate::str::Str;

mod utf8;

use utf8::Utf8Stream;

/// Frame opcodes (section 5.2).
mod op {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xA;
}

/// A complete message or control frame from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsMessage {
    /// A text message, checked to be UTF-8.
    Text(Str),
    /// A binary message.
    Binary(Bytes),
    /// A ping; the server answers with a pong carrying the same bytes.
    Ping(Bytes),
    /// A pong (unsolicited pongs are allowed and ignored).
    Pong,
    /// A close frame with its status code, if it carried one.
    Close(Option<u16>),
}

/// Why the client's bytes are not a valid WebSocket stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsError {
    /// The framing rules were broken (unmasked frame, reserved bits or
    /// opcode, bad control frame, stray or missing continuation, bad close
    /// frame).
    Protocol,
    /// A frame or message is larger than the limit.
    TooBig,
    /// A text message is not UTF-8.
    InvalidUtf8,
    /// A compressed message is not valid deflate data.
    BadCompression,
}

impl WsError {
    /// The close code to send for this error (section 7.4.1).
    pub fn close_code(self) -> u16 {
        match self {
            WsError::Protocol => 1002,
            WsError::TooBig => 1009,
            WsError::InvalidUtf8 | WsError::BadCompression => 1007,
        }
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WsError::Protocol => "websocket protocol error",
            WsError::TooBig => "websocket message too big",
            WsError::InvalidUtf8 => "websocket text is not utf-8",
            WsError::BadCompression => "websocket message is not valid deflate data",
        })
    }
}

impl std::error::Error for WsError {}

/// A parsed frame header.
struct Header {
    fin: bool,
    /// RSV1: the message is compressed (RFC 7692 section 6).
    rsv1: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Header length in bytes.
    len: usize,
    /// Payload length in bytes.
    payload: u64,
}

/// Parses the header at the start of `buf`; `Ok(None)` when incomplete.
fn parse_header(buf: &[u8]) -> Result<Option<Header>, WsError> {
    let [b0, b1, rest @ ..] = buf else {
        return Ok(None);
    };
    // RSV2 and RSV3 belong to no extension the server negotiates; RSV1 is
    // checked by the decoder, which knows whether permessage-deflate is on.
    if b0 & 0x30 != 0 {
        return Err(WsError::Protocol);
    }
    // Section 5.2: a reserved opcode fails the connection; refused on the
    // header, before any of the frame's payload is buffered.
    let opcode = b0 & 0x0F;
    if !matches!(
        opcode,
        op::CONTINUATION | op::TEXT | op::BINARY | op::CLOSE | op::PING | op::PONG
    ) {
        return Err(WsError::Protocol);
    }
    if b1 & 0x80 == 0 {
        // Section 5.1: a server must close on an unmasked client frame.
        return Err(WsError::Protocol);
    }
    let (payload, ext) = match b1 & 0x7F {
        126 => match rest {
            [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 2),
            _ => return Ok(None),
        },
        127 => match rest.get(..8) {
            Some(b) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                let n = u64::from_be_bytes(a);
                if n >> 63 != 0 {
                    return Err(WsError::Protocol);
                }
                (n, 8)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 0),
    };
    let Some(m) = rest.get(ext..ext + 4) else {
        return Ok(None);
    };
    let mut mask = [0u8; 4];
    mask.copy_from_slice(m);
    Ok(Some(Header {
        fin: b0 & 0x80 != 0,
        rsv1: b0 & 0x40 != 0,
        opcode,
        mask,
        len: 2 + ext + 4,
        payload,
    }))
}

/// XORs `data` with the masking key (section 5.3); `data` starts `offset`
/// bytes into the payload.
fn unmask(data: &mut [u8], mut mask: [u8; 4], offset: usize) {
    mask.rotate_left(offset % 4);
    let word = u32::from_ne_bytes(mask);
    let mut chunks = data.chunks_exact_mut(4);
    for c in &mut chunks {
        let v = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i];
    }
}

/// Whether a received close code may appear on the wire (section 7.4):
/// the codes of section 7.4.1 an endpoint may send, those IANA registered
/// since (1012-1014, as the reference server's `ws` accepts), and the
/// ranges for libraries and applications.
fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Decodes a client's frames into messages, reassembling fragments.
///
/// Text is checked as it arrives, fragment by fragment and within a frame
/// still being received, so invalid UTF-8 fails the connection as soon as
/// the offending byte is read (section 8.1).
#[derive(Debug)]
pub struct WsDecoder {
    max_message: usize,
    /// A fragmented message being assembled: whether it is text, and its data.
    partial: Option<(bool, BytesMut)>,
    /// Payload bytes of the text frame at the front of the buffer, still
    /// incomplete, already unmasked in place and checked.
    checked: usize,
    /// The text being received (this frame, and the fragments before it).
    utf8: Utf8Stream,
    /// permessage-deflate, when negotiated.
    inflater: Option<Inflater>,
    /// The message being received is compressed (its first frame had RSV1).
    compressed: bool,
}

impl WsDecoder {
    /// A decoder refusing frames and messages over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        WsDecoder {
            max_message,
            partial: None,
            checked: 0,
            utf8: Utf8Stream::default(),
            inflater: None,
            compressed: false,
        }
    }

    /// Accepts compressed messages (RSV1), inflated by `inflater`: the
    /// connection negotiated permessage-deflate.
    pub fn set_inflater(&mut self, inflater: Inflater) {
        self.inflater = Some(inflater);
    }

    /// Whether a fragmented message is being assembled.
    pub fn in_message(&self) -> bool {
        self.partial.is_some()
    }

    /// How many more bytes `buf` needs before the frame it starts with is
    /// complete (at least 1 when [`WsDecoder::decode`] returned `Ok(None)`).
    pub fn missing(&self, buf: &[u8]) -> usize {
        match parse_header(buf) {
            Ok(Some(h)) => {
                let total = h.len as u64 + h.payload;
                usize::try_from(total.saturating_sub(buf.len() as u64))
                    .unwrap_or(usize::MAX)
                    .max(1)
            }
            _ => 14usize.saturating_sub(buf.len()).max(1),
        }
    }

    /// Whether a data frame with `opcode` carries uncompressed text of a
    /// message started correctly (a misplaced frame is refused by
    /// [`Self::frame`]); compressed text is checked once inflated.
    fn carries_text(&self, opcode: u8, rsv1: bool) -> bool {
        match (opcode, &self.partial) {
            (op::TEXT, None) => !rsv1,
            (op::CONTINUATION, Some((text, _))) => *text && !self.compressed,
            _ => false,
        }
    }

    /// RSV1 is allowed only on the first frame of a data message, once
    /// permessage-deflate is negotiated (RFC 7692 section 6.1).
    fn check_rsv1(&self, h: &Header) -> Result<(), WsError> {
        let first_data = matches!(h.opcode, op::TEXT | op::BINARY);
        if h.rsv1 && !(first_data && self.inflater.is_some()) {
            return Err(WsError::Protocol);
        }
        Ok(())
    }

    /// Takes the next message from the front of `buf`, consuming the frames
    /// it used. `Ok(None)`: `buf` holds no complete message yet; what it
    /// holds stays for the next call, which must get `buf` back as it was
    /// left, with more bytes appended (part of an incomplete text frame is
    /// unmasked in place to check its UTF-8 early). After an error the
    /// stream is unusable: close it with [`WsError::close_code`].
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<WsMessage>, WsError> {
        loop {
            let Some(h) = parse_header(buf)? else {
                return Ok(None);
            };
            let control = h.opcode & 0x8 != 0;
            if control && (!h.fin || h.payload > 125) {
                return Err(WsError::Protocol);
            }
            self.check_rsv1(&h)?;
            let so_far = match (&self.partial, control) {
                (Some((_, data)), false) => data.len() as u64,
                _ => 0,
            };
            if so_far.saturating_add(h.payload) > self.max_message as u64 {
                return Err(WsError::TooBig);
            }
            // Fits in usize: bounded by max_message above.
            let n = h.payload as usize;
            let text = self.carries_text(h.opcode, h.rsv1);
            let here = (buf.len() - h.len).min(n);
            if text && here > self.checked {
                let new = &mut buf[h.len + self.checked..h.len + here];
                unmask(new, h.mask, self.checked);
                // A message that is one frame, here in full, is validated
                // once, as it becomes a `Str` (`message`); the stream check
                // is for text still arriving or fragmented.
                let whole = here == n && self.checked == 0 && h.fin && h.opcode == op::TEXT;
                if !whole {
                    self.utf8.feed(new).map_err(|_| WsError::InvalidUtf8)?;
                }
                self.checked = here;
            }
            if here < n {
                return Ok(None);
            }
            buf.advance(h.len);
            // A frame that is all the buffer holds (the usual read of one
            // message) takes the buffer itself: splitting would allocate a
            // shared header to let both halves live on.
            let mut data = match buf.len() == n {
                true => std::mem::take(buf),
                false => buf.split_to(n),
            };
            if !text {
                unmask(&mut data, h.mask, 0);
            }
            self.checked = 0;
            if let Some(msg) = self.frame(&h, data)? {
                return Ok(Some(msg));
            }
        }
    }

    /// Handles one unmasked frame; `None` when it only continued a message.
    fn frame(&mut self, h: &Header, data: BytesMut) -> Result<Option<WsMessage>, WsError> {
        let (opcode, fin) = (h.opcode, h.fin);
        match opcode {
            op::CONTINUATION => {
                let Some((_, buf)) = self.partial.as_mut() else {
                    return Err(WsError::Protocol);
                };
                buf.extend_from_slice(&data);
                if !fin {
                    return Ok(None);
                }
                let (text, buf) = self.partial.take().ok_or(WsError::Protocol)?;
                self.message(text, buf.freeze()).map(Some)
            }
            op::TEXT | op::BINARY => {
                if self.partial.is_some() {
                    return Err(WsError::Protocol);
                }
                let text = opcode == op::TEXT;
                self.compressed = h.rsv1;
                if fin {
                    return self.message(text, data.freeze()).map(Some);
                }
                self.partial = Some((text, data));
                Ok(None)
            }
            op::CLOSE => close(&data).map(Some),
            op::PING => Ok(Some(WsMessage::Ping(data.freeze()))),
            op::PONG => Ok(Some(WsMessage::Pong)),
            _ => Err(WsError::Protocol),
        }
    }

    /// A complete message; text has been fed to the validator, which must
    /// end on a sequence boundary.
    fn message(&mut self, text: bool, mut data: Bytes) -> Result<WsMessage, WsError> {
        if std::mem::take(&mut self.compressed) {
            let inflater = self.inflater.as_mut().ok_or(WsError::Protocol)?;
            data = inflater
                .inflate(&data, self.max_message)
                .map_err(|e| match e {
                    InflateError::TooBig => WsError::TooBig,
                    _ => WsError::BadCompression,
                })?;
        } else if text {
            self.utf8.finish().map_err(|_| WsError::InvalidUtf8)?;
        }
        if !text {
            return Ok(WsMessage::Binary(data));
        }
        Str::from_utf8(data)
            .map(WsMessage::Text)
            .map_err(|_| WsError::InvalidUtf8)
    }
}

/// A close frame's payload (section 5.5.1): nothing, or a valid code and a
/// UTF-8 reason (invalid UTF-8 there is 1007, as in a text message).
fn close(data: &[u8]) -> Result<WsMessage, WsError> {
    match data {
        [] => Ok(WsMessage::Close(None)),
        [_] => Err(WsError::Protocol),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            if !valid_close_code(code) {
                return Err(WsError::Protocol);
            }
            std::str::from_utf8(reason).map_err(|_| WsError::InvalidUtf8)?;
            Ok(WsMessage::Close(Some(code)))
        }
    }
}

/// Kinds of frame the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameKind {
    /// A text frame.
    Text,
    /// A binary frame.
    Binary,
    /// A close frame.
    Close,
    /// A pong frame.
    Pong,
}

/// Appends the header of a final, unmasked server frame carrying
/// `payload_len` bytes; the caller appends the payload itself.
pub fn encode_header(out: &mut BytesMut, kind: FrameKind, payload_len: usize) {
    encode_header_with(out, kind, payload_len, false);
}

/// [`encode_header`], with RSV1 set when `compressed` (a data frame whose
/// payload is permessage-deflate data, RFC 7692 section 6).
pub fn encode_header_with(
    out: &mut BytesMut,
    kind: FrameKind,
    payload_len: usize,
    compressed: bool,
) {
    let opcode = match kind {
        FrameKind::Text => op::TEXT,
        FrameKind::Binary => op::BINARY,
        FrameKind::Close => op::CLOSE,
        FrameKind::Pong => op::PONG,
    };
    let rsv1 = if compressed { 0x40 } else { 0 };
    out.put_u8(0x80 | rsv1 | opcode);
    if payload_len < 126 {
        out.put_u8(payload_len as u8);
    } else if let Ok(n) = u16::try_from(payload_len) {
        out.put_u8(126);
        out.put_u16(n);
    } else {
        out.put_u8(127);
        out.put_u64(payload_len as u64);
    }
}

/// Appends a whole close frame, with `code` when given (no reason text).
pub fn encode_close(out: &mut BytesMut, code: Option<u16>) {
    match code {
        Some(code) => {
            encode_header(out, FrameKind::Close, 2);
            out.put_u16(code);
        }
        None => encode_header(out, FrameKind::Close, 0),
    }
}

#[cfg(test)]
mod tests;
