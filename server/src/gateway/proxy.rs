//! The event proxy (`[[proxy]]`): a matching client event is POSTed to the
//! rule's backend as `{event, args, socketId, userId, role, namespace,
//! rooms, data}` (`data`: what the connection proxy attached, else
//! `null`), signed (see [`super::backend`]). The answer, a JSON object:
//!
//! - `{ack: [...]}`: the client's ack arguments (a value that is not a
//!   list is the one argument); without `ack` the ack is
//!   `{success: true}`.
//! - `{error: {message, code}}`: the ack is `{success: false, error, code}`
//!   and nothing else of the answer applies.
//! - `join: [room...]`, `leave: [room...]`: rooms the socket joins and
//!   leaves (not the server's own rooms), then `emit: [{to, event, data,
//!   exceptSender}]`: `event` with `data` (one argument; none when absent)
//!   to the socket itself when `to` is absent, else to the sockets of the
//!   room or rooms `to` names in the socket's namespace (the sender too
//!   when it is in one, unless `exceptSender`). The ack comes last.
//!
//! A timeout, an unreachable backend, a non-2xx status or an answer not of
//! this shape gives `{success: false, error, code: "BACKEND_UNAVAILABLE"}`
//! and applies nothing; an event refused before the call (its socket has
//! `max_queued_per_socket` waiting) gets `BACKEND_BUSY`. Without an ack
//! the refusals arrive as the `error` event `{event, message, code}`.
//!
//! Each socket has one queue: its events reach the backend in the order
//! sent, at most `max_concurrent_per_socket` at a time, and their answers
//! apply in that order; `max_concurrent` bounds the requests in flight
//! over every socket. An event's `timeout_ms` counts from its arrival.
//! Binary arguments are not proxied (`BINARY_NOT_SUPPORTED`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Map, Value};
use socketio::packet::RESERVED_EVENTS;
use socketio::{AckSender, Data, Socket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::backend::CallError;
use super::{count_sent, refuse, too_long, Gateway, Target};
use crate::events::check_room;
use crate::identity::user_of;
use crate::metrics::GatewayMetrics;
use crate::state::{Live, State};

/// The refusal code of an event the backend did not answer.
pub const UNAVAILABLE: &str = "BACKEND_UNAVAILABLE";
/// The refusal code of an event refused because its socket's queue is full.
pub const BUSY: &str = "BACKEND_BUSY";

/// A socket's queue of proxied events, kept in the socket's data.
#[derive(Clone)]
struct Pipe {
    tx: mpsc::UnboundedSender<Job>,
    /// Events queued or in flight (bounded by `max_queued_per_socket`).
    pending: Arc<AtomicUsize>,
}

/// One proxied event, waiting or in flight.
struct Job {
    rule: usize,
    socket: Socket,
    event: String,
    args: Vec<Value>,
    ack: Option<AckSender>,
    deadline: Instant,
}

/// Queues `event` for rule `rule`'s backend, or refuses it at once.
#[allow(clippy::too_many_arguments)]
pub(super) fn enqueue(
    gw: &Arc<Gateway>,
    st: &Arc<State>,
    live: &Live,
    rule: usize,
    s: &Socket,
    event: String,
    data: Data,
    ack: Option<AckSender>,
) {
    let Some(target) = gw.proxies.get(rule) else {
        return;
    };
    if !s.connected() {
        // Gone already: no queue is made for it (its old one closed).
        return;
    }
    if !data.attachments().is_empty() {
        let m = "Binary arguments are not proxied";
        return refuse(st, s, &event, ack, "BINARY_NOT_SUPPORTED", m);
    }
    if too_long(live, &data) {
        return refuse(
            st,
            s,
            &event,
            ack,
            "MESSAGE_TOO_LARGE",
            "Message is too long",
        );
    }
    let pipe = s.get::<Pipe>().unwrap_or_else(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        let pipe = Pipe {
            tx,
            pending: Arc::new(AtomicUsize::new(0)),
        };
        tokio::spawn(run(gw.clone(), st.clone(), rx, pipe.pending.clone()));
        s.insert(pipe.clone());
        pipe
    });
    if pipe.pending.fetch_add(1, Ordering::AcqRel) >= gw.limits.max_queued_per_socket {
        pipe.pending.fetch_sub(1, Ordering::AcqRel);
        st.metrics
            .gateway
            .proxy_requests_total
            .inc(&["event", "busy"]);
        let m = "Too many events waiting for the backend";
        return refuse(st, s, &event, ack, BUSY, m);
    }
    let job = Job {
        rule,
        socket: s.clone(),
        event,
        args: data.into_parts().0,
        ack,
        deadline: Instant::now() + target.timeout,
    };
    if let Err(mpsc::error::SendError(job)) = pipe.tx.send(job) {
        // The worker ended (it never does while the socket holds the pipe).
        pipe.pending.fetch_sub(1, Ordering::AcqRel);
        unavailable(st, job);
    }
}

/// The socket disconnected: its queue closes once its events are done.
pub(super) fn closed(socket: &Socket) {
    socket.remove::<Pipe>();
}

/// A job that started, and the backend call it is waiting for.
struct Started {
    job: Job,
    call: JoinHandle<Result<Map<String, Value>, CallError>>,
}

/// One socket's worker: starts its events in order, at most
/// `max_concurrent_per_socket` at a time, and applies their answers in
/// the same order. Ends when the queue closes and the last is done.
async fn run(
    gw: Arc<Gateway>,
    st: Arc<State>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    pending: Arc<AtomicUsize>,
) {
    let per_socket = gw.limits.max_concurrent_per_socket;
    let mut inflight: VecDeque<Started> = VecDeque::new();
    let mut open = true;
    while open || !inflight.is_empty() {
        let room = open && inflight.len() < per_socket;
        let oldest = async {
            match inflight.front_mut() {
                Some(s) => (&mut s.call).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            result = oldest => {
                let Some(Started { job, .. }) = inflight.pop_front() else { continue };
                pending.fetch_sub(1, Ordering::AcqRel);
                let result = result.unwrap_or_else(|e| Err(CallError::Unreachable(e.to_string())));
                answer(&gw, &st, job, result);
            }
            job = rx.recv(), if room => match job {
                Some(job) => match start(&gw, &st, job) {
                    Some(s) => inflight.push_back(s),
                    None => {
                        pending.fetch_sub(1, Ordering::AcqRel);
                    }
                },
                None => open = false,
            },
        }
    }
}

/// Starts `job`'s backend call; `None` when its socket left meanwhile.
fn start(gw: &Arc<Gateway>, st: &Arc<State>, job: Job) -> Option<Started> {
    if !job.socket.connected() {
        return None;
    }
    let target = gw.proxies.get(job.rule)?.clone();
    let s = &job.socket;
    let user = user_of(s);
    let own = s.public_id().to_owned();
    let rooms: Vec<String> = s.rooms().into_iter().filter(|r| *r != own).collect();
    let body = json!({
        "event": job.event,
        "args": job.args,
        "socketId": own,
        "userId": user.as_ref().map_or(Value::Null, |u| u.id_json()),
        "role": user.as_ref().map(|u| u.role.clone()),
        "namespace": s.nsp().name(),
        "rooms": rooms,
        "data": s.data(),
    });
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let (gw2, st2, deadline) = (gw.clone(), st.clone(), job.deadline);
    let call = tokio::spawn(async move { gw2.call(&st2, &target, body, deadline).await });
    Some(Started { job, call })
}

impl Gateway {
    /// One backend call within `deadline`: a turn among the
    /// `max_concurrent` requests in flight, then the request, timed and
    /// counted as in flight.
    pub(super) async fn call(
        &self,
        st: &State,
        target: &Target,
        body: Vec<u8>,
        deadline: Instant,
    ) -> Result<Map<String, Value>, CallError> {
        let Some(url) = &target.url else {
            return Err(CallError::Unreachable(format!("bad URL {}", target.shown)));
        };
        let turn = self.permits.clone().acquire_owned();
        let _permit = match tokio::time::timeout_at(deadline.into(), turn).await {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => return Err(CallError::Unreachable("shutting down".into())),
            Err(_) => return Err(CallError::Timeout),
        };
        let _counted = InFlight::start(&st.metrics.gateway);
        self.backend.post(url, &target.secret, body, deadline).await
    }
}

/// A backend request in flight: counted in the gauge until dropped (also
/// when its task is cancelled), then timed.
struct InFlight<'a> {
    m: &'a GatewayMetrics,
    started: Instant,
}

impl<'a> InFlight<'a> {
    fn start(m: &'a GatewayMetrics) -> Self {
        m.proxy_in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight {
            m,
            started: Instant::now(),
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let m = self.m;
        m.proxy_in_flight.fetch_sub(1, Ordering::Relaxed);
        m.proxy_request_micros
            .fetch_add(self.started.elapsed().as_micros() as u64, Ordering::Relaxed);
        m.proxy_request_count.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a backend answer asks for.
#[derive(Debug, PartialEq)]
enum Reply {
    /// `{error}`: the ack is this refusal, nothing else applies.
    Refused { code: String, message: String },
    /// The rest: joins, leaves, emits, then the ack.
    Done {
        ack: Option<Vec<Value>>,
        join: Vec<String>,
        leave: Vec<String>,
        emit: Vec<Emit>,
    },
}

/// One entry of an answer's `emit`.
#[derive(Debug, PartialEq)]
struct Emit {
    /// Rooms, or `None` for the socket itself.
    to: Option<Vec<String>>,
    event: String,
    data: Option<Value>,
    except_sender: bool,
}

/// Reads a backend answer; `Err` says why it is not of the protocol.
/// Rooms are checked with `room_ok`.
fn parse_reply(o: &Map<String, Value>, room_ok: &dyn Fn(&str) -> bool) -> Result<Reply, String> {
    if let Some(e) = o.get("error").filter(|e| !e.is_null()) {
        let (message, code) = match e {
            Value::String(m) => (Some(m.as_str()), None),
            Value::Object(e) => (
                e.get("message").and_then(Value::as_str),
                e.get("code").and_then(Value::as_str),
            ),
            _ => return Err("`error` must be an object {message, code}".into()),
        };
        return Ok(Reply::Refused {
            code: code.unwrap_or("BACKEND_ERROR").to_owned(),
            message: message.unwrap_or("Refused by the backend").to_owned(),
        });
    }
    let ack = match o.get("ack") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(a.clone()),
        Some(v) => Some(vec![v.clone()]),
    };
    let rooms = |key: &str| -> Result<Vec<String>, String> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|r| match r.as_str() {
                    Some(r) if room_ok(r) => Ok(r.to_owned()),
                    _ => Err(format!("`{key}`: {r} is not a room a socket may be in")),
                })
                .collect(),
            Some(_) => Err(format!("`{key}` must be a list of rooms")),
        }
    };
    let emit = match o.get("emit") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(parse_emit).collect::<Result<_, _>>()?,
        Some(_) => return Err("`emit` must be a list of {to, event, data}".into()),
    };
    Ok(Reply::Done {
        ack,
        join: rooms("join")?,
        leave: rooms("leave")?,
        emit,
    })
}

fn parse_emit(v: &Value) -> Result<Emit, String> {
    let Some(o) = v.as_object() else {
        return Err("an `emit` entry must be an object".into());
    };
    let event = match o.get("event").and_then(Value::as_str) {
        Some(e) if !e.is_empty() && !RESERVED_EVENTS.contains(&e) => e.to_owned(),
        _ => return Err("an `emit` entry needs an `event` the server may emit".into()),
    };
    let to = match o.get("to") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if !r.is_empty() => Some(vec![r.clone()]),
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|r| r.as_str().filter(|r| !r.is_empty()).map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or("`to` must be a room or a list of rooms")?,
        ),
        Some(_) => return Err("`to` must be a room or a list of rooms".into()),
    };
    Ok(Emit {
        to,
        event,
        data: o.get("data").cloned(),
        except_sender: o.get("exceptSender").and_then(Value::as_bool) == Some(true),
    })
}

/// Applies the backend's answer to `job`, or answers why there is none.
fn answer(gw: &Gateway, st: &State, job: Job, result: Result<Map<String, Value>, CallError>) {
    let live = st.live();
    let s = &job.socket;
    let rules = live.server_rooms();
    let max = live.config.events.max_room_name;
    let room_ok = |r: &str| {
        check_room(Some(&Value::String(r.to_owned())), max, rules).is_ok() && !rules.contains(r, s)
    };
    let reply = match result {
        Ok(o) => parse_reply(&o, &room_ok).map_err(CallError::Invalid),
        Err(e) => Err(e),
    };
    let count = |result: &str| {
        st.metrics
            .gateway
            .proxy_requests_total
            .inc(&["event", result])
    };
    match reply {
        Err(e) => {
            count(e.label());
            gw.warn(&format!(
                "event proxy: {} for `{}`: {e}",
                gw.proxies.get(job.rule).map_or("", |t| t.shown.as_str()),
                job.event
            ));
            unavailable(st, job);
        }
        Ok(Reply::Refused { code, message }) => {
            count("error");
            refuse(st, s, &job.event, job.ack, &code, &message);
        }
        Ok(Reply::Done {
            ack,
            join,
            leave,
            emit,
        }) => {
            count("ok");
            for r in &leave {
                s.leave(r);
            }
            if !join.is_empty() {
                s.join(join);
            }
            for e in emit {
                emit_one(st, s, e);
            }
            if let Some(a) = job.ack {
                let args = ack.unwrap_or_else(|| vec![json!({ "success": true })]);
                let _ = a.send(Data::from_parts(args, Vec::new()));
            }
        }
    }
}

fn emit_one(st: &State, s: &Socket, e: Emit) {
    let data = match e.data {
        Some(d) => Data::from_parts(vec![d], Vec::new()),
        None => Data::new(),
    };
    match e.to {
        None => {
            count_sent(st, 1);
            let _ = s.emit(&e.event, data);
        }
        Some(rooms) => {
            let op = match e.except_sender {
                true => s.to(rooms),
                false => s.nsp().to(rooms),
            };
            count_sent(st, s.nsp().adapter().local_sockets(op.options()).len());
            let _ = op.emit(&e.event, data);
        }
    }
}

/// Answers `job` with [`UNAVAILABLE`].
fn unavailable(st: &State, job: Job) {
    refuse(
        st,
        &job.socket,
        &job.event,
        job.ack,
        UNAVAILABLE,
        "Backend unavailable",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<Reply, String> {
        let any = |r: &str| !r.starts_with("user_");
        parse_reply(v.as_object().unwrap(), &any)
    }

    #[test]
    fn answers() {
        assert_eq!(
            parse(json!({})).unwrap(),
            Reply::Done {
                ack: None,
                join: vec![],
                leave: vec![],
                emit: vec![]
            }
        );
        assert_eq!(
            parse(json!({"error": {"message": "no", "code": "ORDER_CLOSED"}, "join": ["x"]}))
                .unwrap(),
            Reply::Refused {
                code: "ORDER_CLOSED".into(),
                message: "no".into()
            }
        );
        assert_eq!(
            parse(json!({"error": "nope"})).unwrap(),
            Reply::Refused {
                code: "BACKEND_ERROR".into(),
                message: "nope".into()
            }
        );
        let r = parse(json!({
            "ack": {"ok": 1},
            "join": ["order-1"],
            "emit": [{"to": "order-1", "event": "order:updated", "data": {"id": 1}, "exceptSender": true},
                     {"event": "note"}],
        }))
        .unwrap();
        let Reply::Done {
            ack, join, emit, ..
        } = r
        else {
            panic!()
        };
        assert_eq!(ack, Some(vec![json!({"ok": 1})]));
        assert_eq!(join, vec!["order-1".to_string()]);
        assert_eq!(emit[0].to, Some(vec!["order-1".to_string()]));
        assert!(emit[0].except_sender);
        assert_eq!(emit[1].to, None);
        assert_eq!(emit[1].data, None);
        for bad in [
            json!({"error": 3}),
            json!({"join": "room"}),
            json!({"join": ["user_1"]}),
            json!({"leave": [1]}),
            json!({"emit": {}}),
            json!({"emit": [{"event": "disconnect"}]}),
            json!({"emit": [{"event": ""}]}),
            json!({"emit": [{"event": "e", "to": 5}]}),
            json!({"emit": [{"event": "e", "to": [""]}]}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }
}
