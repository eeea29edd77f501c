//! The stateful decoder: text packets, and binary packets reassembled from
//! the binary messages that follow them (JSON parser); or, with the
//! msgpack parser, one packet per binary message.
//!
//! Owns one connection's reassembly state; the caller feeds Engine.IO
//! messages in order (`&mut self`). The attachment count is checked against
//! the cap before anything is allocated for it.

use bytes::Bytes;

use crate::packet::{Packet, ParseError};
use crate::parser::Parser;

/// Default cap on attachments per packet, as in the reference parser.
pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

/// Reassembles packets from Engine.IO messages.
#[derive(Debug)]
pub struct Decoder {
    #[cfg_attr(not(feature = "msgpack"), allow(dead_code))]
    parser: Parser,
    max_attachments: usize,
    /// A binary packet waiting for its attachments; boxed, as every
    /// connection holds a decoder and few are ever halfway through one.
    pending: Option<Box<Packet>>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_MAX_ATTACHMENTS)
    }
}

impl Decoder {
    /// A JSON decoder accepting at most `max_attachments` attachments per
    /// packet.
    pub fn new(max_attachments: usize) -> Self {
        Decoder::with_parser(Parser::Json, max_attachments)
    }

    /// A decoder for `parser` accepting at most `max_attachments`
    /// attachments (msgpack: binary values) per packet.
    pub fn with_parser(parser: Parser, max_attachments: usize) -> Self {
        Decoder {
            parser,
            max_attachments,
            pending: None,
        }
    }

    /// Whether a text EVENT may skip this decoder (`packet::decode_event_raw`):
    /// JSON parser, no attachments awaited. Otherwise the decoder must see
    /// it (and refuses it).
    pub(crate) fn takes_text_events(&self) -> bool {
        #[cfg(feature = "msgpack")]
        if self.parser == Parser::Msgpack {
            return false;
        }
        self.pending.is_none()
    }

    /// Whether attachments are still expected.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Feeds a text message. `Ok(None)`: a binary packet now waits for its attachments.
    pub fn decode_text(&mut self, s: &str) -> Result<Option<Packet>, ParseError> {
        #[cfg(feature = "msgpack")]
        if self.parser == Parser::Msgpack {
            return Err(ParseError::TextMessage);
        }
        if self.pending.is_some() {
            return Err(ParseError::UnexpectedText);
        }
        let mut p = Packet::decode(s, self.max_attachments)?;
        if p.ty.is_binary() && p.expected > 0 {
            p.attachments.reserve_exact(p.expected);
            self.pending = Some(Box::new(p));
            return Ok(None);
        }
        p.check_placeholders()?;
        Ok(Some(p))
    }

    /// Feeds a binary message: one attachment (JSON), or one whole packet
    /// (msgpack).
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, ParseError> {
        #[cfg(feature = "msgpack")]
        if self.parser == Parser::Msgpack {
            return crate::parser::msgpack::decode_packet(&data, self.max_attachments).map(Some);
        }
        let p = self.pending.as_mut().ok_or(ParseError::UnexpectedBinary)?;
        p.attachments.push(data);
        if p.attachments.len() < p.expected {
            return Ok(None);
        }
        let mut p = *self.pending.take().ok_or(ParseError::UnexpectedBinary)?;
        p.expected = 0;
        p.check_placeholders()?;
        Ok(Some(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reassembles_attachments() {
        let mut d = Decoder::default();
        let head = r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert_eq!(d.decode_text(head), Ok(None));
        assert_eq!(d.decode_binary(Bytes::from_static(&[1, 2, 3])), Ok(None));
        let p = d
            .decode_binary(Bytes::from_static(&[4, 5, 6]))
            .unwrap()
            .unwrap();
        assert_eq!(p.attachments.len(), 2);
        assert_eq!(p.data.unwrap()[0], json!("message"));
        assert!(!d.is_pending());
    }

    #[test]
    fn binary_without_pending_packet_is_an_error() {
        let mut d = Decoder::default();
        assert_eq!(
            d.decode_binary(Bytes::new()),
            Err(ParseError::UnexpectedBinary)
        );
    }

    #[test]
    fn text_while_pending_is_an_error() {
        let mut d = Decoder::default();
        d.decode_text(r#"51-["a",{"_placeholder":true,"num":0}]"#)
            .unwrap();
        assert_eq!(d.decode_text("2[\"a\"]"), Err(ParseError::UnexpectedText));
    }

    #[test]
    fn out_of_range_placeholder_is_an_error() {
        let mut d = Decoder::default();
        d.decode_text(r#"51-["a",{"_placeholder":true,"num":1}]"#)
            .unwrap();
        assert_eq!(
            d.decode_binary(Bytes::new()),
            Err(ParseError::InvalidPlaceholder)
        );
        // Placeholders in a non-binary packet refer to nothing.
        assert_eq!(
            d.decode_text(r#"2["a",{"_placeholder":true,"num":0}]"#),
            Err(ParseError::InvalidPlaceholder)
        );
    }

    #[test]
    fn zero_attachments_completes_at_once() {
        let mut d = Decoder::default();
        assert!(d.decode_text(r#"50-["a"]"#).unwrap().is_some());
    }

    #[cfg(feature = "msgpack")]
    #[test]
    fn msgpack_takes_one_binary_message_per_packet_and_no_text() {
        let mut d = Decoder::with_parser(Parser::Msgpack, 1);
        let p = Packet::event(
            "/",
            json!(["a", crate::packet::placeholder(0)]),
            Some(3),
            vec![Bytes::from_static(b"x")],
        );
        let msg = crate::parser::msgpack::encode_packet(&p);
        assert_eq!(d.decode_binary(msg.clone()), Ok(Some(p)));
        assert!(!d.is_pending());
        assert_eq!(d.decode_text("2[\"a\"]"), Err(ParseError::TextMessage));
        assert_eq!(
            d.decode_binary(Bytes::from_static(b"\x83\xa4")),
            Err(ParseError::Malformed)
        );
        let two = Packet::event(
            "/",
            json!([
                "a",
                crate::packet::placeholder(0),
                crate::packet::placeholder(1)
            ]),
            None,
            vec![Bytes::new(), Bytes::new()],
        );
        assert_eq!(
            d.decode_binary(crate::parser::msgpack::encode_packet(&two)),
            Err(ParseError::TooManyAttachments { limit: 1 })
        );
    }

    #[test]
    fn attachment_cap_is_configurable() {
        let mut d = Decoder::new(2);
        assert_eq!(
            d.decode_text(r#"53-["a"]"#),
            Err(ParseError::TooManyAttachments { limit: 2 })
        );
        assert_eq!(d.decode_text(r#"52-["a"]"#), Ok(None));
    }
}
