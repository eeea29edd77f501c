//! The `soak` scenario: N WebSocket and P long-polling clients held for
//! `--secs` seconds while R WebSocket clients a second disconnect and as
//! many new ones connect (churn), the server broadcasts through its HTTP
//! API every few seconds (clients count what arrives), and the server's
//! resident memory is sampled. At the end every client disconnects and the
//! server's `/metrics` must show no connection and no socket left.
//!
//! Timeline: open all (untimed; progress on stderr), `READY`, churn +
//! broadcasts + samples for `--secs`; samples from `--warmup` seconds into
//! that phase on are judged by [`Verdict::of`]. Then the churn stops, its
//! batches in flight finish (each handshake is bounded), every client
//! closes, and `/metrics` is polled until the counts are zero (at most
//! [`DRAIN_LIMIT`]).
//!
//! Result fields: `clients`, `polling`, `churn_per_sec`, `secs`,
//! `connects`, `disconnects` (churn), `churn_behind` (connects still owed
//! when the phase ended), `broadcasts`, `recipients` (as the server counted
//! them), `deliveries` (received within each round's wait), `late_deliveries`,
//! `min_round_ratio`, `rss_kib` (the [`Verdict`] and the samples), `final_counts`,
//! `zero_after_ms`, `failures` (empty when every check passed).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::cli::{Args, Transport};
use super::conn::{close_all, open_all, Conn, Spec};
use super::http::HttpConn;
use super::rss::{vm_rss_kib, Verdict};
use super::serverapi::{self, Counts};
use super::session::Ctx;
use super::sys;

/// Least default warm-up: longer than the server's default connect
/// timeout (45 s), for which the Socket.IO layer keeps an entry per new
/// connection, so that the churn's steady state is reached before samples
/// count.
const MIN_WARMUP: f64 = 60.0;
/// How often churn runs; each tick closes and opens `churn / 10` clients.
const TICK: Duration = Duration::from_millis(100);
/// Most churn batches opening at once; beyond, connects are owed.
const MAX_BATCHES: usize = 30;
/// Longest wait for one broadcast's deliveries.
const ROUND_WAIT: Duration = Duration::from_secs(10);
/// Longest wait for the counts to reach zero after the clients closed.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(60);
/// Bound on closing every client at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(60);
/// Least share of a round's recipients that must get it: churn closes a
/// few clients while a broadcast is on its way to them.
const MIN_ROUND_RATIO: f64 = 0.95;

/// A tiny xorshift generator: which client churn closes next.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// What the broadcasts counted.
#[derive(Debug, Default)]
struct Rounds {
    done: u64,
    recipients: u64,
    deliveries: u64,
    min_ratio: f64,
    failed: u64,
}

/// `count` clients of `transport`.
fn specs(transport: Transport, count: usize) -> Vec<Spec> {
    (0..count)
        .map(|_| Spec {
            transport,
            room: None,
            node: 0,
        })
        .collect()
}

/// Fails early when the open-files limit cannot hold the clients.
fn check_fd_limit(args: &Args) -> Result<(), String> {
    let limit = sys::raise_nofile_limit().unwrap_or(u64::MAX);
    // Two sockets per polling client, churn batches in flight, the API.
    let per_tick = (args.soak.churn * TICK.as_secs_f64()).ceil() as usize;
    let need = args.count + 2 * args.soak.polling + MAX_BATCHES * per_tick + 64;
    if (need as u64) > limit {
        return Err(format!(
            "the open-files limit {limit} is below the {need} this soak needs: raise it (ulimit -n)"
        ));
    }
    Ok(())
}

/// One broadcast round: starts round `k`, asks the server to broadcast,
/// waits until as many clients as it counted got it (or [`ROUND_WAIT`]).
/// Returns (recipients, deliveries).
async fn round(ctx: &Ctx, api: &mut HttpConn, key: &str, k: u64) -> Result<(u64, u64), String> {
    ctx.round.start(k, u64::MAX, ctx.now_ns());
    let host = ctx.target.host.clone();
    let recipients =
        serverapi::broadcast(api, &host, key, "broadcast", &format!("r{k}:soak")).await?;
    let deadline = Instant::now() + ROUND_WAIT;
    while ctx.round.count() < recipients && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((recipients, ctx.round.count()))
}

/// Broadcasts every `every` until `end`, one round at a time.
async fn broadcaster(ctx: Arc<Ctx>, key: String, every: Duration, end: Instant) -> Rounds {
    let mut r = Rounds {
        min_ratio: 1.0,
        ..Rounds::default()
    };
    let mut api = match HttpConn::connect(ctx.target.addr).await {
        Ok(c) => c,
        Err(e) => {
            ctx.error(format!("API connection: {e}"));
            r.failed += 1;
            return r;
        }
    };
    let mut next = Instant::now() + every;
    while next < end {
        tokio::time::sleep_until(next).await;
        next += every;
        match round(&ctx, &mut api, &key, r.done).await {
            Ok((recipients, got)) => {
                r.recipients += recipients;
                r.deliveries += got;
                if recipients > 0 {
                    r.min_ratio = r.min_ratio.min(got as f64 / recipients as f64);
                }
            }
            Err(e) => {
                ctx.error(format!("broadcast {}: {e}", r.done));
                r.failed += 1;
            }
        }
        r.done += 1;
    }
    // No round is current any more: whatever arrives now is late.
    ctx.round.start(u64::MAX - 1, u64::MAX, ctx.now_ns());
    r
}

/// The churn and sampling loop of the timed phase.
struct Churn {
    ws: Vec<Conn>,
    connects: u64,
    disconnects: u64,
    owed: usize,
    batches: Arc<std::sync::atomic::AtomicUsize>,
    tx: mpsc::UnboundedSender<Vec<Conn>>,
    rx: mpsc::UnboundedReceiver<Vec<Conn>>,
    rng: Rng,
}

impl Churn {
    fn new(ws: Vec<Conn>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Churn {
            ws,
            connects: 0,
            disconnects: 0,
            owed: 0,
            batches: Arc::default(),
            tx,
            rx,
            rng: Rng(0x9e37_79b9_7f4a_7c15 ^ sys::unix_ms()),
        }
    }

    /// Closes `n` random clients (dropping their channels) and starts
    /// opening as many (plus any owed) in a batch of its own.
    fn tick(&mut self, ctx: &Arc<Ctx>, n: usize) {
        for _ in 0..n.min(self.ws.len()) {
            let i = self.rng.below(self.ws.len());
            drop(self.ws.swap_remove(i));
            self.disconnects += 1;
        }
        self.owed += n;
        if self.owed == 0 || self.batches.load(Relaxed) >= MAX_BATCHES {
            return;
        }
        let count = std::mem::take(&mut self.owed);
        self.batches.fetch_add(1, Relaxed);
        let (ctx, tx, batches) = (ctx.clone(), self.tx.clone(), self.batches.clone());
        tokio::spawn(async move {
            let conns = open_all(&ctx, specs(Transport::WebSocket, count), count).await;
            let _ = tx.send(conns);
            batches.fetch_sub(1, Relaxed);
        });
    }

    /// Takes in the clients a batch opened.
    fn arrived(&mut self, conns: Vec<Conn>) {
        self.connects += conns.len() as u64;
        self.ws.extend(conns);
    }

    /// Waits for the batches in flight (each handshake is bounded).
    async fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.batches.load(Relaxed) > 0 && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(100), self.rx.recv()).await {
                Ok(Some(conns)) => self.arrived(conns),
                _ => continue,
            }
        }
        while let Ok(conns) = self.rx.try_recv() {
            self.arrived(conns);
        }
    }
}

/// RSS samples of the timed phase: (seconds into it, KiB, after warm-up).
type Samples = Vec<(f64, u64, bool)>;

/// The timed phase: churn every [`TICK`], a sample every `--sample-every`,
/// broadcasts on their own task. Returns the churn state, the samples and
/// the rounds.
async fn run_phase(args: &Args, ctx: &Arc<Ctx>, ws: Vec<Conn>) -> (Churn, Samples, Rounds) {
    let s = &args.soak;
    let pid = s.server_pid.unwrap_or(0);
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.secs);
    let warm_until =
        start + Duration::from_secs_f64(s.warmup.unwrap_or((args.secs / 4.0).max(MIN_WARMUP)));
    let bcast = s.api_key.clone().map(|key| {
        let every = Duration::from_secs_f64(s.broadcast_every);
        tokio::spawn(broadcaster(ctx.clone(), key, every, end))
    });
    let mut churn = Churn::new(ws);
    let mut tick = tokio::time::interval(TICK);
    let mut sample = tokio::time::interval(Duration::from_secs_f64(s.sample_every));
    let (mut credit, mut samples, mut next_log) = (0.0f64, Samples::new(), start);
    while Instant::now() < end {
        tokio::select! {
            _ = tick.tick() => {
                credit += s.churn * TICK.as_secs_f64();
                let n = credit.floor() as usize;
                credit -= n as f64;
                churn.tick(ctx, n);
            }
            Some(conns) = churn.rx.recv() => churn.arrived(conns),
            _ = sample.tick() => {
                let now = Instant::now();
                let Some(kib) = vm_rss_kib(pid) else {
                    ctx.error(format!("server process {pid} is gone"));
                    break;
                };
                samples.push(((now - start).as_secs_f64(), kib, now >= warm_until));
                if now >= next_log {
                    next_log = now + Duration::from_secs(30);
                    eprintln!(
                        "loadgen: soak {:.0} s: rss {kib} KiB, {} ws open, {} connects, {} disconnects, {} errors",
                        (now - start).as_secs_f64(), churn.ws.len(), churn.connects, churn.disconnects, ctx.errors()
                    );
                }
            }
        }
    }
    let rounds = match bcast {
        Some(task) => task.await.unwrap_or_default(),
        None => Rounds::default(),
    };
    churn.settle().await;
    (churn, samples, rounds)
}

/// Polls `/metrics` until the counts are zero or [`DRAIN_LIMIT`]: the
/// last counts and how long it took (`None`: not zero in time).
async fn wait_for_zero(ctx: &Ctx) -> Result<(Counts, Option<u128>), String> {
    let started = Instant::now();
    let mut api = HttpConn::connect(ctx.target.addr)
        .await
        .map_err(|e| format!("API connection: {e}"))?;
    loop {
        let counts = serverapi::counts(&mut api, &ctx.target.host).await?;
        if counts.all_zero() {
            return Ok((counts, Some(started.elapsed().as_millis())));
        }
        if started.elapsed() >= DRAIN_LIMIT {
            return Ok((counts, None));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What the run ended with, for the checks and the result object.
struct Outcome {
    opened: (usize, usize),
    open_at_end: (usize, usize),
    churn: Churn,
    samples: Samples,
    verdict: Option<Verdict>,
    judged: usize,
    rounds: Rounds,
    counts: Counts,
    zero_ms: Option<u128>,
    cpu_ms: f64,
}

/// `soak`: see the module documentation.
pub async fn soak(args: &Args, ctx: &Arc<Ctx>) -> Result<Map<String, Value>, String> {
    check_fd_limit(args)?;
    let s = &args.soak;
    eprintln!(
        "loadgen: soak: opening {} websocket and {} polling clients",
        args.count, s.polling
    );
    let ws = open_all(
        ctx,
        specs(Transport::WebSocket, args.count),
        args.concurrency,
    )
    .await;
    let polling = open_all(ctx, specs(Transport::Polling, s.polling), args.concurrency).await;
    let opened = (ws.len(), polling.len());
    eprintln!("READY {}", opened.0 + opened.1);
    let cpu = sys::cpu_ms();
    let (mut churn, samples, rounds) = run_phase(args, ctx, ws).await;
    eprintln!("PHASE_END");
    let cpu_ms = sys::cpu_ms() - cpu;
    let open_at_end = (churn.ws.len(), polling.len());
    let mut all = std::mem::take(&mut churn.ws);
    all.extend(polling);
    close_all(ctx, all, CLOSE_TIMEOUT).await;
    let (counts, zero_ms) = wait_for_zero(ctx).await?;
    let judged: Vec<u64> = samples.iter().filter(|s| s.2).map(|s| s.1).collect();
    let o = Outcome {
        opened,
        open_at_end,
        churn,
        verdict: Verdict::of(&judged, s.rss_tolerance),
        judged: judged.len(),
        samples,
        rounds,
        counts,
        zero_ms,
        cpu_ms,
    };
    let failures = failures(args, ctx, &o);
    Ok(output(args, ctx, &o, failures))
}

/// The checks that failed, in words.
fn failures(args: &Args, ctx: &Ctx, o: &Outcome) -> Vec<String> {
    let s = &args.soak;
    let mut failures = Vec::new();
    if o.opened != (args.count, s.polling) {
        failures.push(format!(
            "opened {:?} of {:?}",
            o.opened,
            (args.count, s.polling)
        ));
    }
    match &o.verdict {
        None => failures.push(format!("only {} samples after the warm-up", o.judged)),
        Some(v) if !v.flat => failures.push(format!(
            "RSS grew {:.1} % (median {} -> {} KiB), over {} %",
            v.growth_pct, v.first_median, v.last_median, s.rss_tolerance
        )),
        Some(_) => {}
    }
    if o.zero_ms.is_none() {
        failures.push(format!(
            "counts not zero {DRAIN_LIMIT:?} after the end: {:?}",
            o.counts
        ));
    }
    let r = &o.rounds;
    if s.api_key.is_some() && (r.done == 0 || r.min_ratio < MIN_ROUND_RATIO) {
        failures.push(format!(
            "broadcasts: {} rounds, worst delivered ratio {:.3}",
            r.done, r.min_ratio
        ));
    }
    if ctx.errors() > 0 {
        failures.push(format!("{} client errors", ctx.errors()));
    }
    failures
}

/// The result object.
fn output(args: &Args, ctx: &Ctx, o: &Outcome, failures: Vec<String>) -> Map<String, Value> {
    let s = &args.soak;
    let r = &o.rounds;
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.into(), v);
    };
    put("scenario", json!("soak"));
    put("transport", json!("websocket+polling"));
    put("clients", json!(args.count));
    put("polling", json!(s.polling));
    put("churn_per_sec", json!(s.churn));
    put("secs", json!(args.secs));
    put("open_at_end", json!([o.open_at_end.0, o.open_at_end.1]));
    put("connects", json!(o.churn.connects));
    put("disconnects", json!(o.churn.disconnects));
    put("churn_behind", json!(o.churn.owed));
    put("broadcasts", json!(r.done));
    put("broadcast_failures", json!(r.failed));
    put("recipients", json!(r.recipients));
    put("deliveries", json!(r.deliveries));
    put("late_deliveries", json!(ctx.round.stale.load(Relaxed)));
    put("min_round_ratio", json!(r.min_ratio));
    put("rss_kib", rss_json(o.verdict.as_ref(), &o.samples));
    put(
        "final_counts",
        json!({ "connections": o.counts.connections, "sockets": o.counts.sockets }),
    );
    put("zero_after_ms", json!(o.zero_ms.map(|m| m as u64)));
    put("loadgen_cpu_ms", json!(o.cpu_ms));
    put("failures", json!(failures));
    out
}

/// The verdict and every sample, as `[secs, KiB, judged]`.
fn rss_json(verdict: Option<&Verdict>, samples: &Samples) -> Value {
    let list: Vec<Value> = samples
        .iter()
        .map(|(t, k, j)| json!([(t * 10.0).round() / 10.0, k, j]))
        .collect();
    match verdict {
        Some(v) => json!({
            "judged": v.samples, "min": v.min, "max": v.max, "first": v.first, "last": v.last,
            "window": v.window, "first_median": v.first_median, "last_median": v.last_median,
            "growth_pct": (v.growth_pct * 100.0).round() / 100.0, "flat": v.flat,
            "samples": list,
        }),
        None => json!({ "samples": list }),
    }
}
