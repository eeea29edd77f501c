//! The HTTP(S) client of the proxies: one signed JSON POST to the
//! application's backend, bounded by a deadline and an answer size.
//!
//! A request carries `X-Timestamp` (Unix milliseconds) and `X-Signature`:
//! the lowercase hex HMAC-SHA256, keyed with the rule's `secret`, of the
//! timestamp's digits followed by the body's bytes
//! ([`crate::signing::hmac_hex`]). Owns the wire only; what the answer
//! means is the caller's.

use std::fmt;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::{Map, Value};
use tokio_rustls::rustls;

use crate::signing::hmac_hex;

/// Header of the request time, Unix milliseconds.
pub const HEADER_TIMESTAMP: &str = "x-timestamp";
/// Header of the signature.
pub const HEADER_SIGNATURE: &str = "x-signature";

/// Why a backend call gave no answer to use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError {
    /// The deadline passed (waiting for a turn, connecting or reading).
    Timeout,
    /// No connection, or it broke.
    Unreachable(String),
    /// A non-2xx status.
    Status(u16),
    /// The answer is not a JSON object, or longer than allowed.
    Invalid(String),
}

impl CallError {
    /// The `result` label of the metrics.
    pub fn label(&self) -> &'static str {
        match self {
            CallError::Timeout => "timeout",
            CallError::Unreachable(_) => "unreachable",
            CallError::Status(_) => "status",
            CallError::Invalid(_) => "invalid",
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Timeout => f.write_str("no answer in time"),
            CallError::Unreachable(e) => write!(f, "unreachable: {e}"),
            CallError::Status(s) => write!(f, "answered status {s}"),
            CallError::Invalid(e) => write!(f, "invalid answer: {e}"),
        }
    }
}

impl std::error::Error for CallError {}

/// The pooled client every backend call goes through.
#[derive(Debug, Clone)]
pub struct Backend {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    max_answer: usize,
}

impl Backend {
    /// A client reading answers of at most `max_answer` bytes, over http
    /// or https (trusting `tls`: see [`crate::tls_client`]).
    pub fn new(max_answer: usize, tls: Arc<rustls::ClientConfig>) -> Backend {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(Arc::unwrap_or_clone(tls))
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build(connector);
        Backend { client, max_answer }
    }

    /// POSTs `body` (JSON) to `url`, signed with `secret`, and reads the
    /// answer: a JSON object (an empty 2xx body is `{}`). Fails with
    /// [`CallError::Timeout`] once `deadline` passes.
    pub async fn post(
        &self,
        url: &Uri,
        secret: &[u8],
        body: Vec<u8>,
        deadline: Instant,
    ) -> Result<Map<String, Value>, CallError> {
        let deadline = tokio::time::Instant::from_std(deadline);
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
            .to_string();
        let sig = hmac_hex(secret, &[ts.as_bytes(), &body]);
        let req = Request::builder()
            .method(Method::POST)
            .uri(url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "socketio-server")
            .header(HEADER_TIMESTAMP, ts)
            .header(HEADER_SIGNATURE, sig)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| CallError::Unreachable(e.to_string()))?;
        let call = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| CallError::Unreachable(error_chain(&e)))?;
            let status = resp.status();
            let too_long = resp
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
                .is_some_and(|n| n > self.max_answer);
            if !status.is_success() {
                return Err(CallError::Status(status.as_u16()));
            }
            if too_long {
                return Err(CallError::Invalid(format!(
                    "longer than {} bytes",
                    self.max_answer
                )));
            }
            let bytes = Limited::new(resp.into_body(), self.max_answer)
                .collect()
                .await
                .map_err(
                    |e| match e.downcast_ref::<http_body_util::LengthLimitError>() {
                        Some(_) => {
                            CallError::Invalid(format!("longer than {} bytes", self.max_answer))
                        }
                        None => CallError::Unreachable(e.to_string()),
                    },
                )?
                .to_bytes();
            parse_answer(&bytes)
        };
        tokio::time::timeout_at(deadline, call)
            .await
            .unwrap_or(Err(CallError::Timeout))
    }
}

/// A 2xx answer's body: a JSON object, or nothing (`{}`).
fn parse_answer(bytes: &[u8]) -> Result<Map<String, Value>, CallError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(CallError::Invalid("not a JSON object".into())),
        Err(e) => Err(CallError::Invalid(format!("not JSON: {e}"))),
    }
}

/// `e` and its sources, for a log line (hyper's errors say little alone).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// A header value as JSON: a string, or `null` when not UTF-8.
pub fn header_json(v: &HeaderValue) -> Value {
    v.to_str()
        .map_or(Value::Null, |s| Value::String(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_objects_or_empty() {
        assert_eq!(parse_answer(b"").unwrap(), Map::new());
        assert_eq!(parse_answer(b" \n").unwrap(), Map::new());
        assert_eq!(
            parse_answer(br#"{"ack":[1]}"#).unwrap()["ack"],
            serde_json::json!([1])
        );
        assert!(matches!(parse_answer(b"[1]"), Err(CallError::Invalid(_))));
        assert!(matches!(parse_answer(b"{oops"), Err(CallError::Invalid(_))));
        assert_eq!(CallError::Status(500).to_string(), "answered status 500");
    }
}
