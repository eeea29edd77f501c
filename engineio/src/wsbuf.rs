//! [`WsBuffers`]: one server WebSocket without its stream: the bytes read
//! and not yet decoded, the frames queued and not yet written, and what the
//! client's frames mean for the connection (pings answered, a close frame
//! echoed, a protocol error closed with its code, RFC 6455 5.5 and 7.4).
//!
//! Sans-IO, so that every runtime driver frames WebSockets the same way: a
//! driver reads into [`WsBuffers::read_buf`] (or hands over bytes with
//! [`WsBuffers::unread`]), takes [`WsInput`]s from [`WsBuffers::poll_input`], and
//! writes [`WsBuffers::pending`] out. Idle connections hold no buffer: the
//! read buffer is released once nothing partial is in it, the write buffer
//! once flushed. With permessage-deflate negotiated ([`WsBuffers::set_deflate`])
//! messages from the threshold on go out compressed and the client's
//! compressed messages are inflated (see [`crate::deflate`]). It must not
//! touch streams, sessions or sockets.

use std::cell::Cell;

use bytes::{Buf, Bytes, BytesMut};

use crate::deflate::{Deflater, Negotiated};
use crate::eio3::{self, Protocol, Wire};
use crate::packet::Packet;
use crate::str::Str;
use crate::wsframe::{
    encode_close, encode_header, encode_header_with, FrameKind, WsDecoder, WsMessage,
};

/// Largest read into a partly received frame.
const FRAME_READ: usize = 64 * 1024;

/// Unflushed bytes above which no more messages should be queued.
pub const WRITE_HIGH: usize = 64 * 1024;

/// Unflushed bytes above which pings go unanswered (RFC 6455 5.5.3 lets a
/// server answer only the latest ping).
const PONG_LIMIT: usize = 4 * WRITE_HIGH;

/// First allocation of the write buffer: room for a burst of small frames
/// queued in one wake, instead of growing it frame by frame.
const WRITE_INIT: usize = 1024;

/// Largest flushed write buffer kept for reuse (see [`SPARE`]).
const SPARE_MAX: usize = 4 * WRITE_INIT;

thread_local! {
    /// One flushed write buffer, of [`WRITE_INIT`] to [`SPARE_MAX`] bytes,
    /// for the next WebSocket on this thread that queues a frame. A
    /// connection answering one message per wake would otherwise allocate
    /// and free its buffer every time; idle connections still hold none.
    static SPARE: Cell<BytesMut> = Cell::new(BytesMut::new());
}

/// What the client's bytes gave.
#[derive(Debug)]
#[non_exhaustive]
pub enum WsInput {
    /// A text message.
    Text(Str),
    /// A binary message.
    Binary(Bytes),
    /// A control frame, handled here (a pong may now be queued).
    Skip,
    /// The client closed, the connection ended or broke the protocol
    /// (`error`); nothing more will be read.
    Closed {
        /// The connection failed or broke the protocol.
        error: bool,
    },
}

impl WsInput {
    /// What this input is to an Engine.IO 4 session: a text message is
    /// decoded as a packet, a binary one is a binary packet.
    pub fn decode(self) -> WsPacket {
        self.decode_as(Protocol::V4)
    }

    /// What this input is to a session speaking `protocol` (in Engine.IO 3
    /// a binary frame starts with the type byte, see [`crate::eio3`]).
    pub fn decode_as(self, protocol: Protocol) -> WsPacket {
        let decoded = match (self, protocol) {
            (WsInput::Text(t), Protocol::V3) => eio3::decode_text(t),
            (WsInput::Text(t), _) => Packet::decode_str(t),
            (WsInput::Binary(b), Protocol::V3) => eio3::decode_binary(b),
            (WsInput::Binary(b), _) => Ok(Packet::decode_binary(b)),
            (WsInput::Skip, _) => return WsPacket::Skip,
            (WsInput::Closed { error }, _) => return WsPacket::Closed { error },
        };
        match decoded {
            Ok(p) => WsPacket::Packet(p),
            Err(_) => WsPacket::ParseError,
        }
    }
}

/// A WebSocket input as an Engine.IO session takes it.
#[derive(Debug)]
#[non_exhaustive]
pub enum WsPacket {
    /// An Engine.IO packet.
    Packet(Packet),
    /// A text message that is no Engine.IO packet.
    ParseError,
    /// The connection ended (see [`WsInput::Closed`]).
    Closed {
        /// The connection failed or broke the protocol.
        error: bool,
    },
    /// A control frame, handled.
    Skip,
}

/// The buffers and read state of one server WebSocket.
#[derive(Debug)]
pub struct WsBuffers {
    decoder: WsDecoder,
    /// Read and not yet decoded; empty (no allocation) when idle.
    rbuf: BytesMut,
    /// Frames not yet written; empty (no allocation) when flushed.
    wbuf: BytesMut,
    read_done: bool,
    close_queued: bool,
    /// permessage-deflate's compressor, when negotiated.
    deflater: Option<Deflater>,
}

impl WsBuffers {
    /// Buffers for a connection whose messages may be up to `max_message`
    /// bytes (larger ones close it with 1009).
    pub fn new(max_message: usize) -> Self {
        WsBuffers {
            decoder: WsDecoder::new(max_message),
            rbuf: BytesMut::new(),
            wbuf: BytesMut::new(),
            read_done: false,
            close_queued: false,
            deflater: None,
        }
    }

    /// Turns permessage-deflate on with the parameters agreed in the
    /// opening handshake (before any frame is read or queued).
    pub fn set_deflate(&mut self, agreed: &Negotiated) {
        self.decoder.set_inflater(agreed.inflater());
        self.deflater = Some(agreed.deflater());
    }

    /// Whether permessage-deflate is on.
    pub fn deflate(&self) -> bool {
        self.deflater.is_some()
    }

    /// Appends bytes read from the stream (or read ahead by whoever read
    /// the HTTP upgrade request).
    pub fn unread(&mut self, bytes: &[u8]) {
        if self.rbuf.is_empty() {
            // The usual read of an idle connection: one exact allocation,
            // without growing an empty buffer.
            self.rbuf = BytesMut::from(bytes);
        } else {
            self.rbuf.extend_from_slice(bytes);
        }
    }

    /// Whether nothing more will be read.
    pub fn read_done(&self) -> bool {
        self.read_done
    }

    /// Whether a frame is partly received (the next read should go
    /// straight into [`WsBuffers::read_buf`]).
    pub fn partial(&self) -> bool {
        !self.rbuf.is_empty()
    }

    /// The next input from what was read; `None` when more bytes are needed.
    pub fn poll_input(&mut self) -> Option<WsInput> {
        if self.read_done {
            return Some(WsInput::Closed { error: false });
        }
        match self.decoder.decode(&mut self.rbuf) {
            Ok(Some(msg)) => {
                self.release_rbuf();
                Some(self.on_message(msg))
            }
            Ok(None) => {
                self.release_rbuf();
                None
            }
            Err(e) => {
                self.end_reads();
                self.queue_close(Some(e.close_code()));
                Some(WsInput::Closed { error: true })
            }
        }
    }

    /// Room for the next read into a partly received frame, as much as the
    /// frame still needs (bounded, so a peer announcing a large frame and
    /// sending slowly does not get the whole size reserved); call
    /// [`WsBuffers::filled`] with what the read gave.
    pub fn read_buf(&mut self) -> &mut [u8] {
        let want = self.decoder.missing(&self.rbuf).clamp(1, FRAME_READ);
        let start = self.rbuf.len();
        self.rbuf.resize(start + want, 0);
        &mut self.rbuf[start..]
    }

    /// After a read into [`WsBuffers::read_buf`]: `n` bytes of it are data.
    pub fn filled(&mut self, room: usize, n: usize) {
        let len = self.rbuf.len();
        self.rbuf.truncate(len - room + n.min(room));
    }

    /// The stream ended: a close, an error if it ended mid-frame.
    pub fn handle_eof(&mut self) -> WsInput {
        let error = !self.rbuf.is_empty() || self.decoder.in_message();
        self.end_reads();
        WsInput::Closed { error }
    }

    /// Reading failed.
    pub fn handle_read_error(&mut self) -> WsInput {
        self.end_reads();
        WsInput::Closed { error: true }
    }

    fn end_reads(&mut self) {
        self.read_done = true;
        self.rbuf = BytesMut::new();
    }

    /// Drops the read buffer's allocation once nothing partial is in it.
    fn release_rbuf(&mut self) {
        if self.rbuf.is_empty() && self.rbuf.capacity() > 0 {
            self.rbuf = BytesMut::new();
        }
    }

    fn on_message(&mut self, msg: WsMessage) -> WsInput {
        match msg {
            WsMessage::Text(s) => WsInput::Text(s),
            WsMessage::Binary(b) => WsInput::Binary(b),
            WsMessage::Ping(data) => {
                if !self.close_queued && self.wbuf.len() <= PONG_LIMIT {
                    encode_header(&mut self.wbuf, FrameKind::Pong, data.len());
                    self.wbuf.extend_from_slice(&data);
                }
                WsInput::Skip
            }
            WsMessage::Close(code) => {
                // Echo the status back (RFC 6455 5.5.1); then the driver
                // flushes and drops the connection.
                self.read_done = true;
                self.queue_close(code);
                WsInput::Closed { error: false }
            }
            WsMessage::Pong => WsInput::Skip,
        }
    }

    /// Queues `packet` as one frame (binary as base64 text when `base64`).
    /// With permessage-deflate on, it goes compressed from the threshold
    /// on unless `compress` is false (the sender's `compress(false)`): then
    /// uncompressed whatever its size, and without the shared compressed
    /// copy of a broadcast. Dropped once a close frame is queued.
    pub fn queue_packet(&mut self, packet: &Packet, wire: Wire, compress: bool) {
        let v3 = wire.protocol == Protocol::V3;
        // Engine.IO 3 frames binary with a type byte of its own: those go
        // uncompressed (RFC 7692 lets any message skip compression); every
        // other packet is encoded alike in both revisions.
        let deflatable = compress && !(v3 && matches!(packet, Packet::Binary(_)));
        if self.close_queued || (deflatable && self.queue_compressed(packet, wire.base64)) {
            return;
        }
        match packet {
            Packet::Binary(b) if !wire.base64 => {
                let len = b.len() + usize::from(v3);
                self.reserve_frame(10 + len);
                encode_header(&mut self.wbuf, FrameKind::Binary, len);
                if v3 {
                    self.wbuf.extend_from_slice(&[4]);
                }
                self.wbuf.extend_from_slice(b);
            }
            Packet::Binary(_) if v3 => {
                let text = eio3::encode_text(packet);
                self.reserve_frame(10 + text.len());
                encode_header(&mut self.wbuf, FrameKind::Text, text.len());
                self.wbuf.extend_from_slice(text.as_bytes());
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
    /// Engine.IO packet type). Dropped once a close frame is queued.
    pub fn queue_frame(&mut self, kind: FrameKind, data: &[u8]) {
        if self.close_queued {
            return;
        }
        if let Some(z) = self
            .deflater
            .as_mut()
            .and_then(|d| d.compress(&[data], None))
        {
            self.put_compressed(kind, &z);
            return;
        }
        self.reserve_frame(10 + data.len());
        encode_header(&mut self.wbuf, kind, data.len());
        self.wbuf.extend_from_slice(data);
    }

    /// Queues `packet` compressed when permessage-deflate is on and the
    /// deflater takes it; whether it did. A message or binary packet
    /// names its shared buffer, so a broadcast is compressed once.
    fn queue_compressed(&mut self, packet: &Packet, base64: bool) -> bool {
        let Some(d) = self.deflater.as_mut() else {
            return false;
        };
        let (kind, z) = match packet {
            Packet::Binary(b) if !base64 => (FrameKind::Binary, d.compress(&[b], Some((b, 0)))),
            Packet::Message(s) => {
                let key = Some((s.as_bytes(), b'4'));
                (FrameKind::Text, d.compress(&[b"4", s.as_bytes()], key))
            }
            other => {
                if other.text_len() < d.threshold() {
                    return false;
                }
                let mut text = BytesMut::with_capacity(other.text_len());
                other.encode_text_into(&mut text);
                (FrameKind::Text, d.compress(&[&text], None))
            }
        };
        let Some(z) = z else { return false };
        self.put_compressed(kind, &z);
        true
    }

    fn put_compressed(&mut self, kind: FrameKind, z: &[u8]) {
        self.reserve_frame(10 + z.len());
        encode_header_with(&mut self.wbuf, kind, z.len(), true);
        self.wbuf.extend_from_slice(z);
    }

    fn reserve_frame(&mut self, n: usize) {
        if self.wbuf.capacity() == 0 {
            // Empty, so nothing is lost by taking the spare instead.
            self.wbuf = SPARE.with(Cell::take);
            self.wbuf.reserve(n.max(WRITE_INIT));
        } else {
            self.wbuf.reserve(n);
        }
    }

    /// Queues `bytes` as they are, ahead of the frames queued after them:
    /// the HTTP answer that opens the WebSocket, so that it and the first
    /// frames (Engine.IO's open packet) leave in one write. Dropped once a
    /// close frame is queued.
    pub fn queue_raw(&mut self, bytes: &[u8]) {
        if self.close_queued {
            return;
        }
        self.reserve_frame(bytes.len());
        self.wbuf.extend_from_slice(bytes);
    }

    /// Queues a close frame with `code`, once; nothing is queued after it.
    pub fn queue_close(&mut self, code: Option<u16>) {
        if !self.close_queued {
            self.close_queued = true;
            encode_close(&mut self.wbuf, code);
        }
    }

    /// The bytes queued and not yet written.
    pub fn pending(&self) -> &[u8] {
        &self.wbuf
    }

    /// `n` bytes of [`WsBuffers::pending`] were written; the buffer is
    /// released once all of it is.
    pub fn written(&mut self, n: usize) {
        self.wbuf.advance(n.min(self.wbuf.len()));
        if self.wbuf.is_empty() {
            recycle(std::mem::take(&mut self.wbuf));
        }
    }

    /// Whether another message may be queued: less than [`WRITE_HIGH`]
    /// bytes wait to be written.
    pub fn writable(&self) -> bool {
        self.wbuf.len() < WRITE_HIGH
    }

    #[cfg(test)]
    pub(crate) fn capacities(&self) -> (usize, usize) {
        (self.rbuf.capacity(), self.wbuf.capacity())
    }

    #[cfg(test)]
    pub(crate) fn lens(&self) -> (usize, usize) {
        (self.rbuf.len(), self.wbuf.len())
    }
}

/// Keeps a flushed write buffer as this thread's spare if its allocation
/// is [`WRITE_INIT`] to [`SPARE_MAX`] bytes (drops it otherwise). Neither
/// check allocates: the first fails unless the allocation is larger than
/// `SPARE_MAX`, the second moves the empty window back to its start.
fn recycle(mut buf: BytesMut) {
    if !buf.try_reclaim(SPARE_MAX + 1) && buf.try_reclaim(WRITE_INIT) {
        SPARE.with(|spare| spare.set(buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame (final, mask 0).
    fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x80 | opcode, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn messages_pings_and_a_close_echo() {
        let mut b = WsBuffers::new(1000);
        let mut bytes = frame(1, b"4hi");
        bytes.extend(frame(9, b"p"));
        bytes.extend(frame(2, &[1, 2]));
        bytes.extend(frame(8, &1000u16.to_be_bytes()));
        b.unread(&bytes);
        assert!(
            matches!(b.poll_input().unwrap().decode(), WsPacket::Packet(Packet::Message(s)) if s == "hi")
        );
        assert!(matches!(b.poll_input(), Some(WsInput::Skip)));
        assert_eq!(b.pending(), [0x8A, 1, b'p'], "the ping's pong");
        assert!(matches!(b.poll_input(), Some(WsInput::Binary(d)) if d[..] == [1, 2]));
        assert!(matches!(
            b.poll_input(),
            Some(WsInput::Closed { error: false })
        ));
        assert!(b.read_done());
        assert_eq!(&b.pending()[3..], [0x88, 2, 0x03, 0xE8], "the close echoed");
        // Nothing is queued after a close frame.
        b.queue_packet(&Packet::Noop, Wire::default(), true);
        assert_eq!(b.pending().len(), 7);
        b.written(7);
        assert_eq!(b.capacities(), (0, 0), "no buffer held once done");
    }

    #[test]
    fn partial_frames_wait_and_an_eof_mid_frame_is_an_error() {
        let mut b = WsBuffers::new(1000);
        let f = frame(1, b"4abc");
        b.unread(&f[..4]);
        assert!(b.poll_input().is_none());
        assert!(b.partial());
        let room = b.read_buf();
        let len = room.len();
        room[..2].copy_from_slice(&f[4..6]);
        b.filled(len, 2);
        assert_eq!(b.lens().0, 6);
        assert!(b.poll_input().is_none());
        assert!(matches!(b.handle_eof(), WsInput::Closed { error: true }));
        assert!(matches!(
            b.poll_input(),
            Some(WsInput::Closed { error: false })
        ));
    }

    #[test]
    fn a_protocol_error_closes_with_its_code() {
        let mut b = WsBuffers::new(1000);
        // Unmasked: a protocol error (1002).
        b.unread(&[0x81, 0x01, b'x']);
        assert!(matches!(
            b.poll_input(),
            Some(WsInput::Closed { error: true })
        ));
        assert_eq!(b.pending(), [0x88, 2, 0x03, 0xEA]);
        assert!(matches!(
            WsInput::Text(Str::from("x".to_string())).decode(),
            WsPacket::ParseError
        ));
    }

    #[test]
    fn large_messages_go_compressed_once_negotiated() {
        let config = crate::config::PerMessageDeflate::default();
        let agreed = crate::deflate::negotiate(["permessage-deflate"], &config).unwrap();
        let mut b = WsBuffers::new(1 << 20);
        b.set_deflate(&agreed);
        assert!(b.deflate());
        let big = "x".repeat(5000);
        b.queue_packet(
            &Packet::Message(Str::from(big.clone())),
            Wire::default(),
            true,
        );
        let wire = b.pending().to_vec();
        assert_eq!(wire[0], 0xC1, "final text frame with RSV1");
        let len = usize::from(wire[1]);
        assert!(len < 126, "compressed to {len} bytes");
        let mut inflate = agreed.inflater();
        let text = inflate.inflate(&wire[2..], 1 << 20).unwrap();
        assert_eq!(&text[..], format!("4{big}").as_bytes());
        b.written(wire.len());
        // Below the threshold: uncompressed.
        b.queue_packet(
            &Packet::Message(Str::from("small".to_string())),
            Wire::default(),
            true,
        );
        assert_eq!(b.pending()[0], 0x81);
        b.written(b.pending().len());
        // Binary, raw and as base64 text.
        let bin = Bytes::from(vec![7u8; 3000]);
        b.queue_packet(&Packet::Binary(bin.clone()), Wire::default(), true);
        assert_eq!(b.pending()[0], 0xC2);
        b.written(b.pending().len());
        b.queue_packet(
            &Packet::Binary(bin),
            Wire {
                base64: true,
                ..Wire::default()
            },
            true,
        );
        assert_eq!(b.pending()[0], 0xC1);
        // Memory stays bounded: flushed, the connection holds no buffer,
        // and by default no codec state either.
        b.written(b.pending().len());
        assert_eq!(b.capacities(), (0, 0));
        assert!(!b.deflater.as_ref().unwrap().keeps_context());
    }

    /// The capacity of this thread's spare write buffer (taken out).
    fn take_spare() -> usize {
        SPARE.with(Cell::take).capacity()
    }

    #[test]
    fn a_flushed_write_buffer_is_the_next_ones_spare_and_a_large_one_is_not() {
        let mut a = WsBuffers::new(100_000);
        a.queue_packet(&Packet::Noop, Wire::default(), true);
        let at = a.pending().as_ptr();
        // Written in two parts: the window moved, the allocation is whole.
        a.written(1);
        a.written(a.pending().len());
        assert_eq!(a.capacities(), (0, 0), "an idle connection holds none");
        let mut b = WsBuffers::new(100_000);
        b.queue_packet(&Packet::Message(Str::from("hi")), Wire::default(), true);
        assert_eq!(b.pending(), [0x81, 3, b'4', b'h', b'i']);
        assert_eq!(b.pending().as_ptr(), at, "the spare, from its start");
        assert_eq!(take_spare(), 0, "taken, not shared");
        b.written(5);
        assert!((WRITE_INIT..=SPARE_MAX).contains(&take_spare()));

        let big = Str::from("x".repeat(SPARE_MAX));
        b.queue_packet(&Packet::Message(big), Wire::default(), true);
        b.written(b.pending().len());
        assert_eq!(take_spare(), 0, "a large buffer is freed");
        // A pong alone grows a small buffer: not kept either.
        b.on_message(WsMessage::Ping(Bytes::from_static(b"p")));
        b.written(3);
        assert_eq!(take_spare(), 0);
    }

    /// `compress(false)`: uncompressed above the threshold too, text and
    /// binary, and the next compressible message is compressed again.
    #[test]
    fn packets_sent_without_compression_skip_the_deflater() {
        let config = crate::config::PerMessageDeflate::default();
        let agreed = crate::deflate::negotiate(["permessage-deflate"], &config).unwrap();
        let mut b = WsBuffers::new(1 << 20);
        b.set_deflate(&agreed);
        let big = Str::from("y".repeat(5000));
        b.queue_packet(&Packet::Message(big.clone()), Wire::default(), false);
        let wire = b.pending().to_vec();
        assert_eq!(&wire[..2], &[0x81, 126], "final text frame, no RSV1");
        assert_eq!(usize::from(u16::from_be_bytes([wire[2], wire[3]])), 5001);
        b.written(wire.len());
        let bin = Bytes::from(vec![3u8; 3000]);
        b.queue_packet(&Packet::Binary(bin), Wire::default(), false);
        assert_eq!(b.pending()[0], 0x82);
        b.written(b.pending().len());
        b.queue_packet(&Packet::Message(big), Wire::default(), true);
        assert_eq!(b.pending()[0], 0xC1);
    }
}
