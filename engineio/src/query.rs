//! Query strings: the first value of a parameter, percent-decoded
//! (`+` as space), never failing on malformed escapes. Pure.

use std::borrow::Cow;

/// The first value of `name` in a raw query string, percent-decoded.
pub fn param(query: &str, name: &str) -> Option<String> {
    param_cow(query, name).map(Cow::into_owned)
}

/// [`param`] without allocating when neither the keys compared nor the
/// value hold an escape (`%` or `+`).
pub(crate) fn param_cow<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    pairs(query).find_map(|(k, v)| (percent_decode(k) == name).then(|| percent_decode(v)))
}

/// The raw `key=value` pairs of a query (`key` alone: an empty value), split
/// on byte positions rather than with `str::split`: this runs on every
/// request.
fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    let bytes = query.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start > bytes.len() {
            return None;
        }
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'&')
            .map_or(bytes.len(), |i| start + i);
        let pair = &query[start..end];
        start = end + 1;
        Some(match pair.bytes().position(|b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, ""),
        })
    })
}

/// The Engine.IO parameters of a request, found in one pass over its query
/// (the first value of each, as [`param`] gives).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct EioParams<'q> {
    pub transport: Option<Cow<'q, str>>,
    pub eio: Option<Cow<'q, str>>,
    pub sid: Option<Cow<'q, str>>,
}

pub(crate) fn eio_params(query: &str) -> EioParams<'_> {
    let mut p = EioParams::default();
    for (k, v) in pairs(query) {
        let slot = match &*percent_decode(k) {
            "transport" => &mut p.transport,
            "EIO" => &mut p.eio,
            "sid" => &mut p.sid,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(percent_decode(v));
            if p.transport.is_some() && p.eio.is_some() && p.sid.is_some() {
                break;
            }
        }
    }
    p
}

fn percent_decode(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    if !b.iter().any(|&c| c == b'%' || c == b'+') {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        let q = "EIO=4&transport=polling&sid=abc%2Dd&x=a+b&flag";
        assert_eq!(param(q, "EIO").as_deref(), Some("4"));
        assert_eq!(param(q, "sid").as_deref(), Some("abc-d"));
        assert_eq!(param(q, "x").as_deref(), Some("a b"));
        assert_eq!(param(q, "flag").as_deref(), Some(""));
        assert_eq!(param(q, "nope"), None);
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        // Keys are decoded before comparing; plain ones are borrowed.
        assert_eq!(param("a%3Db=1&sid=x", "a=b").as_deref(), Some("1"));
        assert!(matches!(param_cow(q, "EIO"), Some(Cow::Borrowed("4"))));
        assert!(matches!(param_cow(q, "sid"), Some(Cow::Owned(_))));
    }

    #[test]
    fn engine_params_in_one_pass_agree_with_param() {
        for q in [
            "EIO=4&transport=polling&sid=abc%2Dd&x=a+b&flag",
            "sid=1&sid=2&transport=websocket&EIO=3&EIO=4",
            "%45IO=4&transport=poll%69ng",
            "",
            "t=1&&=&EIO",
            "&&sid=&",
            "transport=websocket&",
            "sid=%F0%9F%98%80&EIO=4&transport=polling&ignored=1",
        ] {
            let p = eio_params(q);
            assert_eq!(
                p.transport.as_deref(),
                param(q, "transport").as_deref(),
                "{q}"
            );
            assert_eq!(p.eio.as_deref(), param(q, "EIO").as_deref(), "{q}");
            assert_eq!(p.sid.as_deref(), param(q, "sid").as_deref(), "{q}");
        }
    }
}
