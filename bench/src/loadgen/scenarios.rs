//! The scenarios. Each opens its clients (untimed unless the opening is what
//! it measures), prints `READY` on stderr, waits for a stdin line with
//! `--sync`, runs its timed phase between [`Phase::start`] and
//! [`Phase::end`] (which prints `PHASE_END`), closes its clients and returns
//! its result object; `main` adds `errors` and prints it.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};

use super::cli::{Args, Pad, Scenario, Transport};
use super::conn::{close_all, open_all, Conn, Spec};
use super::session::{round_arg, Cmd, Ctx};
use super::sys;

/// Bound on the wait for one broadcast round's deliveries.
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long echo waits for outstanding acks after the last send.
const DRAIN: Duration = Duration::from_secs(5);
/// Bound on closing every client at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// A timed phase: wall clock and this process's CPU time at its start.
struct Phase {
    /// Start, monotonic.
    start: Instant,
    /// Start, Unix ms.
    start_ms: u64,
    /// CPU time of this process at the start, ms.
    cpu_ms: f64,
}

/// What a timed phase measured.
struct PhaseEnd {
    /// Duration.
    secs: f64,
    /// Start, Unix ms.
    start_ms: u64,
    /// End, Unix ms.
    end_ms: u64,
    /// CPU time of this process during the phase, ms.
    cpu_ms: f64,
}

impl Phase {
    /// Starts the timed phase now.
    fn start() -> Self {
        Self {
            start: Instant::now(),
            start_ms: sys::unix_ms(),
            cpu_ms: sys::cpu_ms(),
        }
    }

    /// Ends it: prints `PHASE_END` on stderr.
    fn end(self) -> PhaseEnd {
        let end = PhaseEnd {
            secs: self.start.elapsed().as_secs_f64(),
            start_ms: self.start_ms,
            end_ms: sys::unix_ms(),
            cpu_ms: sys::cpu_ms() - self.cpu_ms,
        };
        eprintln!("PHASE_END");
        end
    }
}

impl PhaseEnd {
    /// Adds `phase_start_ms`, `phase_end_ms`, `loadgen_cpu_ms`.
    fn fill(&self, out: &mut Map<String, Value>) {
        out.insert("phase_start_ms".into(), json!(self.start_ms));
        out.insert("phase_end_ms".into(), json!(self.end_ms));
        out.insert("loadgen_cpu_ms".into(), json!(round3(self.cpu_ms)));
    }
}

/// `x` to three decimals.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Prints `READY` (with `count` when given) and, with `--sync`, waits for a
/// line on stdin (or its end).
async fn ready(args: &Args, count: Option<usize>) {
    match count {
        Some(n) => eprintln!("READY {n}"),
        None => eprintln!("READY"),
    }
    if args.sync {
        sys::stdin_line().await;
    }
}

/// `n` clients of `args`' transport and room.
fn specs(args: &Args, n: usize) -> Vec<Spec> {
    (0..n)
        .map(|_| Spec {
            transport: args.transport,
            room: args.room.clone(),
            node: 0,
        })
        .collect()
}

/// The result object with the fields every scenario has.
fn base(args: &Args, name: &str) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("scenario".into(), json!(name));
    out.insert("transport".into(), json!(args.transport.name()));
    out
}

/// `connect`: how fast N clients get connected (TCP, transport handshake,
/// `40` answered by `40{...}`), at most C handshakes in flight. The timed
/// phase is the opening; the clients stay open until all are done, then
/// close. `per_sec` = connected ÷ seconds; `handshake_p50_ms`/`p99`/`max`
/// time each handshake alone (a 1 s tail means SYNs dropped by a full
/// accept queue and retransmitted).
pub async fn connect(args: &Args, ctx: &Arc<Ctx>) -> Result<Map<String, Value>, String> {
    sys::raise_nofile_limit();
    ready(args, None).await;
    eprintln!(
        "loadgen: connect: opening {} {} clients",
        args.count,
        args.transport.name()
    );
    let phase = Phase::start();
    let conns = open_all(ctx, specs(args, args.count), args.concurrency).await;
    let end = phase.end();
    let ok = conns.len();
    close_all(ctx, conns, CLOSE_TIMEOUT).await;
    let mut out = base(args, "connect");
    out.insert("requested".into(), json!(args.count));
    out.insert("concurrency".into(), json!(args.concurrency));
    out.insert("connections".into(), json!(ok));
    out.insert("secs".into(), json!(round3(end.secs)));
    out.insert(
        "per_sec".into(),
        json!(round3(ok as f64 / end.secs.max(1e-9))),
    );
    let h = ctx.connect_hist.summary();
    out.insert("handshake_p50_ms".into(), json!(round3(h.p50_us / 1000.0)));
    out.insert("handshake_p99_ms".into(), json!(round3(h.p99_us / 1000.0)));
    out.insert("handshake_max_ms".into(), json!(round3(h.max_us / 1000.0)));
    let per = end.cpu_ms * 1000.0 / ok.max(1) as f64;
    out.insert("loadgen_cpu_us_per_connection".into(), json!(round3(per)));
    end.fill(&mut out);
    Ok(out)
}

/// What the pacer did.
struct Paced {
    /// Commands handed to a live client.
    sent: u64,
    /// Commands whose client was gone.
    failed: u64,
    /// Latest a command left after its planned time.
    max_late: Duration,
    /// Commands that left more than 1 ms after their planned time.
    late_1ms: u64,
}

/// The open-loop schedule, on its own thread (`std::thread::sleep` wakes
/// within tens of µs, where tokio timers round to the next millisecond):
/// emit `k` is planned at `t0 + k / rate` and handed to client `k mod M`
/// with its planned time, whether or not earlier emits were answered.
fn pace(
    senders: Vec<mpsc::UnboundedSender<Cmd>>,
    t0: Instant,
    rate: f64,
    total: u64,
) -> oneshot::Receiver<Paced> {
    let (tx, rx) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("pacer".into())
        .spawn(move || {
            let mut paced = Paced {
                sent: 0,
                failed: 0,
                max_late: Duration::ZERO,
                late_1ms: 0,
            };
            let interval = 1e9 / rate;
            let m = senders.len() as u64;
            let mut k = 0u64;
            while k < total && m > 0 {
                let planned = t0 + Duration::from_nanos((k as f64 * interval) as u64);
                let now = Instant::now();
                if planned > now {
                    std::thread::sleep(planned - now);
                    continue;
                }
                let late = now - planned;
                paced.max_late = paced.max_late.max(late);
                if late > Duration::from_millis(1) {
                    paced.late_1ms += 1;
                }
                if senders[(k % m) as usize].send(Cmd::Echo(planned)).is_ok() {
                    paced.sent += 1;
                } else {
                    paced.failed += 1;
                }
                k += 1;
            }
            let _ = tx.send(paced);
        });
    if let Err(e) = spawned {
        eprintln!("loadgen: pacer thread: {e}");
    }
    rx
}

/// `echo`: ack round-trip latency under an open-loop load. M clients open
/// first (untimed); then for D seconds `echo` is emitted with an ack at R
/// per second in all, spread evenly over the clients, each at its planned
/// time; latency runs from the planned time to the ack's arrival, so a
/// stalled server (or load generator) shows up in the figures instead of
/// slowing the schedule. Acks outstanding 5 s after the last send count as
/// errors. `achieved_rate` = acks ÷ time from the first planned send to the
/// last ack (at least D). The timed phase ends when every ack is in (or the
/// 5 s are up). `pacer_max_late_us` / `pacer_late_over_1ms` tell how late
/// the pacer thread itself handed emits over (a busy load-generator core);
/// that lateness is part of the latencies.
pub async fn echo(args: &Args, ctx: &Arc<Ctx>) -> Result<Map<String, Value>, String> {
    sys::raise_nofile_limit();
    eprintln!(
        "loadgen: echo: opening {} {} clients",
        args.count,
        args.transport.name()
    );
    let conns = open_all(ctx, specs(args, args.count), args.concurrency).await;
    if conns.is_empty() {
        return Err("no client could connect".into());
    }
    ready(args, None).await;
    let total = (args.rate * args.secs).round() as u64;
    eprintln!(
        "loadgen: echo: {total} emits at {}/s over {} clients",
        args.rate,
        conns.len()
    );
    let phase = Phase::start();
    let t0 = Instant::now() + Duration::from_millis(2);
    let senders = conns.iter().map(|c| c.tx.clone()).collect();
    let paced = pace(senders, t0, args.rate, total)
        .await
        .map_err(|_| "the pacer thread died")?;
    let last_send = Instant::now();
    while ctx.acked.load(Relaxed) < paced.sent && last_send.elapsed() < DRAIN {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let end = phase.end();
    let acked = ctx.acked.load(Relaxed);
    let last_ack = ctx.base + Duration::from_nanos(ctx.last_ack_ns.load(Relaxed));
    let span = last_ack
        .saturating_duration_since(t0)
        .as_secs_f64()
        .max(args.secs);
    let missing = paced.sent.saturating_sub(acked);
    if missing > 0 {
        ctx.error(format!("{missing} acks missing 5 s after the last send"));
        ctx.add_errors(missing - 1);
    }
    ctx.add_errors(paced.failed);
    let clients = conns.len();
    close_all(ctx, conns, CLOSE_TIMEOUT).await;
    let s = ctx.hist.summary();
    let mut out = base(args, "echo");
    out.insert("clients".into(), json!(clients));
    out.insert("rate".into(), json!(args.rate));
    out.insert("secs".into(), json!(args.secs));
    out.insert("payload".into(), json!(args.payload));
    out.insert("sent".into(), json!(paced.sent));
    out.insert("acked".into(), json!(acked));
    out.insert("achieved_rate".into(), json!(round3(acked as f64 / span)));
    out.insert("p50_us".into(), json!(s.p50_us));
    out.insert("p90_us".into(), json!(s.p90_us));
    out.insert("p99_us".into(), json!(s.p99_us));
    out.insert("p999_us".into(), json!(s.p999_us));
    out.insert("max_us".into(), json!(s.max_us));
    out.insert("mean_us".into(), json!(s.mean_us));
    out.insert(
        "pacer_max_late_us".into(),
        json!(paced.max_late.as_micros() as u64),
    );
    out.insert("pacer_late_over_1ms".into(), json!(paced.late_1ms));
    out.insert("phase_secs".into(), json!(round3(end.secs)));
    let per_msg = end.cpu_ms * 1000.0 / (paced.sent.max(1)) as f64;
    out.insert("loadgen_cpu_us_per_echo".into(), json!(round3(per_msg)));
    end.fill(&mut out);
    Ok(out)
}

/// The median of `v` (mean of the middle two for an even count).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// Runs broadcast round `round` from `sender` to `expected` receivers and
/// returns (milliseconds to full delivery, deliveries), counting shortfalls
/// as errors.
async fn broadcast_round(
    ctx: &Ctx,
    sender: &Conn,
    packet: String,
    burst: usize,
    round: usize,
    expected: u64,
) -> (f64, u64) {
    let t0 = Instant::now();
    let t0_ns = t0.duration_since(ctx.base).as_nanos() as u64;
    ctx.round.start(round as u64, expected, t0_ns);
    // Queued before the sender's task runs: written back to back, one flush.
    for _ in 0..burst {
        if sender.tx.send(Cmd::Raw(packet.clone())).is_err() {
            ctx.error("the broadcast sender is gone");
        }
    }
    let deadline = tokio::time::Instant::from_std(t0 + ROUND_TIMEOUT);
    match ctx.round.wait(deadline).await {
        Some(done_ns) => (done_ns.saturating_sub(t0_ns) as f64 / 1e6, expected),
        None => {
            let got = ctx.round.count().min(expected);
            ctx.error(format!(
                "round {round}: {got} of {expected} deliveries within {ROUND_TIMEOUT:?}"
            ));
            ctx.add_errors((expected - got).saturating_sub(1));
            (t0.elapsed().as_secs_f64() * 1000.0, got)
        }
    }
}

/// `broadcast`: time for one emit to reach every receiver. N clients (with
/// `--room-half`, every second one joins room `half`) and one sender open
/// first; each round the sender emits `broadcast` (everyone, itself
/// included, is expected: N + 1) or `broadcast-room` to `half` (N / 2
/// expected), and the round lasts until the last expected delivery, which
/// the receiving task stamps. Rounds are 200 ms apart (the first starts
/// 200 ms into the phase) and numbered in the argument so late deliveries
/// never count for the next round; a round not complete within 30 s counts
/// its missing deliveries as errors. With `--burst B` the sender writes B
/// emits back to back each round (one write), and the round lasts until
/// all B × receivers deliveries. Afterwards each client's count is checked
/// (members K × B each, others none). `deliveries_per_sec` = deliveries
/// ÷ the sum of the round times (pauses excluded).
///
/// `cluster-broadcast` is the same over two servers: client `i` connects
/// to node B (`--url-b`) when `i` is odd, to A otherwise, the sender to A;
/// B's deliveries have crossed the cluster adapter. The result adds the
/// connected clients per node and each node's delivery latency
/// percentiles (emit to delivery, current-round deliveries only).
pub async fn broadcast(args: &Args, ctx: &Arc<Ctx>) -> Result<Map<String, Value>, String> {
    sys::raise_nofile_limit();
    let n = args.count;
    let cluster = args.scenario == Scenario::ClusterBroadcast;
    let member = |i: usize| i < n && (!args.room_half || i % 2 == 1);
    let room = |i: usize| (args.room_half && i < n && i % 2 == 1).then(|| "half".to_string());
    let node = |i: usize| usize::from(cluster && i < n && i % 2 == 1);
    let all: Vec<Spec> = (0..=n)
        .map(|i| Spec {
            transport: args.transport,
            room: room(i),
            node: node(i),
        })
        .collect();
    eprintln!(
        "loadgen: {}: opening {} {} clients + 1 sender",
        if cluster {
            "cluster-broadcast"
        } else {
            "broadcast"
        },
        n,
        args.transport.name()
    );
    let conns = open_all(ctx, all, args.concurrency).await;
    let sender = conns
        .iter()
        .find(|c| c.idx == n)
        .ok_or("the sender could not connect")?;
    let receivers = conns
        .iter()
        .filter(|c| member(c.idx) || (!args.room_half && c.idx == n))
        .count() as u64;
    let expected = receivers * args.burst as u64;
    if expected == 0 {
        return Err("no receiver could connect".into());
    }
    ready(args, None).await;
    let phase = Phase::start();
    let (mut times, mut deliveries) = (Vec::new(), 0u64);
    for r in 0..args.rounds {
        // 200 ms between rounds, and before the first one (after READY).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let arg = round_arg(r, args.payload, args.pad);
        let packet = if args.room_half {
            format!("42[\"broadcast-room\",\"half\",{arg}]")
        } else {
            format!("42[\"broadcast\",{arg}]")
        };
        let (ms, got) = broadcast_round(ctx, sender, packet, args.burst, r, expected).await;
        eprintln!("loadgen: round {r}: {got} deliveries in {ms:.3} ms");
        times.push(round3(ms));
        deliveries += got;
    }
    let end = phase.end();
    let idxs: Vec<usize> = conns.iter().map(|c| c.idx).collect();
    let on_b = idxs.iter().filter(|&&i| node(i) == 1).count();
    let on_a = idxs.len() - on_b;
    let reports = close_all(ctx, conns, CLOSE_TIMEOUT).await;
    let (mut unexpected, mut short) = (0, Vec::new());
    for (idx, report) in idxs.into_iter().zip(reports) {
        let receives = member(idx) || (!args.room_half && idx == n);
        let allowed = if receives {
            (args.rounds * args.burst) as u64
        } else {
            0
        };
        unexpected += report.broadcasts.saturating_sub(allowed);
        if report.broadcasts < allowed {
            short.push(idx);
        }
    }
    if !short.is_empty() {
        // Already counted as errors by the rounds; told for diagnosis.
        let some: Vec<String> = short.iter().take(20).map(|i| i.to_string()).collect();
        eprintln!(
            "loadgen: {} receivers missed broadcasts, e.g. clients {}",
            short.len(),
            some.join(" ")
        );
    }
    if unexpected > 0 {
        ctx.error(format!(
            "{unexpected} broadcasts delivered to clients that should not get them"
        ));
        ctx.add_errors(unexpected - 1);
    }
    let total_secs: f64 = times.iter().sum::<f64>() / 1000.0;
    let mut out = base(
        args,
        if cluster {
            "cluster-broadcast"
        } else {
            "broadcast"
        },
    );
    out.insert("clients".into(), json!(n));
    out.insert("room_half".into(), json!(args.room_half));
    out.insert("receivers".into(), json!(receivers));
    out.insert("rounds".into(), json!(args.rounds));
    out.insert("burst".into(), json!(args.burst));
    out.insert("payload".into(), json!(args.payload));
    out.insert("deliveries".into(), json!(deliveries));
    out.insert("full_delivery_ms".into(), json!(times));
    out.insert(
        "median_full_delivery_ms".into(),
        json!(round3(median(&times))),
    );
    out.insert(
        "deliveries_per_sec".into(),
        json!(round3(deliveries as f64 / total_secs.max(1e-9))),
    );
    out.insert(
        "stale_deliveries".into(),
        json!(ctx.round.stale.load(Relaxed)),
    );
    let per = end.cpu_ms * 1000.0 / deliveries.max(1) as f64;
    out.insert("loadgen_cpu_us_per_delivery".into(), json!(round3(per)));
    if cluster {
        let (a, b) = (
            ctx.delivery_hist[0].summary(),
            ctx.delivery_hist[1].summary(),
        );
        out.insert("clients_a".into(), json!(on_a));
        out.insert("clients_b".into(), json!(on_b));
        out.insert("deliveries_b".into(), json!(ctx.delivery_hist[1].count()));
        out.insert("cross_p50_us".into(), json!(b.p50_us));
        out.insert("cross_p99_us".into(), json!(b.p99_us));
        out.insert("cross_max_us".into(), json!(b.max_us));
        out.insert("local_p50_us".into(), json!(a.p50_us));
        out.insert("local_p99_us".into(), json!(a.p99_us));
    }
    end.fill(&mut out);
    Ok(out)
}

/// `hold`: N clients opened and kept alive (pings answered) for a memory
/// figure: `READY <connected>` on stderr once all handshakes are done, then
/// held until a line arrives on stdin or it closes (within `--timeout`).
/// The phase is the whole run, opening included; the clients are not closed
/// gracefully (the process exits).
pub async fn hold(args: &Args, ctx: &Arc<Ctx>) -> Result<Map<String, Value>, String> {
    if let Some(limit) = sys::raise_nofile_limit() {
        let per_client = if args.transport == Transport::Polling {
            2
        } else {
            1
        };
        if (limit as usize) < args.count * per_client + 32 {
            eprintln!(
                "loadgen: open-files limit {limit} is below what {} clients need",
                args.count
            );
        }
    }
    let phase = Phase::start();
    eprintln!(
        "loadgen: hold: opening {} {} clients",
        args.count,
        args.transport.name()
    );
    let conns = open_all(ctx, specs(args, args.count), args.concurrency).await;
    let ok = conns.len();
    eprintln!("READY {ok}");
    sys::stdin_line().await;
    // Connections lost while held are errors; count them before closing.
    let alive = conns.iter().filter(|c| !c.task.is_finished()).count();
    let end = phase.end();
    ctx.closing.store(true, Relaxed);
    let mut out = base(args, "hold");
    out.insert("requested".into(), json!(args.count));
    out.insert("connections".into(), json!(ok));
    out.insert("alive_at_end".into(), json!(alive));
    out.insert("secs".into(), json!(round3(end.secs)));
    end.fill(&mut out);
    std::mem::forget(conns);
    Ok(out)
}

/// `smoke`: a quick check of both servers' paths. 20 WebSocket clients
/// (odd ones in room `half`) and 5 polling clients; 50 acked echoes on each
/// transport and one unacked echo each (answered by an `echo` event); one
/// `broadcast` (all 25 must get it) and one `broadcast-room` to `half` (10).
/// Any failure is an error, and `main` exits 1 on errors.
pub async fn smoke(args: &Args, ctx: &Arc<Ctx>) -> Result<Map<String, Value>, String> {
    let mut all: Vec<Spec> = (0..20)
        .map(|i| Spec {
            transport: Transport::WebSocket,
            room: (i % 2 == 1).then(|| "half".into()),
            node: 0,
        })
        .collect();
    all.extend((0..5).map(|_| Spec {
        transport: Transport::Polling,
        room: None,
        node: 0,
    }));
    let phase = Phase::start();
    let conns = open_all(ctx, all, args.concurrency).await;
    if conns.len() != 25 {
        return Err(format!("only {} of 25 clients connected", conns.len()));
    }
    let limit = Duration::from_secs(10);
    let wait_for = |target: u64, what: &'static str, counter: fn(&Ctx) -> u64| {
        let ctx = ctx.clone();
        async move {
            let deadline = Instant::now() + limit;
            while counter(&ctx) < target && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let got = counter(&ctx);
            if got < target {
                ctx.error(format!("{what}: {got} of {target} within {limit:?}"));
                ctx.add_errors(target - got - 1);
            }
            got
        }
    };
    let acked = |c: &Ctx| c.acked.load(Relaxed);
    let (ws, poll): (Vec<&Conn>, Vec<&Conn>) = conns.iter().partition(|c| c.idx < 20);
    let mut acks = Map::new();
    for (name, group) in [("websocket", &ws), ("polling", &poll)] {
        let before = acked(ctx);
        for k in 0..50 {
            let _ = group[k % group.len()].tx.send(Cmd::Echo(Instant::now()));
        }
        let got = wait_for(before + 50, "echo acks", acked).await - before;
        acks.insert(name.into(), json!(got));
    }
    for group in [&ws, &poll] {
        let _ = group[0].tx.send(Cmd::EchoNoAck);
    }
    let echoes = wait_for(2, "echo events", |c| c.echoes.load(Relaxed)).await;
    let mut rounds = Vec::new();
    for (r, packet, expected) in [
        (
            0,
            format!("42[\"broadcast\",{}]", round_arg(0, 32, Pad::X)),
            25,
        ),
        (
            1,
            format!(
                "42[\"broadcast-room\",\"half\",{}]",
                round_arg(1, 32, Pad::X)
            ),
            10,
        ),
    ] {
        let (ms, got) = broadcast_round(ctx, ws[0], packet, 1, r, expected).await;
        rounds.push(json!({"expected": expected, "delivered": got, "ms": round3(ms)}));
    }
    let end = phase.end();
    let reports = close_all(ctx, conns, CLOSE_TIMEOUT).await;
    for (idx, report) in reports.iter().enumerate() {
        let want = if idx < 20 && idx % 2 == 1 { 2 } else { 1 };
        if report.broadcasts != want {
            ctx.error(format!(
                "client {idx} got {} broadcasts, not {want}",
                report.broadcasts
            ));
        }
    }
    let s = ctx.hist.summary();
    let mut out = base(args, "smoke");
    out.insert("transport".into(), json!("websocket+polling"));
    out.insert("connections".into(), json!(25));
    out.insert("acked".into(), Value::Object(acks));
    out.insert("echo_events".into(), json!(echoes));
    out.insert("broadcasts".into(), json!(rounds));
    out.insert("p50_us".into(), json!(s.p50_us));
    out.insert("max_us".into(), json!(s.max_us));
    out.insert("secs".into(), json!(round3(end.secs)));
    end.fill(&mut out);
    Ok(out)
}
