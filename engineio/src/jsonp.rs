//! JSONP polling (Engine.IO 3 clients' `forceJSONP`, or browsers without
//! cross-origin XHR): the `j` query parameter, the script a GET is
//! answered with, and the form a POST body comes in.
//!
//! Pure: bytes in, bytes out; [`crate::routing`] decides when it applies
//! ([`EngineConfig::allow_jsonp`](crate::EngineConfig::allow_jsonp)).
//! What goes on the wire, as the reference server's JSONP transport:
//! - a GET is answered `___eio[<j>]("<payload>");`, the payload as a
//!   JavaScript string literal (JSON-escaped, and U+2028 / U+2029 escaped
//!   too: JSON allows them raw, older JavaScript does not). Unlike the
//!   reference we also escape `<` (as `\u003c`), so that no `</script>`
//!   appears in the answer whatever the messages hold; the string read by
//!   the client is the same;
//! - a POST body is `application/x-www-form-urlencoded` with the payload in
//!   `d`; the client has escaped newlines as `\n` (and a literal `\n` as
//!   `\\n`), which are turned back.
//!
//! A binary payload (a client without `b64=1`; JSONP clients always send
//! it) has no text form: its bytes go as the characters U+0000..U+00FF.

use std::borrow::Cow;
use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

/// Longest `j` accepted, in digits (it indexes the client's callback array).
const MAX_INDEX_DIGITS: usize = 9;

/// A `j` parameter's value as a callback index: ASCII digits only, at most
/// nine. `None` for anything else (the reference strips what is not a
/// digit; this engine refuses it, since the value goes into JavaScript).
pub fn parse_index(j: &str) -> Option<u32> {
    if j.is_empty() || j.len() > MAX_INDEX_DIGITS || !j.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    j.parse().ok()
}

/// The script answering a JSONP GET: `___eio[index]("<payload>");`.
pub fn wrap(index: u32, payload: &[u8]) -> Bytes {
    let text: Cow<'_, str> = match std::str::from_utf8(payload) {
        Ok(s) => Cow::Borrowed(s),
        // The binary payload form: one character per byte.
        Err(_) => Cow::Owned(payload.iter().map(|&b| char::from(b)).collect()),
    };
    let json = serde_json::Value::String(text.into_owned()).to_string();
    let mut out = BytesMut::with_capacity(json.len() + 24);
    out.put_slice(b"___eio[");
    out.put_slice(index.to_string().as_bytes());
    out.put_slice(b"](");
    for c in json.chars() {
        match c {
            '\u{2028}' => out.put_slice(b"\\u2028"),
            '\u{2029}' => out.put_slice(b"\\u2029"),
            '<' => out.put_slice(b"\\u003c"),
            c => {
                let mut buf = [0; 4];
                out.put_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.put_slice(b");");
    out.freeze()
}

/// Why a JSONP POST body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormError {
    /// No `d` field in the form.
    NoData,
    /// A `%` not followed by two hexadecimal digits.
    BadEscape,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::NoData => f.write_str("jsonp form has no d field"),
            FormError::BadEscape => f.write_str("malformed percent-encoding in jsonp form"),
        }
    }
}

impl std::error::Error for FormError {}

/// The payload of a JSONP POST body: the first `d` field of the
/// form-encoded `body`, percent-decoded (`+` as space), with the client's
/// newline escapes undone. Never longer than `body`, so the body's limit
/// (`max_payload`) bounds it.
pub fn decode_form(body: &[u8]) -> Result<Bytes, FormError> {
    let field = body
        .split(|&b| b == b'&')
        .find_map(|pair| pair.strip_prefix(b"d="))
        .ok_or(FormError::NoData)?;
    let decoded = percent_decode(field)?;
    Ok(unescape_newlines(&decoded))
}

fn percent_decode(s: &[u8]) -> Result<Vec<u8>, FormError> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |k: usize| s.get(k).and_then(|&c| char::from(c).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                    return Err(FormError::BadEscape);
                };
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(out)
}

/// The client sends a newline as `\n` and a literal `\n` as `\\n`: the
/// first becomes a newline, the second `\n`; any other `\` stays.
fn unescape_newlines(s: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match (s[i], s.get(i + 1), s.get(i + 2)) {
            (b'\\', Some(b'\\'), Some(b'n')) => {
                out.put_slice(b"\\n");
                i += 3;
            }
            (b'\\', Some(b'n'), _) => {
                out.put_u8(b'\n');
                i += 2;
            }
            (b, _, _) => {
                out.put_u8(b);
                i += 1;
            }
        }
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The string a JavaScript engine reads from a [`wrap`]ped answer.
    fn unwrap(script: &[u8]) -> (String, String) {
        let s = std::str::from_utf8(script).unwrap();
        let (head, rest) = s.split_once("](").unwrap();
        let lit = rest.strip_suffix(");").unwrap();
        let value: String = serde_json::from_str(lit).unwrap();
        (head.to_string(), value)
    }

    #[test]
    fn index_must_be_digits() {
        assert_eq!(parse_index("0"), Some(0));
        assert_eq!(parse_index("42"), Some(42));
        assert_eq!(parse_index("123456789"), Some(123_456_789));
        for bad in [
            "",
            "-1",
            "1a",
            "1);alert(1",
            " 1",
            "1234567890",
            "+1",
            "0x1",
        ] {
            assert_eq!(parse_index(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn wraps_as_a_callback_call() {
        let out = wrap(3, b"6:4hello");
        assert_eq!(&out[..], b"___eio[3](\"6:4hello\");");
    }

    #[test]
    fn escapes_script_breakers_and_line_separators() {
        let payload = "14:4</script>\u{2028}\u{2029}\"\\\n";
        let out = wrap(0, payload.as_bytes());
        let text = std::str::from_utf8(&out).unwrap();
        assert!(!text.contains('<'), "{text}");
        assert!(
            !text.contains('\u{2028}') && !text.contains('\u{2029}'),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
        assert!(text.contains("\\u2028") && text.contains("\\u2029"));
        let (head, value) = unwrap(&out);
        assert_eq!(head, "___eio[0");
        assert_eq!(value, payload);
    }

    #[test]
    fn binary_payload_goes_byte_per_char() {
        let out = wrap(1, &[1, 3, 255, 4, 0xff, 0x80]);
        let (_, value) = unwrap(&out);
        let bytes: Vec<u32> = value.chars().map(u32::from).collect();
        assert_eq!(bytes, [1, 3, 255, 4, 255, 128]);
    }

    #[test]
    fn decodes_the_d_field() {
        assert_eq!(&decode_form(b"d=6%3A4hello").unwrap()[..], b"6:4hello");
        assert_eq!(&decode_form(b"x=1&d=3:4a+b&d=zz").unwrap()[..], b"3:4a b");
        assert_eq!(&decode_form(b"d=").unwrap()[..], b"");
        // A multi-byte character, percent-encoded.
        assert_eq!(
            &decode_form(b"d=4:4%C3%A9").unwrap()[..],
            "4:4\u{e9}".as_bytes()
        );
    }

    #[test]
    fn undoes_the_newline_escapes() {
        // On the wire: `a\nb` (a newline) and `c\\nd` (a literal \n).
        let form = b"d=a%5Cnb%20c%5C%5Cnd%20e%5Cf";
        assert_eq!(&decode_form(form).unwrap()[..], b"a\nb c\\nd e\\f");
        // Three backslashes then n: the last two are a literal `\n`.
        assert_eq!(&decode_form(b"d=%5C%5C%5Cn").unwrap()[..], b"\\\\n");
        assert_eq!(&decode_form(b"d=%5C").unwrap()[..], b"\\");
    }

    #[test]
    fn refuses_bad_forms() {
        assert_eq!(decode_form(b""), Err(FormError::NoData));
        assert_eq!(decode_form(b"6:4hello"), Err(FormError::NoData));
        assert_eq!(decode_form(b"dd=1&xd=2"), Err(FormError::NoData));
        for bad in [&b"d=%"[..], b"d=%4", b"d=%zz", b"d=ab%G1", b"d=%%41"] {
            assert_eq!(decode_form(bad), Err(FormError::BadEscape), "{bad:?}");
        }
        assert!(FormError::BadEscape.to_string().contains("percent"));
    }

    #[test]
    fn decoded_form_is_never_longer_than_the_body() {
        for body in [&b"d=%41%42%43"[..], b"d=a\\nb", b"d=++++", b"d=\\\\n"] {
            assert!(decode_form(body).unwrap().len() <= body.len());
        }
    }
}
