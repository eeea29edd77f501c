//! The JWKS fetcher (`auth.jwks_url`): the public keys of the identity
//! provider, fetched over http or https, cached, refreshed periodically and
//! when a token names an unknown `kid`.
//!
//! Bounds, each a setting of `[auth]`:
//! - a fetch ends after `jwks_timeout_ms` (connect, TLS, answer);
//! - an answer longer than `jwks_max_bytes` is refused (before reading it
//!   when `Content-Length` says so);
//! - fetches caused by unknown `kid`s start at most once per
//!   `jwks_min_refresh_ms`, and concurrent ones share a single fetch, so a
//!   flood of tokens with made-up `kid`s costs the provider at most one
//!   request per interval;
//! - the set is fetched again every `jwks_refresh_secs`.
//!
//! A failed fetch keeps the keys of the last good one (a provider outage
//! does not log everyone out) and is logged. A fetch runs on its own task:
//! a client that goes away mid-handshake does not cancel it. Holds no lock
//! across an await. Verification itself is [`crate::jwt`]'s.

use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header;
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::rustls;

use crate::tls_client;

use crate::jwk::KeySet;
use crate::jwt::{Claims, JwtError, Verifier};

/// How the key set is fetched (the `jwks_*` keys of `[auth]`).
#[derive(Debug, Clone)]
pub struct JwksSettings {
    /// The set's http or https URL.
    pub url: Uri,
    /// Interval of the periodic refresh.
    pub refresh: Duration,
    /// Shortest interval between two fetches caused by unknown `kid`s (and
    /// between retries after a failure).
    pub min_refresh: Duration,
    /// Deadline of one fetch.
    pub timeout: Duration,
    /// Longest answer read, in bytes.
    pub max_bytes: usize,
    /// PEM file of extra trust anchors for https, beside Mozilla's roots.
    pub ca_file: Option<String>,
}

enum Turn {
    Start,
    Wait,
    Limited,
}

#[derive(Debug, Default)]
struct FetchState {
    in_flight: bool,
    last_start: Option<Instant>,
}

/// The cached key set and its fetcher.
#[derive(Debug)]
pub struct Jwks {
    settings: JwksSettings,
    tls: Option<Arc<rustls::ClientConfig>>,
    keys: RwLock<Arc<KeySet>>,
    fetch: Mutex<FetchState>,
    /// Bumped when a fetch ends (whatever its outcome).
    done: watch::Sender<u64>,
}

impl Jwks {
    /// A fetcher for `settings`, with no keys yet (see [`Jwks::spawn`]);
    /// `Err` when the URL or the CA file is unusable.
    pub fn new(settings: JwksSettings) -> Result<Arc<Jwks>, String> {
        let tls = match settings.url.scheme_str() {
            Some("https") => Some(tls_client::config(
                settings.ca_file.as_deref(),
                "auth.jwks_ca_file",
            )?),
            Some("http") => None,
            _ => return Err("auth.jwks_url must be an http or https URL".into()),
        };
        if settings.url.host().is_none() {
            return Err("auth.jwks_url has no host".into());
        }
        Ok(Arc::new(Jwks {
            settings,
            tls,
            keys: RwLock::new(Arc::default()),
            fetch: Mutex::new(FetchState::default()),
            done: watch::Sender::new(0),
        }))
    }

    /// The keys in force.
    pub fn keys(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Starts the periodic refresh (the first fetch at once); it ends when
    /// the fetcher is dropped.
    pub fn spawn(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(me) = Weak::upgrade(&weak) {
                let ok = me.fetch_now().await;
                let wait = if ok {
                    me.settings.refresh
                } else {
                    me.settings.min_refresh.max(Duration::from_secs(1))
                };
                drop(me);
                tokio::time::sleep(wait).await;
            }
        });
    }

    /// Fetches the set unless a fetch is running (then waits for it);
    /// whether the set in force came from a good fetch.
    async fn fetch_now(self: &Arc<Self>) -> bool {
        let mut rx = self.done.subscribe();
        match self.turn(false) {
            Turn::Start => self.clone().run().await,
            Turn::Wait | Turn::Limited => {
                let _ = tokio::time::timeout(self.settings.timeout, rx.changed()).await;
                !self.keys().is_empty()
            }
        }
    }

    /// The keys after a refresh for a token whose key is unknown: a new
    /// fetch when the last one started at least `min_refresh` ago, else the
    /// end of the fetch in flight; `None` (no fetch) when rate-limited.
    pub async fn refresh_for_unknown_kid(self: &Arc<Self>) -> Option<Arc<KeySet>> {
        let mut rx = self.done.subscribe();
        match self.turn(true) {
            Turn::Limited => return None,
            Turn::Wait => {}
            Turn::Start => {
                // Its own task: a dropped handshake must not cancel the fetch.
                let me = self.clone();
                tokio::spawn(async move { me.run().await });
            }
        }
        let slack = Duration::from_secs(1);
        let _ = tokio::time::timeout(self.settings.timeout + slack, rx.changed()).await;
        Some(self.keys())
    }

    /// Whether to start a fetch (marking it started), wait for the one in
    /// flight, or (when `limited`) do neither because the last one started
    /// less than `min_refresh` ago.
    fn turn(&self, limited: bool) -> Turn {
        let mut f = self.fetch.lock().unwrap_or_else(|e| e.into_inner());
        if f.in_flight {
            return Turn::Wait;
        }
        let recent = f
            .last_start
            .is_some_and(|t| t.elapsed() < self.settings.min_refresh);
        if limited && recent {
            return Turn::Limited;
        }
        f.in_flight = true;
        f.last_start = Some(Instant::now());
        Turn::Start
    }

    /// One fetch, then the end mark; whether it gave a key set.
    async fn run(self: Arc<Self>) -> bool {
        let url = &self.settings.url;
        let result = match tokio::time::timeout(self.settings.timeout, self.get()).await {
            Ok(Ok(body)) => KeySet::parse(&body).map_err(|e| e.to_string()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!("no answer in {:?}", self.settings.timeout)),
        };
        let ok = match result {
            Ok(set) => {
                tracing::debug!(url = %url, keys = set.len(), "JWKS fetched");
                if set.is_empty() {
                    tracing::warn!(url = %url, "JWKS has no usable key");
                }
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
                true
            }
            Err(e) => {
                tracing::warn!(url = %url, error = %e, "JWKS fetch failed; keeping the last keys");
                false
            }
        };
        self.fetch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .in_flight = false;
        self.done.send_modify(|g| *g = g.wrapping_add(1));
        ok
    }

    /// GETs the set: the answer's body, at most `max_bytes`.
    async fn get(&self) -> Result<Vec<u8>, String> {
        let url = &self.settings.url;
        let https = self.tls.is_some();
        let host = url.host().unwrap_or_default();
        let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = TcpStream::connect((bare, port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            Some(cfg) => {
                let name = rustls_pki_types::ServerName::try_from(bare.to_owned())
                    .map_err(|e| format!("server name: {e}"))?;
                let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("tls: {e}"))?;
                self.exchange(tls).await
            }
            None => self.exchange(tcp).await,
        }
    }

    async fn exchange<IO>(&self, io: IO) -> Result<Vec<u8>, String>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let url = &self.settings.url;
        let max = self.settings.max_bytes;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| format!("http: {e}"))?;
        let authority = url.authority().map_or("", |a| a.as_str());
        let path = url.path_and_query().map_or("/", |p| p.as_str());
        let req = Request::get(path)
            .header(header::HOST, authority)
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "socketio-server")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let fetch = async {
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| format!("http: {e}"))?;
            if !resp.status().is_success() {
                return Err(format!("answered status {}", resp.status().as_u16()));
            }
            let declared = resp
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            if declared.is_some_and(|n| n > max as u64) {
                return Err(format!("answer longer than {max} bytes"));
            }
            match Limited::new(resp.into_body(), max).collect().await {
                Ok(b) => Ok(b.to_bytes().to_vec()),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    Err(format!("answer longer than {max} bytes"))
                }
                Err(e) => Err(format!("http: {e}")),
            }
        };
        // The connection runs beside the request and is dropped with it.
        let conn = async {
            let _ = conn.await;
            std::future::pending::<()>().await
        };
        tokio::select! {
            r = fetch => r,
            _ = conn => Err("connection ended".into()),
        }
    }
}

/// Verifies `token` under `verifier`'s secrets and `jwks`'s keys; a token
/// naming a key the set lacks refreshes the set once (rate-limited, see
/// the module documentation) and is checked again.
pub async fn verify(
    verifier: &Verifier,
    jwks: Option<&Arc<Jwks>>,
    token: &str,
    now_unix_secs: u64,
) -> Result<Claims, JwtError> {
    let Some(jwks) = jwks else {
        return verifier.verify(token, now_unix_secs);
    };
    match verifier.verify_with(token, now_unix_secs, &jwks.keys()) {
        Err(JwtError::UnknownKey(kid)) => match jwks.refresh_for_unknown_kid().await {
            Some(keys) => verifier.verify_with(token, now_unix_secs, &keys),
            None => Err(JwtError::UnknownKey(kid)),
        },
        r => r,
    }
}
