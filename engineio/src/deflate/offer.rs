//! The client's permessage-deflate offers (RFC 7692 section 5, 7.1) and
//! the server's answer: the first offer whose parameters are all known,
//! given once and valid is accepted; an offer breaking any rule is
//! declined (section 5.1), and the next one considered.
//!
//! Pure text handling; it must not touch the codec.

use crate::config::PerMessageDeflate;

/// The parameters agreed with the client, and the answer that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// The server starts every message with a fresh context.
    pub server_no_context_takeover: bool,
    /// The client starts every message with a fresh context, so the
    /// server keeps no inflate state.
    pub client_no_context_takeover: bool,
    /// The client's limit on the server's window, echoed; messages
    /// longer than the window are then sent uncompressed (the server
    /// compresses without context under it).
    pub server_max_window_bits: Option<u8>,
    /// The window asked of the client (its offer allowed it, and
    /// [`PerMessageDeflate::client_max_window_bits`] asked for one).
    pub client_max_window_bits: Option<u8>,
    /// Messages shorter than this are sent uncompressed.
    pub threshold: usize,
    /// The compression level ([`PerMessageDeflate::level`]).
    pub level: u32,
}

impl Negotiated {
    /// The `Sec-WebSocket-Extensions` value of the 101 answer.
    pub fn response(&self) -> String {
        let mut s = String::from("permessage-deflate");
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = self.server_max_window_bits {
            s.push_str(&format!("; server_max_window_bits={bits}"));
        }
        if let Some(bits) = self.client_max_window_bits {
            s.push_str(&format!("; client_max_window_bits={bits}"));
        }
        s
    }
}

/// Splits `s` at each `sep` outside a quoted string; `None` when a quote
/// is left open.
fn split_outside_quotes(s: &str, sep: char) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return None;
    }
    parts.push(&s[start..]);
    Some(parts)
}

/// A token (RFC 7230 section 3.2.6): visible ASCII but separators.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// A parameter's value: a token, or a quoted string holding one
/// (section 7.1: the unquoted text must be a token).
fn value(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let text = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next()? } else { c });
            }
            out
        }
        None => raw.to_owned(),
    };
    is_token(&text).then_some(text)
}

/// A window size: 8 to 15, decimal, no leading zero (section 7.1.2).
fn window_bits(v: &str) -> Option<u8> {
    if v.starts_with('0') || v.len() > 2 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok().filter(|b| (8..=15).contains(b))
}

/// What one offer asks for.
#[derive(Default)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `client_max_window_bits` was offered (the server may then limit the
    /// client's window), with the client's own limit if it named one.
    client_max_window_bits: Option<Option<u8>>,
}

/// Sets a flag given once.
fn once(flag: &mut bool) -> Option<()> {
    (!std::mem::replace(flag, true)).then_some(())
}

/// Parses one offer's parameters; `None` declines it.
fn parse_offer(params: &[&str]) -> Option<Offer> {
    let mut o = Offer::default();
    let mut server_bits_seen = false;
    // `client_max_window_bits` lets the server limit the client's window;
    // it does only when its config asks (it inflates any window).
    let mut client_bits_seen = false;
    for p in params {
        let (name, v) = match p.split_once('=') {
            Some((n, v)) => (n.trim(), Some(value(v)?)),
            None => (p.trim(), None),
        };
        match (name.to_ascii_lowercase().as_str(), v) {
            ("server_no_context_takeover", None) => once(&mut o.server_no_context_takeover)?,
            ("client_no_context_takeover", None) => once(&mut o.client_no_context_takeover)?,
            ("server_max_window_bits", Some(v)) => {
                once(&mut server_bits_seen)?;
                o.server_max_window_bits = Some(window_bits(&v)?);
            }
            ("client_max_window_bits", v) => {
                once(&mut client_bits_seen)?;
                o.client_max_window_bits = Some(match v {
                    Some(v) => Some(window_bits(&v)?),
                    None => None,
                });
            }
            _ => return None,
        }
    }
    Some(o)
}

/// Picks the first acceptable permessage-deflate offer among the
/// `Sec-WebSocket-Extensions` header values `headers` (each a list of
/// offers). Without context takeover allowed by `config`, the answer
/// asks for no context on both sides (section 7.1.1: the server may add
/// both parameters to any accepted offer); a client's
/// `server_max_window_bits` below 15 also drops the server's context.
///
/// A window below 15 asked of the server is honoured although the
/// compressor (miniz_oxide) always uses 32 KiB: with no context kept, a
/// message no longer than the window cannot refer further back, and a
/// longer one goes in stored blocks (see [`Deflater::compress`]), so no
/// such offer needs declining (section 7.1.2.1). When the offer allows
/// it, the client is asked for [`PerMessageDeflate::client_max_window_bits`]
/// (never more than it named itself).
///
/// [`Deflater::compress`]: crate::deflate::Deflater::compress
pub fn negotiate<'a>(
    headers: impl IntoIterator<Item = &'a str>,
    config: &PerMessageDeflate,
) -> Option<Negotiated> {
    for header in headers {
        let Some(offers) = split_outside_quotes(header, ',') else {
            continue;
        };
        for offer in offers {
            let Some(parts) = split_outside_quotes(offer, ';') else {
                continue;
            };
            let Some((name, params)) = parts.split_first() else {
                continue;
            };
            if !name.trim().eq_ignore_ascii_case("permessage-deflate") {
                continue;
            }
            let Some(o) = parse_offer(params) else {
                continue;
            };
            let narrow = o.server_max_window_bits.is_some_and(|b| b < 15);
            return Some(Negotiated {
                server_no_context_takeover: o.server_no_context_takeover
                    || !config.context_takeover
                    || narrow,
                client_no_context_takeover: o.client_no_context_takeover
                    || !config.context_takeover,
                server_max_window_bits: o.server_max_window_bits,
                client_max_window_bits: o.client_max_window_bits.and_then(|own| {
                    let want = config.client_max_window_bits?;
                    Some(own.map_or(want, |b| b.min(want)))
                }),
                threshold: config.threshold,
                level: config.level.min(9),
            });
        }
    }
    None
}
