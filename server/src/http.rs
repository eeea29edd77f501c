//! HTTP front: the accept loop (plain or TLS), the router between the
//! engine paths (one engine each) and the HTTP API (whose own routes win), client address resolution behind trusted
//! proxies, IP lists, connection limits and CORS from the live settings.
//!
//! Hands every request off the engine paths to [`crate::api`]; must not
//! answer API routes or build API replies itself (shared reply shapes are
//! [`crate::reply`]'s).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::ipnet::client_ip;
use crate::rate_limit::limit_key;
use crate::reply::{json, retry_secs};
use crate::state::{lock, Live, State};

/// The client's address: the peer, or the `X-Forwarded-For` client when the
/// peer is a trusted proxy.
pub fn client_addr(live: &Live, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    // Every header line, in order: a proxy may add its own line rather than
    // append to the client's.
    let lines: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let xff = (!lines.is_empty()).then(|| lines.join(","));
    client_ip(peer.ip(), xff.as_deref(), &live.trusted)
}

/// Whether `origin` (`scheme://host[:port]`) names the same host as `host`.
fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    origin
        .split_once("://")
        .is_some_and(|(_, h)| h.trim_end_matches('/').eq_ignore_ascii_case(host))
}

/// The allowed origin to reflect, if `origin` is allowed by the live CORS
/// settings.
fn allowed_origin<'a>(live: &Live, origin: Option<&'a str>) -> Option<&'a str> {
    let o = origin?;
    let list = &live.config.cors.origins;
    list.iter().any(|a| a == "*" || a == o).then_some(o)
}

fn add_cors(live: &Live, origin: Option<&str>, headers: &mut HeaderMap) {
    if let Some(o) = allowed_origin(live, origin).and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if live.config.cors.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

/// What an engine path takes: polling GETs and POSTs (a WebSocket
/// handshake is a GET).
const ENGINE_METHODS: &str = "GET, POST";

/// Makes `resp`, the answer to an OPTIONS request, a CORS preflight answer
/// when it is a 204 (a path that exists) and `origin` is allowed: the
/// methods are the answer's `Allow` (the path's own), the headers those
/// the request asks for.
fn preflight(
    live: &Live,
    request_headers: Option<HeaderValue>,
    origin: Option<&str>,
    mut resp: Response<Full<Bytes>>,
) -> Response<Full<Bytes>> {
    if resp.status() != StatusCode::NO_CONTENT {
        add_cors(live, origin, resp.headers_mut());
        return resp;
    }
    let h = resp.headers_mut();
    add_cors(live, origin, h);
    if h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        if let Some(allow) = h.get(header::ALLOW).cloned() {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, allow);
        }
        if let Some(v) = request_headers {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
    }
    resp
}

/// A refusal before the engine: the Engine.IO error body with `reason`, a
/// stable code (`ADDRESS_NOT_ALLOWED`, `ORIGIN_NOT_ALLOWED`,
/// `SHUTTING_DOWN`, `SERVER_FULL`), so that a polling client can read why
/// in its `connect_error` (`err.description` is the status,
/// `err.context.responseText` this body).
fn refusal(
    status: StatusCode,
    code: u8,
    reason: &str,
    message: &str,
) -> Box<Response<Full<Bytes>>> {
    Box::new(json(
        status,
        &serde_json::json!({ "code": code, "message": message, "reason": reason }),
    ))
}

/// Lets the page of `origin` read a refusal (only the refusal: a browser
/// hides the body of a cross-origin answer without this header).
fn expose_refusal(origin: Option<&str>, headers: &mut HeaderMap) {
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After"),
        );
    }
}

/// Answers one request.
pub async fn handle(
    st: Arc<State>,
    peer: SocketAddr,
    mut req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let live = st.live();
    let ip = client_addr(&live, peer, req.headers());
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // The API's own routes first: an engine path may sit under `/api/`
    // (`/api/socket`) beside routes like `/api/socket/health`.
    let path = req.uri().path();
    let engine = match crate::api::is_route(&live, path) {
        true => None,
        false => st.engines.get().and_then(|e| e.for_path(path)).cloned(),
    };
    if req.method() == Method::OPTIONS {
        // Per path: an engine path's methods here, the API side's (404 on
        // a path served by neither) from the API.
        let asked = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned();
        let resp = match engine {
            Some(_) => crate::reply::options(ENGINE_METHODS),
            None => crate::api::handle(&st, &live, ip, req).await,
        };
        return preflight(&live, asked, origin.as_deref(), resp);
    }
    let mut refused = false;
    let mut resp = if let Some(engine) = engine {
        if let Err(r) = admit(&st, &live, ip, origin.as_deref(), &req) {
            refused = true;
            *r
        } else {
            req.extensions_mut()
                .insert(engineio::PeerAddr(SocketAddr::new(ip, peer.port())));
            engine.handle(req).await
        }
    } else {
        crate::api::handle(&st, &live, ip, req).await
    };
    if refused {
        expose_refusal(origin.as_deref(), resp.headers_mut());
    } else {
        add_cors(&live, origin.as_deref(), resp.headers_mut());
    }
    resp
}

/// Checks on the engine path: IP lists for every request (when
/// `security.ip_lists_apply_to.engine`); origin, draining,
/// connection rate and max connections for handshakes (requests without `sid`).
fn admit(
    st: &State,
    live: &Live,
    ip: IpAddr,
    origin: Option<&str>,
    req: &Request<Incoming>,
) -> Result<(), Box<Response<Full<Bytes>>>> {
    if live.config.security.ip_lists_apply_to.engine && !live.ip_allowed(ip) {
        st.metrics
            .ip_refused_total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(address = %ip, "connection refused by the IP lists");
        return Err(refusal(
            StatusCode::FORBIDDEN,
            4,
            "ADDRESS_NOT_ALLOWED",
            "Forbidden: address not allowed",
        ));
    }
    let query = req.uri().query().unwrap_or("");
    if engineio::query::param(query, "sid").is_some() {
        return Ok(());
    }
    if !origin_allowed(live, origin, req) {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            4,
            "ORIGIN_NOT_ALLOWED",
            "Forbidden: origin not allowed",
        ));
    }
    if st.draining() {
        return Err(refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            3,
            "SHUTTING_DOWN",
            "Server shutting down",
        ));
    }
    let max = live.config.connection.max_connections;
    if st.connection_count() >= max {
        tracing::warn!(max, "connection refused: max connections reached");
        return Err(refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            3,
            "SERVER_FULL",
            &format!("Server full: {max} connections"),
        ));
    }
    if let Some(limit) = live.per_minute(live.config.rate_limits.connections_per_minute) {
        if let Err(retry) = lock(&st.conn_limiter).check(&limit_key(ip), limit, st.clock.now()) {
            st.metrics.rate_limited_total.inc(&["connection"]);
            // The API's rate-limit fields, with the Engine.IO body's `message`.
            let secs = retry_secs(retry);
            let mut r = json(
                StatusCode::TOO_MANY_REQUESTS,
                &serde_json::json!({
                    "success": false, "error": "Rate limit exceeded", "code": "RATE_LIMITED",
                    "reason": "RATE_LIMITED", "retryAfter": secs,
                    "message": format!("Too many connections from this address; retry in {secs} s"),
                }),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return Err(Box::new(r));
        }
    }
    Ok(())
}

/// Whether a handshake's `origin` may connect. A browser page of another
/// site may not open connections (WebSocket handshakes are not covered by
/// CORS). Clients that send no Origin pass; with no origins configured,
/// only pages of this very host may connect.
fn origin_allowed(live: &Live, origin: Option<&str>, req: &Request<Incoming>) -> bool {
    let Some(o) = origin else { return true };
    if live.config.cors.origins.is_empty() {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok());
        same_origin(o, host)
    } else {
        allowed_origin(live, Some(o)).is_some()
    }
}

/// Serves `listener` (through `tls` when set) until `shutdown` turns true;
/// connections already accepted keep being served.
pub async fn serve(
    st: Arc<State>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let header_timeout = Duration::from_millis(st.live().config.connection.header_read_timeout_ms);
    // A connection closed with its request unread (a 413) closes lingering,
    // with the engine's bounds, so that a client still sending reads the answer.
    let (linger_timeout, linger_bytes) = {
        let defaults = engineio::EngineConfig::default();
        let c = st
            .engines
            .get()
            .and_then(|e| e.iter().next())
            .map_or(&defaults, |e| e.config());
        (c.linger_timeout, c.linger_bytes)
    };
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and similar: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let st = st.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let st = st.clone();
                async move { Ok::<_, Infallible>(handle(st, peer, req).await) }
            });
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            match tls {
                Some(acceptor) => {
                    let Ok(Ok(s)) =
                        tokio::time::timeout(header_timeout, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let (io, linger) = engineio::lingering(s, linger_timeout, linger_bytes);
                    let _ = b
                        .serve_connection(TokioIo::new(io), svc)
                        .with_upgrades()
                        .await;
                    linger.finish().await;
                }
                None => {
                    let (io, linger) = engineio::lingering(stream, linger_timeout, linger_bytes);
                    let _ = b
                        .serve_connection(TokioIo::new(io), svc)
                        .with_upgrades()
                        .await;
                    linger.finish().await;
                }
            }
        });
    }
}

/// A TLS acceptor from PEM certificate chain and key files.
pub fn tls_acceptor(cert: &str, key: &str) -> Result<TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{cert}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{cert}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{cert}: no certificate found"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate/key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
