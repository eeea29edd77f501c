//! Sockets as `fetch_sockets` answers carry them between servers: `{id,
//! handshake, rooms, data}`, the handshake with the reference's fields
//! (`headers`, `time`, `address`, `xdomain`, `secure`, `issued`, `url`,
//! `query`, `auth`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Map, Value};
use socketio::{ConnectionInfo, Handshake, SocketInfo};

/// A socket of this node as a peer's `fetchSockets` expects it.
pub fn socket_value(info: &SocketInfo) -> Value {
    let h = &info.handshake;
    let mut headers = Map::new();
    for (name, value) in h.headers.iter() {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(prev)) => {
                prev.push_str(", ");
                prev.push_str(&v);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(v));
            }
        }
    }
    let issued = h
        .issued
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let query = h.url.split_once('?').map_or("", |(_, q)| q);
    let query: Map<String, Value> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, _) = p.split_once('=').unwrap_or((p, ""));
            let v = engineio::query::param(query, k)?;
            Some((k.to_owned(), Value::String(v)))
        })
        .collect();
    let mut out = json!({
        "id": info.public_id,
        "handshake": {
            "headers": headers,
            "time": http_date(h.issued),
            "address": h.address.map(|a| a.ip().to_string()).unwrap_or_default(),
            "xdomain": h.headers.contains_key("origin"),
            "secure": false,
            "issued": issued,
            "url": h.url,
            "query": query,
            "auth": h.auth,
        },
        "rooms": info.rooms,
    });
    if !info.data.is_null() {
        out["data"] = info.data.clone();
    }
    out
}

/// A socket a peer described, or `None` when the description is unusable.
pub fn remote_socket(v: &Value, nsp: &str) -> Option<SocketInfo> {
    let public_id = v.get("id")?.as_str()?;
    let id = socketio::parse_socket_id(public_id)?;
    let rooms = crate::wire::strings(v.get("rooms")).ok()?;
    let h = v.get("handshake").cloned().unwrap_or(Value::Null);
    let mut headers = HeaderMap::new();
    if let Some(Value::Object(m)) = h.get("headers") {
        for (k, val) in m {
            let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(k.as_str()),
                val.as_str().map(HeaderValue::from_str),
            ) else {
                continue;
            };
            headers.append(name, value);
        }
    }
    let address = h
        .get("address")
        .and_then(Value::as_str)
        .map(|a| a.trim_start_matches("::ffff:"))
        .and_then(|a| a.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 0));
    let issued = h
        .get("issued")
        .and_then(Value::as_u64)
        .map_or(UNIX_EPOCH, |ms| UNIX_EPOCH + Duration::from_millis(ms));
    let info = ConnectionInfo {
        url: h
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        headers: Arc::new(headers),
        address,
        issued,
        sid: None,
    };
    let auth = h.get("auth").cloned().unwrap_or_else(|| json!({}));
    let mut s = SocketInfo::new(id, nsp, rooms, Arc::new(Handshake::new(&info, auth)));
    s.data = v.get("data").cloned().unwrap_or(Value::Null);
    s.public_id = public_id.to_owned();
    // Which server: the caller knows it when the protocol says.
    s.server = Some(String::new());
    Some(s)
}

/// `t` as an HTTP date (`Tue, 01 Dec 2026 20:00:00 GMT`).
fn http_date(t: SystemTime) -> String {
    // IMF-fixdate is ASCII.
    String::from_utf8_lossy(&engineio::http1::http_date(t)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_round_trips() {
        let t = UNIX_EPOCH + Duration::from_secs(1_796_155_200); // 2026-12-01 20:00:00
        assert_eq!(http_date(t), "Tue, 01 Dec 2026 20:00:00 GMT");
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        let node = json!({
            "id": "abcdefghijklmnopqrst",
            "handshake": {"headers": {"host": "x"}, "address": "::ffff:127.0.0.1", "issued": 5, "url": "/socket.io/?EIO=4&a=b", "auth": {"t": 1}},
            "rooms": ["abcdefghijklmnopqrst", "r"],
            "data": {"user": "u"}
        });
        let s = remote_socket(&node, "/").unwrap();
        assert_eq!(
            s.rooms,
            vec!["abcdefghijklmnopqrst".to_string(), "r".into()]
        );
        assert_eq!(s.handshake.auth, json!({"t": 1}));
        assert_eq!(s.handshake.address.unwrap().ip().to_string(), "127.0.0.1");
        assert_eq!(s.handshake.query("a").as_deref(), Some("b"));
        assert_eq!(s.data, json!({"user": "u"}));
        let back = socket_value(&s);
        assert_eq!(back["handshake"]["query"], json!({"EIO": "4", "a": "b"}));
        assert_eq!(back["handshake"]["headers"]["host"], "x");
        assert_eq!(back["handshake"]["issued"], 5);
        assert!(remote_socket(&json!({"id": "short"}), "/").is_none());
    }
}
