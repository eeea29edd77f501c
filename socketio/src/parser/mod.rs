//! [`Parser`]: how a server's packets go on the wire. The JSON parser
//! (the reference's default `socket.io-parser`) lives in
//! [`crate::packet`] and [`crate::decoder`]; the msgpack one
//! (`socket.io-msgpack-parser` 3.x, feature `msgpack`) in `msgpack`.
//!
//! Pure codecs: no I/O. A server uses one parser for all its clients, as
//! the reference does (its `parser` option), so clients must be built with
//! the matching parser.

#[cfg(feature = "msgpack")]
pub mod msgpack;

/// The wire format of a server's packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Parser {
    /// The default parser (`socket.io-parser`): a text message per packet,
    /// then each binary attachment as a binary message of its own.
    #[default]
    Json,
    /// `socket.io-msgpack-parser` 3.x: each packet is one binary message
    /// holding the msgpack map `{type, data, nsp, id}`, binary inline as
    /// msgpack `bin`. Text messages are refused (a parse error).
    #[cfg(feature = "msgpack")]
    Msgpack,
}

impl Parser {
    /// Its name in configuration files: `json` or `msgpack`.
    pub fn as_str(self) -> &'static str {
        match self {
            Parser::Json => "json",
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => "msgpack",
        }
    }

    /// The parser named `name` (`json`, or `msgpack` with the feature).
    pub fn from_name(name: &str) -> Option<Parser> {
        match name {
            "json" => Some(Parser::Json),
            #[cfg(feature = "msgpack")]
            "msgpack" => Some(Parser::Msgpack),
            _ => None,
        }
    }
}

impl std::fmt::Display for Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(Parser::default(), Parser::Json);
        assert_eq!(Parser::from_name("json"), Some(Parser::Json));
        assert_eq!(Parser::from_name("JSON"), None);
        #[cfg(feature = "msgpack")]
        assert_eq!(Parser::from_name("msgpack"), Some(Parser::Msgpack));
        assert_eq!(Parser::Json.to_string(), "json");
    }
}
