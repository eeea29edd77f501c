//! The admin state ([`Inner`]), the observer that turns what the server
//! does into the UI's live events ([`Watch`]), the admin namespace's
//! authentication and connection handler, and the stats timer.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use engineio::Sid;
use serde_json::{json, Value};

use super::auth::{session_id, Checker, Failures, LoginError, SessionStore, Sessions};
use super::serialize::{self, date, Local};
use super::stats::Counters;
use super::{commands, AdminConfig};
use crate::client::Shared;
use crate::data::Data;
use crate::error::ConnectError;
use crate::namespace::{Namespace, NsInner};
use crate::observer::Observer;
use crate::server::SocketIo;
use crate::socket::Socket;

/// The `server_side_emit` event that shares a new session id with the
/// other nodes of a cluster.
const SESSION_EVENT: &str = "admin:session";

/// The transport a socket was last reported on, to tell the UI when it
/// upgrades (`socket_updated`).
#[derive(Clone, Copy, PartialEq, Eq)]
struct SeenTransport(&'static str);

/// A session id handed out by the middleware, for the connection handler
/// to send (a socket cannot be sent to before it connects).
#[derive(Clone)]
struct NewSession(String);

/// Everything the admin side keeps. Reaches the server and its admin
/// namespace weakly: the server owns its observer, not the other way.
pub(crate) struct Inner {
    pub(super) config: AdminConfig,
    io: Weak<Shared>,
    nsp: Weak<NsInner>,
    checker: Option<Checker>,
    sessions: Arc<dyn SessionStore>,
    failures: Failures,
    pub(super) counters: Counters,
    /// Local sockets of the admin namespace: with none (and no cluster),
    /// live events are not even built.
    watchers: AtomicUsize,
    /// The admin namespace's adapter is a cluster's: events may reach a UI
    /// on another node.
    clustered: bool,
    started: Instant,
    server_id: String,
    hostname: String,
}

impl Inner {
    pub(super) fn new(io: &SocketIo, config: AdminConfig) -> Arc<Inner> {
        let nsp = io.of(&config.namespace);
        let hostname = hostname();
        Arc::new(Inner {
            io: Arc::downgrade(&io.0),
            nsp: Arc::downgrade(&nsp.0),
            checker: config.credentials.clone().map(Checker::new),
            sessions: match &config.session_store {
                Some(s) => s.0.clone(),
                None => Arc::new(Sessions::new(config.session_ttl, config.max_sessions)),
            },
            failures: Failures::new(
                config.login_failures_per_minute,
                Duration::from_secs(60),
                super::MAX_TRACKED_ADDRESSES,
            ),
            counters: Counters::default(),
            watchers: AtomicUsize::new(0),
            clustered: nsp.adapter().server_id().is_some(),
            started: nsp.runtime().now(),
            // Nodes of a cluster may share a host: then the pid tells them apart.
            server_id: config.server_id.clone().unwrap_or_else(|| {
                match nsp.adapter().server_id() {
                    Some(_) => format!("{hostname}#{}", std::process::id()),
                    None => hostname.clone(),
                }
            }),
            hostname,
            config,
        })
    }

    /// The server, while it exists.
    pub(super) fn io(&self) -> Option<SocketIo> {
        self.io.upgrade().map(SocketIo)
    }

    /// The admin namespace, while the server exists.
    fn nsp(&self) -> Option<Namespace> {
        self.nsp.upgrade().map(Namespace)
    }

    /// An existing namespace by name (the UI's commands never create one).
    pub(super) fn find(&self, name: &str) -> Option<Namespace> {
        self.io()?
            .namespaces()
            .into_iter()
            .find(|n| n.name() == name)
    }

    /// Whether live events may reach a UI: one is connected here, or a
    /// cluster adapter may carry them to one on another node.
    fn watched(&self) -> bool {
        self.clustered || self.watchers.load(Ordering::Relaxed) > 0
    }

    /// Emits `event` to the UIs, if any may hear it; `args` is only built
    /// then (with no UI, a live event costs one atomic load).
    fn tell(&self, event: &str, args: impl FnOnce() -> Vec<Value>) {
        if !self.watched() {
            return;
        }
        if let Some(nsp) = self.nsp() {
            let _ = nsp.emit(event, Data::from(args()));
        }
    }

    fn is_admin(&self, nsp: &str) -> bool {
        nsp == self.config.namespace
    }

    /// The middleware's check: a valid session id, or the credentials.
    async fn authenticate(&self, socket: &Socket) -> Result<(), ConnectError> {
        let Some(checker) = &self.checker else {
            return Ok(());
        };
        let auth = &socket.handshake().auth;
        let now = socket.nsp().runtime().now();
        if let Some(id) = auth.get("sessionId").and_then(Value::as_str) {
            // A store that cannot be read: the credentials may still do.
            if let Ok(true) = self.sessions.exists(now, id.to_owned()).await {
                return Ok(());
            }
        }
        let ip = socket.handshake().address.map(|a| a.ip());
        if ip.is_some_and(|ip| self.failures.blocked(now, ip)) {
            self.refused(super::refusal::TOO_MANY_FAILURES);
            return Err(ConnectError::new("too many failed logins"));
        }
        let field = |k: &str| auth.get(k).and_then(Value::as_str).unwrap_or_default();
        match checker
            .check(field("username"), field("password").to_owned())
            .await
        {
            Ok(()) => {
                let id = session_id();
                let now = socket.nsp().runtime().now();
                let ttl = self.config.session_ttl;
                // A store that cannot be written: this login still holds,
                // the id will not log in again.
                let _ = self.sessions.save(now, id.clone(), ttl).await;
                if !self.sessions.shared() {
                    share_session(socket.nsp(), id.clone());
                }
                socket.insert(NewSession(id));
                Ok(())
            }
            Err(LoginError::Invalid) => {
                if let Some(ip) = ip {
                    self.failures.fail(socket.nsp().runtime().now(), ip);
                }
                self.refused(super::refusal::INVALID_CREDENTIALS);
                Err(ConnectError::new("invalid credentials"))
            }
            Err(LoginError::Busy) => {
                self.refused(super::refusal::BUSY);
                Err(ConnectError::new("too many login attempts"))
            }
        }
    }

    /// Tells the [`on_refused`](super::AdminConfig::on_refused) callback.
    fn refused(&self, code: &str) {
        if let Some(f) = &self.config.on_refused {
            (f.0)(code);
        }
    }

    /// What `server_stats` carries now; takes the aggregated counts.
    fn stats(&self, io: &SocketIo) -> Value {
        let mut conns = HashSet::new();
        let mut polling = 0;
        let mut namespaces = Vec::new();
        for n in io.namespaces() {
            let sockets = n.sockets();
            for s in &sockets {
                if conns.insert(Arc::as_ptr(s.conn()) as *const () as usize)
                    && s.conn().transport() == Some("polling")
                {
                    polling += 1;
                }
            }
            namespaces.push(json!({"name": n.name(), "socketsCount": sockets.len()}));
        }
        let now = self
            .nsp()
            .map(|n| n.runtime().now())
            .unwrap_or(self.started);
        json!({
            "serverId": self.server_id,
            "hostname": self.hostname,
            "pid": std::process::id(),
            "uptime": now.saturating_duration_since(self.started).as_secs_f64(),
            "clientsCount": conns.len(),
            "pollingClientsCount": polling,
            "aggregatedEvents": self.counters.take(SystemTime::now()),
            "namespaces": namespaces,
        })
    }

    /// `socket_updated` for each local socket whose transport changed
    /// (an upgrade) since it was last seen: checked on the stats timer,
    /// the engine tells no one of its upgrades.
    fn report_upgrades(&self, io: &SocketIo) {
        if !self.config.all_events {
            return;
        }
        for n in io.namespaces() {
            for s in n.sockets() {
                let Some(now) = s.conn().transport() else {
                    continue;
                };
                let seen = s.get::<SeenTransport>();
                if seen != Some(SeenTransport(now)) {
                    s.insert(SeenTransport(now));
                    self.tell("socket_updated", || {
                        vec![json!({"id": s.public_id(), "nsp": n.name(), "transport": now})]
                    });
                }
            }
        }
    }

    /// `all_sockets`: every socket of every namespace, cluster-wide.
    async fn all_sockets(&self) -> Vec<Value> {
        let Some(io) = self.io() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for n in io.namespaces() {
            let Ok(infos) = n.broadcast().fetch_sockets().await else {
                continue;
            };
            for info in &infos {
                let local = info.server.is_none().then(|| n.socket(info.id)).flatten();
                let local = local.as_ref().map(|s| Local { conn: s.conn() });
                out.push(serialize::socket(info, local));
            }
        }
        out
    }
}

/// Tells the other nodes of a cluster about a new session id.
fn share_session(nsp: &Namespace, id: String) {
    if nsp.adapter().server_id().is_none() {
        return;
    }
    let adapter = nsp.adapter().clone();
    nsp.runtime().spawn(Box::pin(async move {
        let _ = adapter
            .server_side_emit(SESSION_EVENT.to_owned(), Data::from(Value::from(id)))
            .await;
    }));
}

/// The server's observer while the Admin UI is served.
pub(crate) struct Watch(pub(crate) Arc<Inner>);

impl Observer for Watch {
    fn connected(&self, socket: &Socket) {
        let nsp = socket.nsp().name().to_owned();
        let weak = Arc::downgrade(&self.0);
        if self.0.is_admin(&nsp) {
            self.0.watchers.fetch_add(1, Ordering::Relaxed);
            let w = weak.clone();
            socket.on_disconnect(move |_, _| {
                if let Some(inner) = w.upgrade() {
                    inner.watchers.fetch_sub(1, Ordering::Relaxed);
                }
            });
        }
        if !self.0.config.all_events {
            return;
        }
        if let Some(t) = socket.conn().transport() {
            socket.insert(SeenTransport(t));
        }
        self.0.tell("socket_connected", || {
            let local = Local {
                conn: socket.conn(),
            };
            vec![serialize::socket(&socket.info(), Some(local)), now()]
        });
        if !self.0.is_admin(&nsp) {
            for (outgoing, event) in [(false, "event_received"), (true, "event_sent")] {
                let w = weak.clone();
                let f = move |s: &Socket, ev: &str, data: &Data| {
                    if let Some(inner) = w.upgrade() {
                        inner.tell(event, || {
                            vec![
                                s.nsp().name().into(),
                                s.public_id().into(),
                                args(ev, data),
                                now(),
                            ]
                        });
                    }
                };
                match outgoing {
                    false => socket.on_any(f),
                    true => socket.on_any_outgoing(f),
                }
            }
        }
        socket.on_disconnect(move |s, reason| {
            if let Some(inner) = weak.upgrade() {
                inner.tell("socket_disconnected", || {
                    vec![
                        s.nsp().name().into(),
                        s.public_id().into(),
                        reason.as_str().into(),
                        now(),
                    ]
                });
            }
        });
    }

    fn joined(&self, nsp: &str, sid: Sid, rooms: &[String]) {
        if self.0.config.all_events {
            for room in rooms {
                self.0.tell("room_joined", || {
                    vec![nsp.into(), room.as_str().into(), sid.as_str().into(), now()]
                });
            }
        }
    }

    fn left(&self, nsp: &str, sid: Sid, room: &str) {
        if self.0.config.all_events {
            self.0.tell("room_left", || {
                vec![nsp.into(), room.into(), sid.as_str().into(), now()]
            });
        }
    }

    fn broadcast_sent(&self, socket: &Socket, payload: &Value) {
        let nsp = socket.nsp().name();
        if self.0.config.all_events && !self.0.is_admin(nsp) {
            self.0.tell("event_sent", || {
                vec![
                    nsp.into(),
                    socket.public_id().into(),
                    payload.clone(),
                    now(),
                ]
            });
        }
    }

    fn data_set(&self, nsp: &str, sid: Sid, data: &Value) {
        // The reference's `socket.data` proxy: every change of the data.
        if self.0.config.all_events && !self.0.is_admin(nsp) {
            self.0.tell("socket_updated", || {
                vec![json!({"id": sid.as_str(), "nsp": nsp, "data": data})]
            });
        }
    }

    fn connection_opened(&self) {
        self.0.counters.connection_opened();
    }

    fn connection_closed(&self, reason: &str) {
        self.0.counters.connection_closed(reason);
    }

    fn message_in(&self, len: usize) {
        self.0.counters.message_in(len);
    }

    fn message_out(&self, len: usize) {
        self.0.counters.message_out(len);
    }
}

/// An event's arguments as the UI shows them: name first.
fn args(event: &str, data: &Data) -> Value {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(Value::from(event));
    v.extend(data.args().iter().cloned());
    Value::Array(v)
}

/// Now, as the UI's dates.
fn now() -> Value {
    Value::from(date(SystemTime::now()))
}

/// Sets up the admin namespace: authentication, the connection handler,
/// the other nodes' session ids, and the stats timer.
pub(super) fn install(io: &SocketIo, inner: &Arc<Inner>) {
    let nsp = io.of(&inner.config.namespace);
    let i = inner.clone();
    nsp.use_middleware(move |socket| {
        let i = i.clone();
        async move { i.authenticate(&socket).await }
    });
    let i = inner.clone();
    nsp.on_connection(move |socket| {
        let i = i.clone();
        async move { on_admin(&i, socket).await }
    });
    let w = Arc::downgrade(inner);
    nsp.on_server_side(
        SESSION_EVENT.to_owned(),
        Arc::new(move |data: &Data| {
            let (Some(inner), Some(id)) =
                (w.upgrade(), data.args().first().and_then(Value::as_str))
            else {
                return;
            };
            if let Some(nsp) = inner.nsp() {
                let ttl = inner.config.session_ttl;
                let save = inner.sessions.save(nsp.runtime().now(), id.to_owned(), ttl);
                nsp.runtime().spawn(Box::pin(async move {
                    let _ = save.await;
                }));
            }
        }),
    );
    let w = Arc::downgrade(inner);
    let rt = nsp.runtime().clone();
    let every = inner.config.stats_interval;
    nsp.runtime().spawn(Box::pin(async move {
        loop {
            let Some(inner) = w.upgrade() else { return };
            let (Some(io), Some(nsp)) = (inner.io(), inner.nsp()) else {
                return;
            };
            match inner.watched() {
                true => {
                    inner.report_upgrades(&io);
                    let _ = nsp.emit("server_stats", inner.stats(&io));
                }
                // Nobody looks: the counts of this period are dropped.
                false => drop(inner.counters.take(SystemTime::now())),
            }
            drop((io, nsp, inner));
            rt.sleep(every).await;
        }
    }));
}

/// A UI connected: its commands, session id, features and the socket list.
async fn on_admin(inner: &Arc<Inner>, socket: Socket) {
    let features = commands::features(&inner.config);
    if !inner.config.read_only {
        commands::register(inner, &socket);
    }
    if let Some(NewSession(id)) = socket.remove::<NewSession>() {
        let _ = socket.emit("session", Value::from(id));
    }
    let _ = socket.emit("config", json!({ "supportedFeatures": features }));
    if inner.config.all_events {
        let sockets = inner.all_sockets().await;
        let _ = socket.emit("all_sockets", Value::Array(sockets));
    }
}

/// The host name, as the kernel has it (`localhost` when unknown).
pub fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}
