//! A small HTTP backend playing the application for the proxy tests: it
//! checks each request's signature itself (HMAC-SHA256 of the timestamp's
//! digits and the body, keyed with the secret), records what it got, how
//! many requests were in flight at once (in all and per socket), and
//! answers with what the test's function says.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use sha2::Sha256;
use tokio::net::TcpListener;

/// What an answer function returns: status and body.
pub type Answer = Pin<Box<dyn Future<Output = (u16, String)> + Send>>;

/// One request the backend got.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The JSON body.
    pub body: Value,
    /// Whether `X-Signature` matched the HMAC the backend computed.
    pub signature_ok: bool,
    /// The `X-Timestamp` value.
    pub timestamp: String,
}

#[derive(Default)]
struct Inner {
    seen: Vec<Seen>,
    in_flight: usize,
    max_in_flight: usize,
    per_socket: HashMap<String, (usize, usize)>,
}

/// A running backend.
#[derive(Clone)]
pub struct Backend {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Whether it serves https (for a certificate of `localhost`).
    https: bool,
    inner: Arc<Mutex<Inner>>,
}

impl Backend {
    /// Serves on a free port; `answer` gets each request's JSON body.
    pub async fn start<F>(secret: &str, answer: F) -> Backend
    where
        F: Fn(Value) -> Answer + Send + Sync + 'static,
    {
        Backend::start_with(secret, None, answer).await
    }

    /// [`Backend::start`], over https with `tls` when given.
    pub async fn start_with<F>(
        secret: &str,
        tls: Option<tokio_rustls::TlsAcceptor>,
        answer: F,
    ) -> Backend
    where
        F: Fn(Value) -> Answer + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inner = Arc::new(Mutex::new(Inner::default()));
        let answer = Arc::new(answer);
        let secret = secret.as_bytes().to_vec();
        let b = Backend {
            port,
            https: tls.is_some(),
            inner: inner.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (inner, answer, secret) = (inner.clone(), answer.clone(), secret.clone());
                let tls = tls.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let (inner, answer, secret) =
                            (inner.clone(), answer.clone(), secret.clone());
                        async move { Ok::<_, Infallible>(handle(req, &inner, &*answer, &secret).await) }
                    });
                    super::pki::serve(stream, tls, svc).await;
                });
            }
        });
        b
    }

    /// The URL of `path` on this backend.
    pub fn url(&self, path: &str) -> String {
        match self.https {
            false => format!("http://127.0.0.1:{}{path}", self.port),
            true => format!("https://localhost:{}{path}", self.port),
        }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().seen.clone()
    }

    /// The most requests in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.inner.lock().unwrap().max_in_flight
    }

    /// The most requests of socket `sid` in flight at once.
    pub fn max_in_flight_of(&self, sid: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .per_socket
            .get(sid)
            .map_or(0, |p| p.1)
    }
}

async fn handle<F>(
    req: http::Request<hyper::body::Incoming>,
    inner: &Mutex<Inner>,
    answer: &F,
    secret: &[u8],
) -> http::Response<Full<Bytes>>
where
    F: Fn(Value) -> Answer,
{
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (ts, sig) = (h("x-timestamp"), h("x-signature"));
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(ts.as_bytes());
    mac.update(&body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let sid = body["socketId"].as_str().unwrap_or("").to_owned();
    {
        let mut i = inner.lock().unwrap();
        i.seen.push(Seen {
            body: body.clone(),
            signature_ok: expected == sig,
            timestamp: ts,
        });
        i.in_flight += 1;
        i.max_in_flight = i.max_in_flight.max(i.in_flight);
        let p = i.per_socket.entry(sid.clone()).or_default();
        p.0 += 1;
        p.1 = p.1.max(p.0);
    }
    let (status, text) = answer(body).await;
    {
        let mut i = inner.lock().unwrap();
        i.in_flight -= 1;
        if let Some(p) = i.per_socket.get_mut(&sid) {
            p.0 -= 1;
        }
    }
    let mut r = http::Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
    r
}

/// An answer now.
pub fn now(status: u16, body: impl Into<String>) -> Answer {
    let body = body.into();
    Box::pin(async move { (status, body) })
}

/// An answer after `ms` milliseconds.
pub fn after(ms: u64, status: u16, body: impl Into<String>) -> Answer {
    let body = body.into();
    Box::pin(async move {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        (status, body)
    })
}

/// A port on 127.0.0.1 where nothing listens.
pub async fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}
