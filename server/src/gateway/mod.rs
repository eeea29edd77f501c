//! The application integration: client events that no built-in event
//! answers go to the application, by the rules of the config.
//!
//! - The event proxy ([`proxy`], `[[proxy]]`): a matching event is POSTed
//!   to the backend, whose answer becomes the client's ack and may emit,
//!   join and leave for the socket.
//! - The relay ([`relay`], `[[relay]]`): a matching event goes on to the
//!   other sockets of the sender's rooms.
//! - The connection proxy ([`connect`], `[proxy_connect]`): the backend
//!   accepts or refuses each namespace connection and may attach data.
//!
//! A rule wins over a built-in event of the same name (the caller skips
//! those handlers, see [`crate::config::Config::app_route`]); the first
//! `[[proxy]]` rule that takes an event wins, then the first `[[relay]]`.
//! The rules are fixed at start.
//!
//! Owns the calls to the backend and what their answers do; must not read
//! the HTTP API or the built-in events' state. No lock is held across a
//! backend call.

pub mod backend;
pub mod connect;
pub mod proxy;
pub mod relay;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use http::Uri;
use serde_json::{json, Value};
use socketio::{AckSender, Data, Socket};
use tokio::sync::Semaphore;
use tokio_rustls::rustls;

use crate::config::{AppRoute, Config, ProxyLimitsSection};
use crate::reply::failure;
use crate::state::{Live, State};
use backend::Backend;

/// A backend of a rule: where it is and the key its requests are signed
/// with.
#[derive(Debug, Clone)]
struct Target {
    /// The URL as configured, for logs.
    shown: String,
    /// The parsed URL; `None` (never, after validation) fails every call
    /// as unreachable rather than skipping the check.
    url: Option<Uri>,
    secret: Vec<u8>,
    timeout: std::time::Duration,
}

impl Target {
    /// From a validated config's URL, secret and timeout.
    fn new(url: &str, secret: &str, timeout_ms: u64) -> Target {
        Target {
            shown: url.to_owned(),
            url: url.parse().ok(),
            secret: secret.as_bytes().to_vec(),
            timeout: std::time::Duration::from_millis(timeout_ms),
        }
    }
}

/// What the rules share: the client, the backends of the rules, the
/// limit of requests in flight over every socket.
#[derive(Debug)]
pub struct Gateway {
    backend: Backend,
    /// The `[[proxy]]` rules' backends, by rule index.
    proxies: Vec<Target>,
    /// The `[proxy_connect]` backend, when on.
    connect: Option<Target>,
    /// `proxy_limits.max_concurrent` permits.
    permits: Arc<Semaphore>,
    limits: ProxyLimitsSection,
    /// When the gateway was built, and when it last logged a failed call
    /// (milliseconds after that): a backend that is down is logged once a
    /// second, not once per event.
    built: std::time::Instant,
    last_warn_ms: AtomicU64,
}

/// The TLS client config of https backends: `proxy_limits.ca_file`
/// (checked by the validation) beside Mozilla's roots. Should the file have
/// gone bad since, the error is logged and Mozilla's roots alone are
/// trusted (a private backend then answers `BACKEND_UNAVAILABLE`).
fn backend_tls(l: &ProxyLimitsSection) -> Arc<rustls::ClientConfig> {
    crate::tls_client::config(l.ca_file.as_deref(), "proxy_limits.ca_file").unwrap_or_else(|e| {
        tracing::error!("{e}; https backends are checked against the public roots only");
        crate::tls_client::config(None, "").expect("the public roots alone always make a config")
    })
}

impl Gateway {
    /// The gateway of a validated `config`.
    pub fn new(config: &Config) -> Arc<Gateway> {
        let l = &config.proxy_limits;
        let c = &config.proxy_connect;
        for r in &config.proxy {
            tracing::info!(
                "event proxy: {} -> {} (timeout {} ms)",
                r.events.join(", "),
                r.url,
                r.timeout_ms
            );
        }
        for r in &config.relay {
            let to = match r.room_field.as_str() {
                "" => "the sender's rooms".to_owned(),
                f => format!("the room named by `{f}`"),
            };
            tracing::info!("relay: {} -> {to}", r.events.join(", "));
        }
        if !c.url.is_empty() {
            tracing::info!("connection proxy: {}", c.url);
        }
        Arc::new(Gateway {
            backend: Backend::new(l.max_answer_bytes, backend_tls(l)),
            proxies: config
                .proxy
                .iter()
                .map(|r| Target::new(&r.url, &r.secret, r.timeout_ms))
                .collect(),
            connect: (!c.url.is_empty()).then(|| Target::new(&c.url, &c.secret, c.timeout_ms)),
            permits: Arc::new(Semaphore::new(l.max_concurrent)),
            limits: l.clone(),
            built: std::time::Instant::now(),
            last_warn_ms: AtomicU64::new(0),
        })
    }

    /// Logs a failed backend call, at most once a second (the metrics
    /// count every one).
    fn warn(&self, message: &str) {
        let now = self.built.elapsed().as_millis() as u64 + WARN_EVERY_MS;
        let last = self.last_warn_ms.load(Ordering::Relaxed);
        if now >= last + WARN_EVERY_MS
            && self
                .last_warn_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!("{message}");
        }
    }

    /// Whether any rule is configured (else no socket gets a fallback).
    fn has_rules(config: &Config) -> bool {
        !config.proxy.is_empty() || !config.relay.is_empty()
    }
}

/// Least time between two logged backend failures, in milliseconds.
const WARN_EVERY_MS: u64 = 1000;

/// Installs the rules' handler on a new socket: every event without a
/// handler of its own goes to the rule that takes it (see the module docs).
pub fn install(gw: &Arc<Gateway>, st: &Arc<State>, socket: &Socket) {
    if !Gateway::has_rules(&st.live().config) {
        return;
    }
    let (gw, st) = (gw.clone(), st.clone());
    socket.on_fallback(move |s, event, data, ack| {
        route(&gw, &st, &s, event, data, ack);
        std::future::ready(())
    });
}

/// A socket disconnected: its queue of proxied events closes.
pub fn closed(socket: &Socket) {
    proxy::closed(socket);
}

/// Hands `event` to the rule that takes it; an event no rule takes is
/// ignored, as one without a handler.
fn route(
    gw: &Arc<Gateway>,
    st: &Arc<State>,
    s: &Socket,
    event: String,
    data: Data,
    ack: Option<AckSender>,
) {
    let live = st.live();
    match live.config.app_route(s.nsp().name(), &event) {
        Some(AppRoute::Proxy(i)) => proxy::enqueue(gw, st, &live, i, s, event, data, ack),
        Some(AppRoute::Relay(i)) => relay::relay(st, &live, i, s, &event, data, ack),
        None => {}
    }
}

/// Answers a refusal where the client listens: its ack, else the `error`
/// event `{event, message, code}` (as the built-in events do).
fn refuse(st: &State, s: &Socket, event: &str, ack: Option<AckSender>, code: &str, message: &str) {
    match ack {
        Some(a) => {
            let _ = a.send(failure(code, message));
        }
        None => {
            count_sent(st, 1);
            let _ = s.emit(
                "error",
                json!({ "event": event, "message": message, "code": code }),
            );
        }
    }
}

/// Counts `n` events sent to clients.
fn count_sent(st: &State, n: usize) {
    st.metrics
        .events_sent_total
        .fetch_add(n as u64, Ordering::Relaxed);
}

/// Whether the serialized arguments are longer than
/// `events.max_message_len`.
fn too_long(live: &Live, data: &Data) -> bool {
    serde_json::to_vec(data.args()).map_or(true, |v| v.len() > live.config.events.max_message_len)
}

/// The first argument with `userId` and `socketId` set (when it is an
/// object), the rest unchanged.
fn with_sender(args: Vec<Value>, user: Value, sid: &str) -> Vec<Value> {
    let mut args = args;
    if let Some(Value::Object(o)) = args.first_mut() {
        o.insert("userId".into(), user);
        o.insert("socketId".into(), sid.into());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_is_stamped_on_an_object_only() {
        let a = with_sender(
            vec![json!({"roomId": "r", "userId": "spoof"}), json!(2)],
            json!(7),
            "S",
        );
        assert_eq!(
            a,
            vec![
                json!({"roomId": "r", "userId": 7, "socketId": "S"}),
                json!(2)
            ]
        );
        let a = with_sender(vec![json!("text")], Value::Null, "S");
        assert_eq!(a, vec![json!("text")]);
        let a = with_sender(vec![json!({})], Value::Null, "S");
        assert_eq!(a, vec![json!({"userId": null, "socketId": "S"})]);
    }
}
