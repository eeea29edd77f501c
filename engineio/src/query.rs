//! Query strings: the first value of a parameter, percent-decoded
//! (`+` as space), never failing on malformed escapes. Pure.

use std::borrow::Cow;

/// The first value of `name` in a raw query string, percent-decoded.
pub fn param(query: &str, name: &str) -> Option<String> {
    param_cow(query, name).map(Cow::into_owned)
}

/// [`param`] without allocating when neither the keys compared nor the
/// value hold an escape (`%` or `+`), as in every Engine.IO request.
pub(crate) fn param_cow<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
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
}
