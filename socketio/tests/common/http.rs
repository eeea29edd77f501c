//! A minimal HTTP/1.1 client for the tests that mount Socket.IO in another
//! server (`tests/tower_axum.rs`, and `conformance/tests/mount_axum.rs`
//! through `#[path]`): one request per connection, the body read whole,
//! and the Socket.IO handshake over long-polling.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// An answer, and the client's end of the connection that got it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: hyper::HeaderMap,
    pub body: String,
    pub local: SocketAddr,
}

/// Sends one request on a fresh connection; fails the test after 10 s.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> Reply {
    request_with(addr, method, path, &[("content-type", content_type)], body).await
}

/// [`request`] with these request headers (and no content type unless given).
pub async fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let exchange = async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let local = stream.local_addr().unwrap();
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
        let resp = send.send_request(req).await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            content_type,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            local,
        }
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within 10 s"))
}

pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, "text/plain", "").await
}

pub async fn post(addr: SocketAddr, path: &str, body: &str) -> Reply {
    request(addr, "POST", path, "text/plain;charset=UTF-8", body).await
}

/// The URL of an Engine.IO polling request on `/socket.io/`.
pub fn polling(sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
        None => "/socket.io/?EIO=4&transport=polling".to_owned(),
    }
}

/// The `sid` of a JSON object after a packet-type prefix (`0{..}`, `40{..}`).
pub fn sid_after(prefix: &str, packet: &str) -> String {
    let json = packet
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("expected {prefix}..., got {packet:?}"));
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["sid"].as_str().unwrap().to_owned()
}

/// A Socket.IO client connected to `/` over long-polling.
pub struct Polling {
    pub addr: SocketAddr,
    /// The Engine.IO session id.
    pub eio_sid: String,
    /// The socket id of `/`.
    pub sid: String,
    /// The client's end of the handshake request's connection.
    pub local: SocketAddr,
    /// Packets a poll brought that were not asked for yet.
    queued: VecDeque<String>,
}

impl Polling {
    /// Opens an Engine.IO session over polling and sends CONNECT for `/`.
    pub async fn connect(addr: SocketAddr) -> Polling {
        let open = get(addr, &polling(None)).await;
        assert_eq!(open.status, 200, "handshake: {}", open.body);
        let eio_sid = sid_after("0", &open.body);
        let mut c = Polling {
            addr,
            eio_sid,
            sid: String::new(),
            local: open.local,
            queued: VecDeque::new(),
        };
        c.send("40").await;
        let connected = c.next().await;
        c.sid = sid_after("40", &connected);
        c
    }

    /// POSTs one packet.
    pub async fn send(&self, packet: &str) {
        let r = post(self.addr, &polling(Some(&self.eio_sid)), packet).await;
        assert_eq!((r.status, r.body.as_str()), (200, "ok"), "POST {packet}");
    }

    /// The next packet other than a ping (pings are answered), polling
    /// when none is queued.
    pub async fn next(&mut self) -> String {
        loop {
            while let Some(packet) = self.queued.pop_front() {
                if packet == "2" {
                    self.send("3").await;
                } else {
                    return packet;
                }
            }
            let r = get(self.addr, &polling(Some(&self.eio_sid))).await;
            assert_eq!(r.status, 200, "poll: {}", r.body);
            self.queued
                .extend(r.body.split('\u{1e}').map(str::to_owned));
        }
    }
}
