//! The Socket.IO client logic shared by both transports: what the shared
//! [`Ctx`] counts, the commands a scenario gives a connection ([`Cmd`]), and
//! the per-connection [`Session`] that turns commands into packets and
//! incoming packets into counts, latencies and pongs.
//!
//! Packets are parsed by hand, only as far as the benchmark needs:
//! Engine.IO `2` (ping: answer `3`), `3`/`6` (ignored), `1` (closed), `4`
//! (message) carrying Socket.IO `2` (event: `broadcast` and `echo` are
//! counted), `3` (ack: latency recorded), `0` (connected again: ignored),
//! `1`/`4` (disconnected, refused: the connection ends with an error).

use std::collections::VecDeque;
use std::fmt::Display;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;

use super::cli::{Pad, Target};
use super::hist::Histogram;
use super::inflate::DeflateStats;

/// How many error messages go to stderr; later ones are only counted.
const LOGGED_ERRORS: u64 = 10;

/// State shared by every connection of a run.
pub struct Ctx {
    /// The server (node 0).
    pub target: Target,
    /// The second server of a cluster (node 1), when there is one.
    pub target_b: Option<Target>,
    /// Origin of the nanosecond timestamps kept in atomics.
    pub base: Instant,
    /// Failures of any kind: connections that failed or died, protocol
    /// errors, missing acks and deliveries (added by the scenarios).
    pub errors: AtomicU64,
    /// Errors told on stderr so far (at most [`LOGGED_ERRORS`]).
    logged: AtomicU64,
    /// Echo emits with an ack written so far.
    pub sent: AtomicU64,
    /// Acks received (with the right content).
    pub acked: AtomicU64,
    /// When the latest ack arrived, nanoseconds since [`Ctx::base`].
    pub last_ack_ns: AtomicU64,
    /// `echo` events received (answers to emits without an ack).
    pub echoes: AtomicU64,
    /// Ack round-trip latencies, from each emit's planned time.
    pub hist: Histogram,
    /// Handshake durations of the connections that opened (TCP connect to
    /// `40{...}`), not counting the wait for a handshake slot.
    pub connect_hist: Histogram,
    /// The broadcast round in progress.
    pub round: Round,
    /// Whether each delivery's latency (from the round's emit) is recorded
    /// into [`Ctx::delivery_hist`]; off unless a scenario asks.
    pub record_deliveries: bool,
    /// Broadcast delivery latencies of the current-round deliveries, by the
    /// node the receiving client is connected to (0: `target`, 1:
    /// `target_b`).
    pub delivery_hist: [Histogram; 2],
    /// The `echo` argument as JSON: a string of `--payload` bytes.
    pub echo_arg: String,
    /// Set while the run closes its connections: losses are expected then.
    pub closing: AtomicBool,
    /// With `--deflate`: WebSocket clients negotiate permessage-deflate and
    /// count what arrived compressed here.
    pub deflate: Option<Arc<DeflateStats>>,
    /// Compare every broadcast argument received, whole, with the one sent
    /// (`--payload` bytes, this padding); otherwise only its round prefix.
    pub verify_broadcasts: Option<(usize, Pad)>,
}

impl Ctx {
    /// A context for `target`, echoing strings of `payload` bytes.
    pub fn new(target: Target, payload: usize) -> Self {
        Self {
            target,
            target_b: None,
            base: Instant::now(),
            errors: AtomicU64::new(0),
            logged: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            last_ack_ns: AtomicU64::new(0),
            echoes: AtomicU64::new(0),
            hist: Histogram::new(),
            connect_hist: Histogram::new(),
            round: Round::default(),
            record_deliveries: false,
            delivery_hist: [Histogram::new(), Histogram::new()],
            echo_arg: format!("\"{}\"", "x".repeat(payload)),
            closing: AtomicBool::new(false),
            deflate: None,
            verify_broadcasts: None,
        }
    }

    /// With `deflate`, clients negotiate permessage-deflate, and every
    /// broadcast is checked whole against `round_arg(_, payload, pad)`.
    pub fn with_deflate(mut self, deflate: bool, payload: usize, pad: Pad) -> Self {
        if deflate {
            self.deflate = Some(Arc::default());
            self.verify_broadcasts = Some((payload, pad));
        }
        self
    }

    /// A second server (cluster scenarios), whose clients' delivery
    /// latencies are recorded apart from the first's.
    pub fn with_target_b(mut self, target_b: Option<Target>) -> Self {
        self.record_deliveries = target_b.is_some();
        self.target_b = target_b;
        self
    }

    /// The server of node `node` (1: `target_b` when set; else `target`).
    pub fn target_of(&self, node: usize) -> &Target {
        match (node, &self.target_b) {
            (1, Some(b)) => b,
            _ => &self.target,
        }
    }

    /// Counts one error; the first few are also told on stderr.
    pub fn error(&self, what: impl Display) {
        self.add_errors(1);
        if self.logged.fetch_add(1, Ordering::Relaxed) < LOGGED_ERRORS {
            eprintln!("loadgen: error: {what}");
        }
    }

    /// Counts `n` errors at once (missing acks, deliveries).
    pub fn add_errors(&self, n: u64) {
        self.errors.fetch_add(n, Ordering::Relaxed);
    }

    /// Errors so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Nanoseconds since [`Ctx::base`].
    pub fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }
}

/// The broadcast argument of round `round`: the JSON string
/// `"r<round>:…"`, `payload` bytes long (or just the prefix if longer),
/// padded as `pad` says.
pub fn round_arg(round: usize, payload: usize, pad: Pad) -> String {
    let mut s = format!("\"r{round}:");
    // The opening quote and `payload` bytes, or just the prefix.
    let end = (payload + 1).max(s.len());
    match pad {
        Pad::X => s.push_str(&"x".repeat(end.saturating_sub(s.len()))),
        Pad::Records => {
            // JSON-like records (quotes escaped), as a chat or presence
            // message would repeat them: compresses like real JSON.
            let mut i = 0;
            while s.len() < end {
                let rec = format!(
                    "{{\\\"id\\\":{i},\\\"user\\\":\\\"user-{}\\\",\\\"online\\\":{}}},",
                    i * 7919 % 100_000,
                    i % 3 == 0
                );
                s.push_str(&rec);
                i += 1;
            }
            // Not inside an escape `\"`.
            s.truncate(end);
            if s.ends_with('\\') {
                s.pop();
            }
        }
    }
    s.push('"');
    s
}

/// Counts the deliveries of one broadcast round across all connections:
/// each receiving task adds one; the one that reaches the target stamps the
/// time and wakes the waiting scenario. Deliveries of another round (late
/// ones) are counted apart as stale.
pub struct Round {
    /// The round being counted (`u64::MAX`: none).
    current: AtomicU64,
    /// Its deliveries so far.
    count: AtomicU64,
    /// Deliveries that complete it.
    target: AtomicU64,
    /// When it completed, nanoseconds since [`Ctx::base`].
    done_ns: AtomicU64,
    /// When its emit was handed to the sender, nanoseconds since
    /// [`Ctx::base`].
    sent_ns: AtomicU64,
    /// Deliveries that carried another round's number.
    pub stale: AtomicU64,
    /// Wakes the scenario when the round completes.
    notify: Notify,
}

impl Default for Round {
    fn default() -> Self {
        Self {
            current: AtomicU64::new(u64::MAX),
            count: AtomicU64::new(0),
            target: AtomicU64::new(u64::MAX),
            done_ns: AtomicU64::new(0),
            sent_ns: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            notify: Notify::new(),
        }
    }
}

impl Round {
    /// Starts round `round`, complete after `target` deliveries, its emit
    /// sent at `sent_ns` (nanoseconds since [`Ctx::base`]).
    pub fn start(&self, round: u64, target: u64, sent_ns: u64) {
        self.current.store(u64::MAX, Ordering::SeqCst);
        self.count.store(0, Ordering::SeqCst);
        self.target.store(target, Ordering::SeqCst);
        self.done_ns.store(0, Ordering::SeqCst);
        self.sent_ns.store(sent_ns, Ordering::SeqCst);
        self.current.store(round, Ordering::SeqCst);
    }

    /// One connection received round `round`'s broadcast; `ctx_now_ns`
    /// stamps the completion when this delivery completes the round.
    /// Returns whether the delivery was of the current round.
    pub fn deliver(&self, round: u64, ctx_now_ns: impl FnOnce() -> u64) -> bool {
        if self.current.load(Ordering::Acquire) != round {
            self.stale.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let n = self.count.fetch_add(1, Ordering::AcqRel) + 1;
        if n == self.target.load(Ordering::Acquire) {
            self.done_ns.store(ctx_now_ns(), Ordering::Release);
            self.notify.notify_one();
        }
        true
    }

    /// When the current round's emit was sent, nanoseconds since
    /// [`Ctx::base`].
    pub fn sent_ns(&self) -> u64 {
        self.sent_ns.load(Ordering::Acquire)
    }

    /// Deliveries of the current round so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }

    /// Waits until the round is complete or `deadline`; returns when it
    /// completed (nanoseconds since [`Ctx::base`]) or `None` on timeout.
    pub async fn wait(&self, deadline: tokio::time::Instant) -> Option<u64> {
        loop {
            if self.count() >= self.target.load(Ordering::Acquire) {
                return Some(self.done_ns.load(Ordering::Acquire));
            }
            if tokio::time::timeout_at(deadline, self.notify.notified())
                .await
                .is_err()
            {
                let done = self.count() >= self.target.load(Ordering::Acquire);
                return done.then(|| self.done_ns.load(Ordering::Acquire));
            }
        }
    }
}

/// What a scenario asks a connection to do.
#[derive(Debug)]
pub enum Cmd {
    /// Emit `echo` with an ack; latency counts from `planned`.
    Echo(Instant),
    /// Emit `echo` without an ack (the server answers with an `echo` event).
    EchoNoAck,
    /// Send this Socket.IO packet as is (e.g. `42["broadcast",...]`).
    Raw(String),
}

/// What a connection's task returns when it ends.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConnReport {
    /// `broadcast` events received.
    pub broadcasts: u64,
}

/// What to send back after an incoming packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// Nothing.
    None,
    /// An Engine.IO pong, `3`.
    Pong,
}

/// One connection's protocol state.
pub struct Session {
    /// The run's shared state.
    ctx: std::sync::Arc<Ctx>,
    /// The node it is connected to (see [`Ctx::target_of`]).
    node: usize,
    /// Ack id of the next emit.
    next_id: u64,
    /// Emits awaiting their ack: (id, planned time), oldest first.
    pending: VecDeque<(u64, Instant)>,
    /// What this connection counted.
    report: ConnReport,
}

/// Splits the decimal number at the start of `s`.
fn leading_number(s: &str) -> Option<(u64, &str)> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    if end == 0 || end > 19 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

/// At most 60 characters of `s`, for error messages.
fn clip(s: &str) -> &str {
    let mut end = s.len().min(60);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Session {
    /// A fresh session of a connection of `ctx` to node `node`.
    pub fn new(ctx: std::sync::Arc<Ctx>, node: usize) -> Self {
        Self {
            ctx,
            node,
            next_id: 0,
            pending: VecDeque::new(),
            report: ConnReport::default(),
        }
    }

    /// The shared context.
    pub fn ctx(&self) -> &std::sync::Arc<Ctx> {
        &self.ctx
    }

    /// The server it is connected to.
    pub fn target(&self) -> &Target {
        self.ctx.target_of(self.node)
    }

    /// What this connection counted.
    pub fn report(&self) -> ConnReport {
        self.report
    }

    /// The Engine.IO message packet for `cmd` (`4` then the Socket.IO
    /// packet, e.g. `42["echo","xx"]`); an echo with an ack is remembered
    /// as pending.
    pub fn packet(&mut self, cmd: Cmd) -> String {
        let arg = &self.ctx.echo_arg;
        match cmd {
            Cmd::Echo(planned) => {
                let id = self.next_id;
                self.next_id += 1;
                self.pending.push_back((id, planned));
                self.ctx.sent.fetch_add(1, Ordering::Relaxed);
                let mut p = String::with_capacity(arg.len() + 32);
                p.push_str("42");
                p.push_str(&id.to_string());
                p.push_str("[\"echo\",");
                p.push_str(arg);
                p.push(']');
                p
            }
            Cmd::EchoNoAck => format!("42[\"echo\",{arg}]"),
            Cmd::Raw(p) => p,
        }
    }

    /// Handles one incoming Engine.IO packet (text). `Err` ends the
    /// connection with that error.
    pub fn on_packet(&mut self, p: &str) -> Result<Reply, String> {
        match p.as_bytes().first() {
            Some(b'2') => Ok(Reply::Pong),
            Some(b'3' | b'6') => Ok(Reply::None),
            Some(b'4') => self.on_socketio(&p[1..]).map(|()| Reply::None),
            Some(b'1') => Err("the server closed the session".into()),
            _ => Err(format!("unexpected Engine.IO packet {:?}", clip(p))),
        }
    }

    /// Handles a Socket.IO packet (after the Engine.IO `4`).
    fn on_socketio(&mut self, p: &str) -> Result<(), String> {
        let (kind, mut rest) = p.split_at_checked(1).ok_or("empty Socket.IO packet")?;
        if rest.starts_with('/') {
            // A namespace other than the main one: not used here.
            rest = rest.split_once(',').map(|(_, r)| r).unwrap_or("");
        }
        match kind {
            "2" => {
                self.on_event(rest);
                Ok(())
            }
            "3" => {
                self.on_ack(rest);
                Ok(())
            }
            "0" => Ok(()),
            "1" => Err("disconnected by the server".into()),
            "4" => Err(format!("connect_error {:?}", clip(rest))),
            _ => Err(format!("unexpected Socket.IO packet {:?}", clip(p))),
        }
    }

    /// An event `["name",...]` (no ack id expected from these servers).
    fn on_event(&mut self, p: &str) {
        let p = leading_number(p).map(|(_, r)| r).unwrap_or(p);
        if let Some(rest) = p.strip_prefix("[\"broadcast\",\"r") {
            match leading_number(rest) {
                Some((round, tail)) if tail.starts_with(':') => {
                    if let Some((payload, pad)) = self.ctx.verify_broadcasts {
                        let want = round_arg(round as usize, payload, pad);
                        let got = p
                            .strip_prefix("[\"broadcast\",")
                            .and_then(|a| a.strip_suffix(']'));
                        if got != Some(want.as_str()) {
                            return self.ctx.error(format!("broadcast altered {:?}", clip(p)));
                        }
                    }
                    self.report.broadcasts += 1;
                    let ctx = &self.ctx;
                    // One clock read for both uses when latencies are kept.
                    let now = ctx.record_deliveries.then(|| ctx.now_ns());
                    let current = ctx
                        .round
                        .deliver(round, || now.unwrap_or_else(|| ctx.now_ns()));
                    if let (true, Some(now)) = (current, now) {
                        let latency = now.saturating_sub(ctx.round.sent_ns());
                        ctx.delivery_hist[self.node.min(1)].record(latency);
                    }
                }
                _ => self.ctx.error(format!("malformed broadcast {:?}", clip(p))),
            }
        } else if p.starts_with("[\"echo\",") {
            self.ctx.echoes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An ack `<id>[arg]`: must answer a pending emit with its argument.
    fn on_ack(&mut self, p: &str) {
        let now = Instant::now();
        let Some((id, args)) = leading_number(p) else {
            return self.ctx.error(format!("ack without an id {:?}", clip(p)));
        };
        let planned = if self.pending.front().is_some_and(|&(i, _)| i == id) {
            self.pending.pop_front().map(|(_, t)| t)
        } else {
            let at = self.pending.iter().position(|&(i, _)| i == id);
            at.and_then(|at| self.pending.remove(at)).map(|(_, t)| t)
        };
        let Some(planned) = planned else {
            return self.ctx.error(format!("ack {id} for no pending emit"));
        };
        let arg = &self.ctx.echo_arg;
        let ok = args.len() == arg.len() + 2
            && args.starts_with('[')
            && args.ends_with(']')
            && &args[1..args.len() - 1] == arg.as_str();
        if !ok {
            return self
                .ctx
                .error(format!("ack {id} with the wrong argument {:?}", clip(args)));
        }
        let ctx = &self.ctx;
        ctx.hist
            .record(now.saturating_duration_since(planned).as_nanos() as u64);
        ctx.acked.fetch_add(1, Ordering::Relaxed);
        let at = now.saturating_duration_since(ctx.base).as_nanos() as u64;
        ctx.last_ack_ns.fetch_max(at, Ordering::Relaxed);
    }
}

/// `&room=NAME`, percent-encoded, or nothing.
pub fn room_query(room: Option<&str>) -> String {
    let Some(room) = room else {
        return String::new();
    };
    let mut q = String::from("&room=");
    for b in room.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            q.push(b as char);
        } else {
            q.push_str(&format!("%{b:02X}"));
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_arguments_are_json_strings_of_the_payload_size() {
        for pad in [Pad::X, Pad::Records] {
            for payload in [0, 3, 100, 1000, 3000] {
                let arg = round_arg(7, payload, pad);
                let v: serde_json::Value = serde_json::from_str(&arg).expect("a JSON string");
                let text = v.as_str().expect("a string");
                assert!(text.starts_with("r7:"), "{arg}");
                // Records: an escape `\"` is one character once decoded.
                let raw = arg.len() - 2;
                assert!(
                    raw == payload.max(3) || (pad == Pad::Records && raw + 1 == payload),
                    "{arg}"
                );
            }
        }
        let rec = round_arg(0, 200, Pad::Records);
        assert!(rec.contains(r#"{\"id\":1,\"user\":\"user-7919\""#), "{rec}");
    }

    fn ctx() -> Arc<Ctx> {
        let target =
            super::super::cli::parse(["hold".into(), "--url".into(), "http://127.0.0.1:1".into()])
                .unwrap()
                .target;
        Arc::new(Ctx::new(target, 3))
    }

    #[test]
    fn echo_ack_round_trip() {
        let ctx = ctx();
        let mut s = Session::new(ctx.clone(), 0);
        assert_eq!(s.packet(Cmd::Echo(Instant::now())), "420[\"echo\",\"xxx\"]");
        assert_eq!(s.packet(Cmd::Echo(Instant::now())), "421[\"echo\",\"xxx\"]");
        assert_eq!(s.on_packet("431[\"xxx\"]"), Ok(Reply::None));
        assert_eq!(s.on_packet("430[\"xxx\"]"), Ok(Reply::None));
        assert_eq!(ctx.acked.load(Ordering::Relaxed), 2);
        assert_eq!(ctx.errors(), 0);
        s.on_packet("437[\"xxx\"]").unwrap();
        s.packet(Cmd::Echo(Instant::now()));
        s.on_packet("432[\"xx\"]").unwrap();
        assert_eq!(ctx.errors(), 2);
    }

    #[test]
    fn pings_events_and_errors() {
        let ctx = ctx();
        let mut s = Session::new(ctx.clone(), 0);
        assert_eq!(s.on_packet("2"), Ok(Reply::Pong));
        assert_eq!(s.on_packet("6"), Ok(Reply::None));
        assert_eq!(s.on_packet("42[\"echo\",\"xxx\"]"), Ok(Reply::None));
        assert_eq!(ctx.echoes.load(Ordering::Relaxed), 1);
        ctx.round.start(4, 1, 0);
        s.on_packet("42[\"broadcast\",\"r4:xx\"]").unwrap();
        s.on_packet("42[\"broadcast\",\"r3:xx\"]").unwrap();
        assert_eq!(ctx.round.count(), 1);
        assert_eq!(ctx.round.stale.load(Ordering::Relaxed), 1);
        assert_eq!(s.report().broadcasts, 2);
        assert!(s.on_packet("41").is_err());
        assert!(s.on_packet("44{\"message\":\"no\"}").is_err());
        assert!(s.on_packet("1").is_err());
        assert!(s.on_packet("").is_err());
        assert!(s.on_packet("4").is_err());
        assert!(s.on_packet("x\u{e9}\u{e9}").is_err());
        assert_eq!(room_query(Some("a b")), "&room=a%20b");
    }
}
