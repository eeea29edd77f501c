//! `Connection::handle_text_with` / `handle_binary_with` without any
//! runtime driver: what a driver on another runtime calls to give each
//! message its request's headers, on virtual time.
mod support;

use std::sync::Arc;

use engineio::bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use socketio::{Data, SocketIoConfig};
use support::Pair;

fn headers(id: &'static str) -> Option<Arc<HeaderMap>> {
    let mut h = HeaderMap::new();
    h.insert("x-request-id", HeaderValue::from_static(id));
    Some(Arc::new(h))
}

#[test]
fn each_message_answers_with_its_own_request_id() {
    let pair = Pair::new(SocketIoConfig::default());
    pair.io.of("/").on_connection(|s| async move {
        s.on("id", |_, data: Data, ack| async move {
            let id = match data.request_headers() {
                Some(h) => h["x-request-id"].to_str().unwrap().to_owned(),
                None => "none".to_owned(),
            };
            if let Some(ack) = ack {
                let _ = ack.send(id);
            }
        });
    });
    let (c, _) = pair.connect();
    c.conn.handle_text_with(r#"21["id"]"#, headers("a"));
    c.conn.handle_text_with(r#"22["id"]"#, headers("b"));
    c.conn.handle_text(r#"23["id"]"#);
    pair.settle();
    assert_eq!(c.drain(), [r#"31["a"]"#, r#"32["b"]"#, r#"33["none"]"#]);
    // A binary event: the headers of its first part, not of its attachment.
    c.conn.handle_text_with(
        r#"51-4["id",{"_placeholder":true,"num":0}]"#,
        headers("first"),
    );
    c.conn
        .handle_binary_with(Bytes::from_static(b"\x01"), headers("attachment"));
    pair.settle();
    assert_eq!(c.drain(), [r#"34["first"]"#]);
}
