//! How the Admin UI wants things: sockets as the reference's `serialize`
//! writes them, and dates as JavaScript's `JSON.stringify(new Date())`
//! writes them (ISO 8601, UTC, milliseconds).
//!
//! Pure data; the caller gives the time.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::adapter::SocketInfo;
use crate::conn::Conn;
use crate::handshake::Handshake;

/// Where a socket runs, when it is on this node: what the UI shows of its
/// connection beside the handshake.
pub(crate) struct Local<'a> {
    /// Its connection.
    pub(crate) conn: &'a Arc<dyn Conn>,
}

/// A socket as the UI lists it: id, clientId, transport, nsp, data,
/// handshake (address, headers, query, issued, secure, time, url,
/// xdomain; never `auth`) and rooms.
pub(crate) fn socket(info: &SocketInfo, local: Option<Local<'_>>) -> Value {
    let (client_id, transport) = match &local {
        Some(l) => (Some(client_id(l.conn)), l.conn.transport()),
        None => (None, None),
    };
    let mut data = info.data.clone();
    // A remote node that runs the reference keeps its UI facts here.
    let admin = data.as_object_mut().and_then(|o| o.remove("_admin"));
    let from_data = |key: &str| admin.as_ref().and_then(|a| a.get(key)).cloned();
    let data = match data {
        Value::Null => json!({}),
        v => v,
    };
    json!({
        "id": info.public_id,
        "clientId": client_id.map(Value::from).or_else(|| from_data("clientId")),
        "transport": transport.map(Value::from).or_else(|| from_data("transport")),
        "nsp": info.nsp,
        "data": data,
        "handshake": handshake(&info.handshake),
        "rooms": info.rooms,
    })
}

/// The handshake part of [`socket`].
fn handshake(h: &Handshake) -> Value {
    let mut headers = Map::new();
    for name in h.headers.keys() {
        let values: Vec<&str> = h
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        headers.insert(name.as_str().to_owned(), Value::from(values.join(", ")));
    }
    let header = |name: &str| {
        h.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let address = header("cf-connecting-ip")
        .or_else(|| header("x-forwarded-for"))
        .or_else(|| h.address.map(|a| a.ip().to_string()));
    let query_str = h.url.split_once('?').map_or("", |(_, q)| q);
    let query: Map<String, Value> = engineio::query::pairs_decoded(query_str)
        .map(|(k, v)| (k, Value::from(v)))
        .collect();
    let issued = millis(h.issued);
    json!({
        "address": address,
        "headers": headers,
        "query": query,
        "issued": issued,
        "secure": header("x-forwarded-proto").is_some_and(|p| p == "https"),
        "time": date(h.issued),
        "url": h.url,
        "xdomain": h.headers.contains_key(http::header::ORIGIN),
    })
}

/// A short id of the connection a local socket rides on, the same for
/// every socket of that connection (the UI groups sockets by it). Derived
/// from the connection's address, not its Engine.IO session id, which
/// would let whoever reads the UI take the session over.
pub(crate) fn client_id(conn: &Arc<dyn Conn>) -> String {
    let addr = Arc::as_ptr(conn) as *const () as usize as u64;
    // A fixed mix (splitmix64's), so that addresses do not show.
    let mut z = addr.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    format!("{:012x}", z & 0xffff_ffff_ffff)
}

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().try_into().unwrap_or(u64::MAX))
}

/// `t` as JavaScript's `Date.prototype.toISOString` writes it (the UI's
/// dates): `2024-01-31T12:00:00.000Z`, UTC, milliseconds; 1970 for
/// anything before it.
pub fn date(t: SystemTime) -> String {
    let ms = millis(t);
    let (secs, ms) = (ms / 1000, ms % 1000);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::handshake::ConnectionInfo;

    #[test]
    fn dates_as_javascript_writes_them() {
        let at = |ms: u64| date(UNIX_EPOCH + Duration::from_millis(ms));
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(at(1_796_182_446_007), "2026-12-02T03:34:06.007Z");
        assert_eq!(at(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn a_socket_as_the_reference_serializes_it() {
        let mut headers = http::HeaderMap::new();
        headers.insert("origin", "http://ui.test".parse().unwrap());
        headers.insert("x-forwarded-for", "10.0.0.7".parse().unwrap());
        let info = ConnectionInfo {
            url: "/socket.io/?EIO=4&transport=polling&room=a%20b".into(),
            headers: Arc::new(headers),
            address: Some("127.0.0.1:4000".parse().unwrap()),
            issued: UNIX_EPOCH + Duration::from_millis(1_000),
            sid: None,
        };
        let hs = Arc::new(Handshake::new(&info, json!({"token": "hidden"})));
        let id = engineio::Sid::random();
        let mut s = SocketInfo::new(id, "/chat", vec![id.to_string(), "lobby".into()], hs);
        s.data = json!({"user": "ann", "_admin": {"clientId": "abc", "transport": "websocket"}});
        let v = socket(&s, None);
        assert_eq!(v["id"], id.as_str());
        assert_eq!(v["nsp"], "/chat");
        assert_eq!(v["clientId"], "abc");
        assert_eq!(v["transport"], "websocket");
        assert_eq!(v["data"], json!({"user": "ann"}));
        assert_eq!(v["rooms"], json!([id.as_str(), "lobby"]));
        let h = &v["handshake"];
        assert_eq!(h["address"], "10.0.0.7");
        assert_eq!(h["headers"]["origin"], "http://ui.test");
        assert_eq!(h["query"]["room"], "a b");
        assert_eq!(h["query"]["EIO"], "4");
        assert_eq!(h["issued"], 1_000);
        assert_eq!(h["time"], "1970-01-01T00:00:01.000Z");
        assert_eq!(h["xdomain"], true);
        assert_eq!(h["secure"], false);
        assert!(h.get("auth").is_none());
        assert!(v.to_string().find("hidden").is_none());
    }
}
