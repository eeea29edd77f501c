//! The Socket.IO side of the gateway: namespaces with the authentication
//! and role middleware, the per-connection event rate limit, connection
//! metrics and logs, and the Engine.IO handler that counts bytes.
//!
//! Who a socket is and its server rooms are [`crate::identity`]'s, the
//! built-in events [`crate::events`]', the application's rules
//! [`crate::gateway`]'s; this module wires them to each
//! socket and must not answer events or HTTP requests itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use engineio::bytes::Bytes;
use engineio::{
    CloseReason, Engine, EngineConfig, PerMessageDeflate, SendError, SlowClientPolicy, Str,
    Transports,
};
use serde_json::json;
use socketio::{
    AckSender, AdapterFactory, Conn, ConnectError, Connection, ConnectionInfo, Data,
    DisconnectReason, Encoded, PacketVerdict, Parser, RecoveryConfig, Socket, SocketIo,
    SocketIoConfig,
};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::clock::Clock;
use crate::config::{Config, PacketParser, SlowClient, Transport};
use crate::dashboard::payload_bytes;
use crate::dashboard::recorder::{Kind, Record};
use crate::gateway::Gateway;
use crate::identity::{bind_user, token, user_id_json, user_of, ServerRooms, User};
use crate::monitor::OTHER;
use crate::rate_limit::{EventLimiter, Limit};
use crate::reply::retry_secs;
use crate::state::{lock, Engines, Live, State};

/// The Socket.IO server for `config`, on the cluster adapter `adapter`
/// (one built by `socketio_redis`) or the in-memory one.
pub fn socketio(config: &Config, adapter: Option<AdapterFactory>) -> SocketIo {
    let c = &config.connection;
    let recovery = (c.recovery_secs > 0).then(|| RecoveryConfig {
        max_disconnection_duration: Duration::from_secs(c.recovery_secs),
        skip_middlewares: false,
    });
    let sio = SocketIoConfig::default()
        .connect_timeout(Duration::from_millis(c.connect_timeout_ms))
        .max_attachments(c.max_attachments)
        .parser(match c.parser {
            PacketParser::Json => Parser::Json,
            PacketParser::Msgpack => Parser::Msgpack,
        })
        .recovery(recovery)
        .recovery_max_packets(c.recovery_max_packets)
        .recovery_max_bytes(c.recovery_max_bytes);
    let builder = SocketIo::builder().config(sio);
    match adapter {
        Some(a) => builder.adapter(a).build(),
        None => builder.build(),
    }
}

/// The engine config for `config`, serving `path` (CORS is answered by the
/// HTTP layer from the live settings, so the engine's own is off).
pub fn engine_config(config: &Config, path: &str) -> EngineConfig {
    let c = &config.connection;
    let t = &c.transports;
    EngineConfig::default()
        .path(path.to_owned())
        .ping_interval(Duration::from_millis(c.ping_interval_ms))
        .ping_timeout(Duration::from_millis(c.ping_timeout_ms))
        .max_payload(c.max_payload)
        .send_buffer(c.send_buffer)
        .slow_client(match c.slow_client {
            SlowClient::Close => SlowClientPolicy::Close,
            SlowClient::Error => SlowClientPolicy::Error,
        })
        .header_read_timeout(Duration::from_millis(c.header_read_timeout_ms))
        .body_read_timeout(Duration::from_millis(c.body_read_timeout_ms))
        .upgrade_timeout(Duration::from_millis(c.upgrade_timeout_ms))
        .linger_timeout(Duration::from_millis(c.linger_timeout_ms))
        .linger_bytes(c.linger_bytes)
        .max_packets_per_post(c.max_packets_per_post)
        .ws_read_buffer(c.ws_read_buffer)
        .allow_eio3(c.allow_eio3)
        .allow_jsonp(c.allow_jsonp)
        .http_compression((c.compression_threshold > 0).then_some(c.compression_threshold))
        .per_message_deflate(c.per_message_deflate.then(|| {
            let bits = c.per_message_deflate_client_max_window_bits;
            PerMessageDeflate::default()
                .threshold(c.per_message_deflate_threshold)
                .level(c.per_message_deflate_level)
                .client_max_window_bits((bits != 0).then_some(bits))
        }))
        .transports(Transports {
            polling: t.contains(&Transport::Polling),
            websocket: t.contains(&Transport::Websocket),
        })
        // The live max_connections is enforced before the engine; this is a
        // backstop far above it.
        .max_sessions(c.max_connections.saturating_mul(4).max(100_000))
}

/// Installs the middleware and handlers on `/` and the configured
/// namespaces, and builds the engines: one per engine path, all feeding
/// the one Socket.IO server (a namespace, its rooms and sockets are the
/// same whichever path a client came by).
pub fn install(state: &Arc<State>) -> Engines {
    let config = state.live().config.clone();
    let gw = Gateway::new(&config);
    let names = std::iter::once("/".to_owned()).chain(config.namespaces.keys().cloned());
    for name in names {
        let nsp = state.io.of(&name);
        let (st, g) = (state.clone(), gw.clone());
        nsp.use_middleware(move |socket| {
            let (st, g) = (st.clone(), g.clone());
            async move { authorize(&st, &g, &socket).await }
        });
        let (st, g) = (state.clone(), gw.clone());
        nsp.on_connection(move |socket| {
            let (st, g) = (st.clone(), g.clone());
            async move { on_connection(&st, &g, socket) }
        });
    }
    let st = Arc::downgrade(state);
    // Refused Admin UI logins count with the other authentication failures.
    let refused = move |code: &str| {
        if let Some(st) = st.upgrade() {
            st.metrics.auth_failures_total.inc(&[code]);
        }
    };
    crate::admin_ui::install(
        &state.io,
        &config,
        state.cluster.as_ref().and_then(|c| c.redis()),
        refused,
    );
    let engines = Engines::new(
        config
            .server
            .path
            .iter()
            .map(|p| {
                let bridge = Bridge {
                    state: Arc::downgrade(state),
                };
                (p.to_owned(), Engine::new(engine_config(&config, p), bridge))
            })
            .collect(),
    );
    let _ = state.engines.set(engines.clone());
    engines
}

fn refuse(message: String, code: &str) -> ConnectError {
    ConnectError::new(message).with_data(json!({ "code": code }))
}

/// The connection middleware: token, role, namespace permissions, then
/// the connection proxy (when on; the user it names replaces the token's,
/// with its role's permissions checked again), then the recovery check.
/// Holds no lock across its await.
async fn authorize(st: &State, gw: &Gateway, socket: &Socket) -> Result<(), ConnectError> {
    let live = st.live();
    let cfg = &live.config;
    // Namespace CONNECTs count against the connection's event budget, so a
    // client cannot churn namespaces (and token checks) for free.
    if let Err(retry) = check_event_limit(&live, socket) {
        st.metrics.rate_limited_total.inc(&["event"]);
        return Err(ConnectError::new("Rate limit exceeded").with_data(json!({
            "code": "RATE_LIMITED",
            "retryAfter": retry_secs(retry),
        })));
    }
    let mut user = identify(st, cfg, socket).await?;
    let admitted = gw.admit(st, socket, &user).await?;
    if admitted.user_id.is_some() || admitted.role.is_some() {
        // The backend says who this is: its id and role replace the token's.
        if let Some(id) = admitted.user_id {
            user.id = Some(id);
            user.numeric_id = admitted.numeric_id;
        }
        if let Some(role) = admitted.role {
            user.role = role;
        }
        permitted(st, cfg, &user, socket.nsp().name())?;
    }
    if !admitted.data.is_null() {
        socket.set_data(admitted.data);
    }
    if socket.recovered() && !same_user(socket, &user, live.server_rooms()) {
        // Another user (or none) on this session: it must not get the
        // first one's rooms or missed packets.
        st.metrics.auth_failures_total.inc(&["RECOVERY_REFUSED"]);
        return Err(refuse(
            "Session belongs to another user; connect again".into(),
            "RECOVERY_REFUSED",
        ));
    }
    // Rooms are joined here, before the CONNECT answer: a push or broadcast
    // sent once the client sees `connect` reaches it (a refused or
    // abandoned socket leaves them again).
    bind_user(socket, user, live.server_rooms());
    Ok(())
}

/// Whether a recovered socket's old session was `user`'s. Its data and
/// rooms are back already (recovery runs the middleware again, before
/// anything missed is sent). A session from this node kept the typed user;
/// one from another node (the Redis Streams adapter keeps rooms and JSON
/// data) names its user by its per-user rooms (`user_<id>`, `user-<id>`:
/// every prefix of `events.reserved_room_prefixes`).
fn same_user(socket: &Socket, user: &User, rooms: ServerRooms<'_>) -> bool {
    if let Some(old) = user_of(socket) {
        return old.id == user.id;
    }
    socket
        .rooms()
        .iter()
        .filter_map(|r| rooms.owner(r))
        .all(|owner| Some(owner) == user.id.as_deref())
}

/// The user the handshake's token names, with the role's permissions for
/// the socket's namespace checked.
async fn identify(st: &State, cfg: &Config, socket: &Socket) -> Result<User, ConnectError> {
    let ns = socket.nsp().name();
    let required =
        cfg.auth.require_authentication || cfg.namespaces.get(ns).is_some_and(|n| n.require_auth);
    let fail = |code: &str| st.metrics.auth_failures_total.inc(&[code]);
    let user = match token(socket.handshake()) {
        Ok(Some(t)) => match st.verify_token(&t).await {
            Ok(claims) => User::from_claims(claims, &cfg.auth.default_role),
            Err(e) => {
                fail(e.code());
                tracing::info!(namespace = %ns, reason = e.code(), "authentication failed");
                return Err(refuse(format!("Authentication failed: {e}"), e.code()));
            }
        },
        Ok(None) if required => {
            fail("AUTH_REQUIRED");
            tracing::info!(namespace = %ns, "authentication required, no token");
            return Err(refuse("Authentication required".into(), "AUTH_REQUIRED"));
        }
        Ok(None) => User::anonymous(&cfg.auth.anonymous_role),
        Err(e) => {
            fail(e.code());
            return Err(refuse(format!("Authentication failed: {e}"), e.code()));
        }
    };
    permitted(st, cfg, &user, ns)?;
    Ok(user)
}

/// Whether `user`'s role may connect, to namespace `ns`.
fn permitted(st: &State, cfg: &Config, user: &User, ns: &str) -> Result<(), ConnectError> {
    let perms = cfg.role(&user.role);
    let fail = || st.metrics.auth_failures_total.inc(&["FORBIDDEN"]);
    if !perms.can_connect {
        fail();
        return Err(refuse(
            format!("Forbidden: role `{}` may not connect", user.role),
            "FORBIDDEN",
        ));
    }
    if !perms.allows_namespace(ns) {
        fail();
        return Err(refuse(
            format!(
                "Forbidden: role `{}` may not join namespace `{ns}`",
                user.role
            ),
            "FORBIDDEN",
        ));
    }
    Ok(())
}

fn on_connection(st: &Arc<State>, gw: &Arc<Gateway>, socket: Socket) {
    let user = user_of(&socket)
        .unwrap_or_else(|| Arc::new(User::anonymous(&st.live().config.auth.anonymous_role)));
    let ns = socket.nsp().name().to_owned();
    let transport = match socket.handshake().query("transport").as_deref() {
        Some("websocket") => "websocket",
        _ => "polling",
    };
    let authenticated = if user.id.is_some() { "true" } else { "false" };
    st.metrics
        .connections_total
        .inc(&[authenticated, transport]);
    st.metrics.sockets_delta(&ns, 1);
    let live = st.live();
    if live.config.monitoring.connection_logging {
        tracing::info!(
            socket = %socket.id(), namespace = %ns, user = user.id.as_deref().unwrap_or("-"),
            role = %user.role, transport, address = %socket.handshake().address.map_or_else(|| "-".to_owned(), |a| a.to_string()), "socket connected"
        );
    }
    if live.config.monitoring.event_logging {
        let m = live.config.monitoring.max_event_log;
        st.monitor.log(
            "connection",
            json!({ "namespace": ns, "socketId": socket.public_id(), "userId": user.id_json() }),
            m,
        );
    }
    let sid = socket.id();
    st.dashboard_record(&live, || Record {
        kind: Kind::Connect,
        event: "connect",
        namespace: &ns,
        socket_id: Some(sid.as_str()),
        bytes: 0,
        recipients: None,
    });
    let st2 = st.clone();
    socket.use_packet(move |s, event, data| on_packet(&st2, s, event, data));
    socket.on_refused_ack(answer_refused_ack);
    let st2 = st.clone();
    socket.on_disconnect(move |s, reason| on_disconnect(&st2, s, reason));
    crate::events::install(st, &socket);
    crate::gateway::install(gw, st, &socket);
}

/// Every event of a socket: counted, logged, and refused with the `error`
/// event over the connection's event limit.
fn on_packet(st: &State, s: &Socket, event: &str, data: &Data) -> PacketVerdict {
    st.metrics
        .events_received_total
        .fetch_add(1, Ordering::Relaxed);
    let live = st.live();
    let mon = &live.config.monitoring;
    let name = short_name(event);
    // Counted without a shared lock; the log's lock only when logging.
    st.monitor.count(name, mon.max_event_types);
    if mon.event_logging {
        let user = user_id_json(s);
        st.monitor.log(
            name,
            json!({ "namespace": s.nsp().name(), "socketId": s.public_id(), "userId": user }),
            mon.max_event_log,
        );
    }
    let (sid, nsp) = (s.id(), s.nsp());
    st.dashboard_record(&live, || Record {
        kind: Kind::In,
        event: name,
        namespace: nsp.name(),
        socket_id: Some(sid.as_str()),
        bytes: payload_bytes(data),
        recipients: None,
    });
    match check_event_limit(&live, s) {
        Ok(()) => Ok(()),
        Err(retry) => {
            st.metrics.rate_limited_total.inc(&["event"]);
            st.metrics.events_sent_total.fetch_add(1, Ordering::Relaxed);
            let refusal = json!({
                "event": name,
                "message": "Rate limit exceeded",
                "code": "RATE_LIMITED",
                "retryAfter": retry_secs(retry),
            });
            let _ = s.emit("error", refusal.clone());
            // The event's ack, if it asked for one, is answered by
            // `answer_refused_ack` with this.
            Err(Some(Data::from(refusal)))
        }
    }
}

/// The ack of an event refused over the rate limit: `{success: false,
/// error, code: "RATE_LIMITED", retryAfter}`, so that the client's callback
/// gets an answer rather than its timeout.
fn answer_refused_ack(_: &Socket, _: &str, refusal: Option<&Data>, ack: AckSender) {
    let r = refusal
        .and_then(|d| d.args().first())
        .cloned()
        .unwrap_or_default();
    let _ = ack.send(json!({
        "success": false,
        "error": r.get("message").cloned().unwrap_or_else(|| "Refused".into()),
        "code": r.get("code").cloned().unwrap_or_else(|| "REFUSED".into()),
        "retryAfter": r.get("retryAfter").cloned().unwrap_or_default(),
    }));
}

/// A socket disconnected: metrics, the events' close hooks, logs.
fn on_disconnect(st: &Arc<State>, s: &Socket, reason: &DisconnectReason) {
    st.metrics.disconnections_total.inc(&[reason.as_str()]);
    st.metrics.sockets_delta(s.nsp().name(), -1);
    crate::events::closed(st, s);
    crate::gateway::closed(s);
    let live = st.live();
    if live.config.monitoring.connection_logging {
        tracing::info!(socket = %s.id(), namespace = %s.nsp().name(), reason = reason.as_str(), "socket disconnected");
    }
    if live.config.monitoring.event_logging {
        let m = live.config.monitoring.max_event_log;
        st.monitor.log("disconnect", json!({ "namespace": s.nsp().name(), "socketId": s.public_id(), "reason": reason.as_str() }), m);
    }
    let (sid, nsp) = (s.id(), s.nsp());
    st.dashboard_record(&live, || Record {
        kind: Kind::Disconnect,
        event: reason.as_str(),
        namespace: nsp.name(),
        socket_id: Some(sid.as_str()),
        bytes: 0,
        recipients: None,
    });
}

/// Longest event name recorded in statistics, logs and error replies;
/// longer names are recorded as [`OTHER`].
pub const MAX_EVENT_NAME: usize = 128;

/// `event`, or [`OTHER`] when longer than [`MAX_EVENT_NAME`] bytes.
fn short_name(event: &str) -> &str {
    if event.len() <= MAX_EVENT_NAME {
        event
    } else {
        OTHER
    }
}

/// Counts one event (or namespace CONNECT) of the socket's connection.
fn check_event_limit(live: &Live, socket: &Socket) -> Result<(), Duration> {
    let rl = &live.config.rate_limits;
    let Some(limit) = live.per_minute(rl.events_per_minute) else {
        return Ok(());
    };
    let burst = (rl.events_per_second > 0).then_some(Limit {
        max: rl.events_per_second,
        per: Duration::from_secs(1),
    });
    let Some(conn) = socket
        .conn()
        .as_any()
        .and_then(|a| a.downcast_ref::<Counted>())
    else {
        return Ok(());
    };
    lock(&conn.limiter).check(limit, burst, conn.clock.now())
}

/// The Engine.IO socket `s` rides on (`None` for a connection of another
/// kind).
pub fn engine_of(s: &Socket) -> Option<&engineio::Socket> {
    let c = s.conn().as_any()?.downcast_ref::<Counted>()?;
    Some(&c.socket)
}

/// An engine connection: counts the bytes the Socket.IO layer sends and
/// the sends a full send buffer refuses, and holds the connection's event
/// limiter (shared by its namespace sockets).
struct Counted {
    socket: engineio::Socket,
    state: std::sync::Weak<State>,
    limiter: Mutex<EventLimiter>,
    clock: Clock,
    /// `connection.slow_client`, fixed at start (the engine's policy).
    policy: SlowClient,
    /// A send was refused by a full send buffer.
    full_seen: AtomicBool,
    /// Its slow-client close was counted (once per connection: every
    /// broadcast until the engine closes it meets the full buffer again).
    close_counted: AtomicBool,
}

impl Conn for Counted {
    fn send(&self, packet: &Encoded) -> Result<(), SendError> {
        let st = self.state.upgrade();
        if let Some(st) = &st {
            let n = packet.wire_len();
            st.metrics
                .bytes_sent_total
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        let res = Conn::send(&self.socket, packet);
        if res == Err(SendError::Full) {
            self.full_seen.store(true, Ordering::Relaxed);
            if let Some(st) = &st {
                st.metrics
                    .send_buffer_full_total
                    .inc(&[self.policy.as_str()]);
            }
        }
        res
    }

    /// Under the `error` policy the Socket.IO layer closes a connection
    /// whose buffer refused a broadcast (or held packets): counted once
    /// here as a slow-client close. Under `close` the engine closed it
    /// already and [`Bridge::on_close`] counts it.
    fn close(&self) {
        if self.policy == SlowClient::Error
            && self.full_seen.load(Ordering::Relaxed)
            && !self.close_counted.swap(true, Ordering::Relaxed)
        {
            if let Some(st) = self.state.upgrade() {
                st.metrics.slow_client_closed_total.inc(&["error"]);
            }
        }
        Conn::close(&self.socket)
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }

    fn transport(&self) -> Option<&'static str> {
        Conn::transport(&self.socket)
    }
}

/// Engine events to Socket.IO connections, with connection and byte counts.
struct Bridge {
    state: std::sync::Weak<State>,
}

impl engineio::Handler for Bridge {
    fn on_connect(&self, socket: &engineio::Socket) {
        let Some(st) = self.state.upgrade() else {
            socket.close();
            return;
        };
        st.metrics
            .active_connections
            .fetch_add(1, Ordering::Relaxed);
        let info = ConnectionInfo::from(socket.handshake());
        let conn = Arc::new(Counted {
            socket: socket.clone(),
            state: self.state.clone(),
            limiter: Mutex::new(EventLimiter::new(st.clock.now())),
            clock: st.clock.clone(),
            policy: st.live().config.connection.slow_client,
            full_seen: AtomicBool::new(false),
            close_counted: AtomicBool::new(false),
        });
        let c = st.io.accept(conn, info);
        let _ = socket.set_data(c);
    }

    fn on_message(&self, socket: &engineio::Socket, text: Str) {
        self.count(text.len());
        if let Some(c) = socket.data::<Connection>() {
            c.handle_message(text, None);
        }
    }

    fn on_binary(&self, socket: &engineio::Socket, data: Bytes) {
        self.count(data.len());
        if let Some(c) = socket.data::<Connection>() {
            c.handle_binary(data);
        }
    }

    fn on_close(&self, socket: &engineio::Socket, reason: CloseReason) {
        if let Some(st) = self.state.upgrade() {
            st.metrics
                .active_connections
                .fetch_sub(1, Ordering::Relaxed);
            if reason == CloseReason::SlowClient {
                st.metrics.slow_client_closed_total.inc(&["close"]);
            }
        }
        if let Some(c) = socket.data::<Connection>() {
            c.handle_close(DisconnectReason::from(&reason));
        }
    }
}

impl Bridge {
    fn count(&self, n: usize) {
        if let Some(st) = self.state.upgrade() {
            st.metrics
                .bytes_received_total
                .fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_knobs_reach_the_engine() {
        let toml = "[connection]\nsend_buffer = 7\nslow_client = \"close\"\n\
                    header_read_timeout_ms = 1234\nbody_read_timeout_ms = 2345\n\
                    upgrade_timeout_ms = 3456\nmax_packets_per_post = 9\nws_read_buffer = 128\nallow_eio3 = true\nallow_jsonp = true\n\
                    linger_timeout_ms = 0\nlinger_bytes = 4096\n\
                    per_message_deflate = true\nper_message_deflate_threshold = 2048\n\
                    per_message_deflate_level = 1\nper_message_deflate_client_max_window_bits = 10\n";
        let c = Config::from_toml(toml).unwrap();
        let e = engine_config(&c, "/socket.io/");
        assert_eq!(e.send_buffer, 7);
        assert_eq!(e.slow_client, SlowClientPolicy::Close);
        assert_eq!(e.header_read_timeout, Duration::from_millis(1234));
        assert_eq!(e.body_read_timeout, Duration::from_millis(2345));
        assert_eq!(e.upgrade_timeout, Duration::from_millis(3456));
        assert_eq!(e.max_packets_per_post, 9);
        assert_eq!(e.ws_read_buffer, 128);
        assert_eq!(e.linger_timeout, Duration::ZERO);
        assert_eq!(e.linger_bytes, 4096);
        assert!(e.allow_eio3);
        assert!(e.allow_jsonp);
        let deflate = e.per_message_deflate.unwrap();
        assert_eq!(deflate.threshold, 2048);
        assert_eq!(deflate.level, 1);
        assert_eq!(deflate.client_max_window_bits, Some(10));
        assert!(!deflate.context_takeover);
        let d = engine_config(&Config::default(), "/x/");
        assert_eq!(d.path, "/x/");
        let defaults = EngineConfig::default();
        assert_eq!(d.send_buffer, defaults.send_buffer);
        assert_eq!(d.slow_client, defaults.slow_client);
        assert_eq!(d.header_read_timeout, defaults.header_read_timeout);
        assert_eq!(d.body_read_timeout, defaults.body_read_timeout);
        assert_eq!(d.upgrade_timeout, defaults.upgrade_timeout);
        assert_eq!(d.max_packets_per_post, defaults.max_packets_per_post);
        assert_eq!(d.ws_read_buffer, defaults.ws_read_buffer);
        assert_eq!(d.linger_timeout, defaults.linger_timeout);
        assert_eq!(d.linger_bytes, defaults.linger_bytes);
        assert!(!d.allow_eio3);
        assert!(!d.allow_jsonp);
        assert_eq!(d.per_message_deflate, None);
    }
}
