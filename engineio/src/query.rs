//! Query strings: the first value of a parameter, percent-decoded
//! (`+` as space), never failing on malformed escapes. Pure: it must not
//! depend on any other module of the crate.

use std::borrow::Cow;

/// The first value of `name` in a raw query string, percent-decoded.
pub fn param(query: &str, name: &str) -> Option<String> {
    param_cow(query, name).map(Cow::into_owned)
}

/// Whether a request's query asks for binary messages as base64 text
/// (`b64=1` or `b64=true`), as clients that cannot take binary do.
pub fn binary_as_base64(query: &str) -> bool {
    param_cow(query, "b64").is_some_and(|v| v == "1" || v == "true")
}

/// Every `key=value` pair of a raw query string, in order, both sides
/// percent-decoded (`key` alone gives an empty value).
pub fn pairs_decoded(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    pairs(query)
        .filter(|p| !p.key.is_empty())
        .map(|p| (p.key().into_owned(), p.value().into_owned()))
}

/// [`param`] without allocating when neither the keys compared nor the
/// value hold an escape (`%` or `+`).
pub(crate) fn param_cow<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    pairs(query).find_map(|p| (p.key() == name).then(|| p.value()))
}

/// One raw `key=value` pair of a query (`key` alone: an empty value), with
/// whether each side holds an escape, noted while splitting.
struct Pair<'q> {
    key: &'q str,
    value: &'q str,
    /// Escapes in the key (`[0]`) and in the value (`[1]`).
    escaped: [bool; 2],
}

impl<'q> Pair<'q> {
    fn key(&self) -> Cow<'q, str> {
        decode_if(self.key, self.escaped[0])
    }

    fn value(&self) -> Cow<'q, str> {
        decode_if(self.value, self.escaped[1])
    }
}

fn decode_if(s: &str, escaped: bool) -> Cow<'_, str> {
    if escaped {
        percent_decode(s)
    } else {
        Cow::Borrowed(s)
    }
}

/// Bytes the splitter stops at: `&` (1), `=` (2), `%` and `+` (3).
const SPECIAL: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'&' as usize] = 1;
    t[b'=' as usize] = 2;
    t[b'%' as usize] = 3;
    t[b'+' as usize] = 3;
    t
};

/// The pairs of a query, in one pass over its bytes: this runs on every
/// request.
fn pairs(query: &str) -> impl Iterator<Item = Pair<'_>> {
    let bytes = query.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start > bytes.len() {
            return None;
        }
        let mut eq = None;
        let mut escaped = [false; 2];
        let mut i = start;
        while i < bytes.len() {
            match SPECIAL[bytes[i] as usize] {
                0 => {}
                1 => break,
                2 if eq.is_none() => eq = Some(i),
                2 => {}
                _ => escaped[eq.is_some() as usize] = true,
            }
            i += 1;
        }
        // Every split point is an ASCII byte, so a char boundary.
        let pair = match eq {
            Some(e) => Pair {
                key: &query[start..e],
                value: &query[e + 1..i],
                escaped,
            },
            None => Pair {
                key: &query[start..i],
                value: "",
                escaped,
            },
        };
        start = i + 1;
        Some(pair)
    })
}

/// The Engine.IO parameters of a request, found in one pass over its query
/// (the first value of each, as [`param`] gives).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct EioParams<'q> {
    pub transport: Option<Cow<'q, str>>,
    pub eio: Option<Cow<'q, str>>,
    pub sid: Option<Cow<'q, str>>,
    /// One of the three came more than once: the request is ambiguous (the
    /// engine refuses it rather than pick a value).
    pub repeated: bool,
}

pub(crate) fn eio_params(query: &str) -> EioParams<'_> {
    let mut p = EioParams::default();
    for pair in pairs(query) {
        let slot = match &*pair.key() {
            "transport" => &mut p.transport,
            "EIO" => &mut p.eio,
            "sid" => &mut p.sid,
            _ => continue,
        };
        // Every pair is read: a repeat may come after all three. The first
        // value is kept, as `param` gives it.
        match slot {
            Some(_) => p.repeated = true,
            None => *slot = Some(pair.value()),
        }
    }
    p
}

/// The value of one hex digit.
fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Percent-decodes `s` (`+` as space); malformed escapes are kept as they are.
fn percent_decode(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                // Two hex digits exactly: `from_str_radix` would also take a sign.
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
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
    fn every_pair_decoded() {
        let all: Vec<(String, String)> =
            pairs_decoded("EIO=4&a%20b=c+d&flag&&=x&bad=%zz").collect();
        let want = [("EIO", "4"), ("a b", "c d"), ("flag", ""), ("bad", "%zz")];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(all, want);
        assert_eq!(pairs_decoded("").count(), 0);
    }

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
        // Regression: a sign is not a hex digit (this decoded to 0x01).
        assert_eq!(percent_decode("%+1"), "% 1");
        assert_eq!(percent_decode("%-1"), "%-1");
        assert_eq!(percent_decode("%4a%4A"), "JJ");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        // Keys are decoded before comparing; plain ones are borrowed.
        assert_eq!(param("a%3Db=1&sid=x", "a=b").as_deref(), Some("1"));
        assert!(matches!(param_cow(q, "EIO"), Some(Cow::Borrowed("4"))));
        assert!(matches!(param_cow(q, "sid"), Some(Cow::Owned(_))));
        // An `=` or escape in the value is the value's; `=` alone is a pair.
        assert_eq!(param("k=a=b%21&z", "k").as_deref(), Some("a=b!"));
        assert_eq!(param("a+b=1", "a b").as_deref(), Some("1"));
        assert_eq!(param("a=1&=2", "").as_deref(), Some("2"));
        assert!(matches!(
            param_cow("k=%2&x=1", "x"),
            Some(Cow::Borrowed("1"))
        ));
    }

    /// The splitter agrees with a plain `str::split` reading of the same
    /// rules, over every query of up to five bytes from an alphabet of the
    /// bytes it treats specially.
    #[test]
    fn splitter_agrees_with_str_split() {
        fn reference(q: &str, name: &str) -> Option<String> {
            q.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (percent_decode(k) == name).then(|| percent_decode(v).into_owned())
            })
        }
        let alphabet = ["a", "&", "=", "%", "+", "2", "1"];
        let mut queries = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = queries
                .iter()
                .filter(|q| q.len() == queries.last().map_or(0, String::len))
                .flat_map(|q| alphabet.iter().map(move |c| format!("{q}{c}")))
                .collect();
            queries.extend(longer);
        }
        for q in &queries {
            for name in ["a", "", " ", "!", "a a", "a=", "a!"] {
                assert_eq!(param(q, name), reference(q, name), "{q:?} {name:?}");
            }
        }
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

    #[test]
    fn repeated_engine_params_are_flagged() {
        for q in [
            "sid=1&sid=2&transport=websocket&EIO=4",
            "EIO=4&transport=polling&EIO=4",
            "EIO=4&transport=polling&transport=websocket",
            "EIO=4&transport=polling&sid=a&x=1&%73id=a",
            "EIO=4&transport=polling&sid=a&sid",
        ] {
            assert!(eio_params(q).repeated, "{q}");
        }
        for q in [
            "EIO=4&transport=polling&sid=a&x=1&x=2",
            "EIO=4&transport=polling&sid=a&eio=3&Transport=x",
            "",
        ] {
            assert!(!eio_params(q).repeated, "{q}");
        }
    }
}
