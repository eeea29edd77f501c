//! `loadgen`: the benchmark's load generator, a hand-written Socket.IO v5 /
//! Engine.IO v4 client that drives `bench-server` or the Node reference
//! (`bench/node/server.js`) on 127.0.0.1 and prints one JSON object of
//! results on stdout (progress, `READY` and `PHASE_END` go to stderr).
//!
//! ```text
//! loadgen connect   --url http://127.0.0.1:PORT --n N [--concurrency C] [--transport websocket|polling]
//! loadgen echo      --url ... --clients M --rate R --secs D [--transport T] [--payload BYTES]
//! loadgen broadcast --url ... --clients N [--room-half] [--rounds K] [--burst B] [--payload BYTES]
//! loadgen cluster-broadcast --url ... --url-b http://127.0.0.1:PORT2 --clients N [--rounds K] [--burst B]
//! loadgen hold      --url ... --n N [--transport T]
//! loadgen smoke     --url ...
//! loadgen soak      --url ... --server-pid PID --secs D [--clients N] [--polling P] [--churn R]
//!                   [--api-key KEY] [--broadcast-every S] [--warmup S] [--sample-every S]
//! common: [--sync] [--threads N] [--timeout SECS] [--path /socket.io/] [--room NAME]
//! ```
//!
//! What each scenario measures, and how (result fields in brackets):
//! - `connect`: the connection rate. N clients open (TCP connect, transport
//!   handshake, `40` → `40{...}`), at most C handshakes in flight; the timed
//!   phase is the opening, then all are closed. [`requested`,
//!   `concurrency`, `connections`, `secs`, `per_sec`, `handshake_p50_ms`,
//!   `handshake_p99_ms`, `handshake_max_ms`, `loadgen_cpu_us_per_connection`]
//! - `echo`: ack round-trip latency under an open-loop load of R emits per
//!   second spread evenly over M clients (opened first, untimed) for D
//!   seconds. A pacer thread hands each emit to its client at its planned
//!   time; latency runs from the planned time to the ack (coordinated
//!   omission is not hidden) into a log-linear histogram of ~1 % precision
//!   from 1 µs to 60 s. Acks missing 5 s after the last send are errors.
//!   [`clients`, `rate`, `secs`, `payload`, `sent`, `acked`,
//!   `achieved_rate`, `p50_us`, `p90_us`, `p99_us`, `p999_us`, `max_us`,
//!   `mean_us`, `pacer_max_late_us`, `pacer_late_over_1ms`, `phase_secs`,
//!   `loadgen_cpu_us_per_echo`]
//! - `broadcast`: time from one emit to its delivery to every expected
//!   receiver (N + 1 for `broadcast`, sender included; N / 2 with
//!   `--room-half`, every second client being in room `half`), per round.
//!   One task per connection reads frames and counts deliveries with an
//!   atomic; the one completing the round stamps the time and notifies.
//!   [`clients`, `room_half`, `receivers`, `rounds`, `payload`,
//!   `deliveries`, `full_delivery_ms` (per round),
//!   `median_full_delivery_ms`, `deliveries_per_sec`, `stale_deliveries`,
//!   `loadgen_cpu_us_per_delivery`]
//! - `cluster-broadcast`: `broadcast` over two servers of one cluster
//!   (`--url` is node A, `--url-b` node B, e.g. two servers on one Redis):
//!   the N clients alternate between A and B, the sender is on A, and every
//!   round expects N + 1 deliveries, B's only through the cluster adapter.
//!   Besides `broadcast`'s fields, each current-round delivery's latency
//!   from its emit goes into a histogram per node: [`clients_a`,
//!   `clients_b` (connected, sender included on A), `deliveries_b`,
//!   `cross_p50_us`, `cross_p99_us`, `cross_max_us` (node B: cross-node),
//!   `local_p50_us`, `local_p99_us` (node A)]
//! - `hold`: N idle clients kept alive (pings answered) for the server's
//!   memory figure; `READY <connected>` on stderr, then held until a stdin
//!   line or its end. [`requested`, `connections`, `alive_at_end`, `secs`]
//! - `soak`: N WebSocket (default 10 000) and P polling clients (default
//!   300) held for `--secs` while `--churn` WebSocket clients a second
//!   disconnect and as many connect, `/api/broadcast` runs every
//!   `--broadcast-every` seconds (with `--api-key`) and the VmRSS of
//!   `--server-pid` is sampled; then all close and `/metrics` must count
//!   no connection and no socket. Exits 1 when a check fails (RSS median
//!   growth after the warm-up over `--rss-tolerance` %, counts not zero,
//!   a round delivered to under 95 % of its recipients, any client error).
//!   [`connects`, `disconnects`, `broadcasts`, `recipients`, `deliveries`,
//!   `late_deliveries`, `rss_kib`, `final_counts`, `zero_after_ms`,
//!   `failures`; see `loadgen/soak.rs`]
//! - `smoke`: a self-test of both transports: 20 WebSocket + 5 polling
//!   clients, 50 acked echoes per transport, an unacked echo each, a
//!   broadcast (25 receivers) and a room broadcast (10); exits 1 on any
//!   error. [`connections`, `acked` per transport, `echo_events`,
//!   `broadcasts`, `p50_us`, `max_us`, `secs`]
//!
//! Every result also has `scenario`, `transport`, `errors` (failed or lost
//! connections, protocol errors, missing acks or deliveries),
//! `loadgen_cpu_ms` (this process's user + system CPU time over the timed
//! phase, from `/proc/self/stat`, in clock ticks of 10 ms: the load
//! generator's own cost, to show it is not the bottleneck) and
//! `phase_start_ms` / `phase_end_ms` (Unix ms of the timed phase). A
//! scenario that cannot finish prints `scenario`, `error` and `errors`.
//! `READY` goes to stderr before the timed phase (after any untimed
//! opening), `--sync` then waits for a line on stdin, and `PHASE_END`
//! follows the timed phase; orchestrators should match lines that start
//! with `READY` (`hold` adds the count).
//!
//! The runtime is tokio's multi-thread one with one worker by default
//! (`--threads`): the benchmark pins the load generator to one core. Each
//! client is one task; every wait is bounded (10 s per handshake and per
//! server answer, ping interval + timeout when idle, `--timeout` for the
//! whole scenario, 900 s by default). Exit status: 0 with a result, 1 for
//! `smoke` with errors or a `soak` with failures, 2 for a usage error, a failed scenario or a timeout.
//!
//! The open-files soft limit is raised to the hard one at start when
//! `prlimit` is there (no `libc` here); otherwise run under `ulimit -n`.
//! Connections beyond the limit fail and count as errors.

#[path = "../loadgen/cli.rs"]
mod cli;
#[path = "../loadgen/conn.rs"]
mod conn;
#[path = "../loadgen/hist.rs"]
mod hist;
#[path = "../loadgen/http.rs"]
mod http;
#[path = "../loadgen/inflate.rs"]
mod inflate;
#[path = "../loadgen/polling.rs"]
mod polling;
#[path = "../loadgen/rss.rs"]
mod rss;
#[path = "../loadgen/scenarios.rs"]
mod scenarios;
#[path = "../loadgen/serverapi.rs"]
mod serverapi;
#[path = "../loadgen/session.rs"]
mod session;
#[path = "../loadgen/soak.rs"]
mod soak;
#[path = "../loadgen/sys.rs"]
mod sys;
#[path = "../loadgen/ws.rs"]
mod ws;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use cli::Scenario;
use serde_json::{json, Map, Value};
use session::Ctx;

/// Parses the command line, runs the scenario on a tokio runtime within
/// `--timeout`, prints the result and exits with its status.
fn main() {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("loadgen: {e}");
            }
            eprintln!("{}", cli::USAGE);
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: runtime: {e}");
            std::process::exit(2);
        }
    };
    let ctx = Arc::new(
        Ctx::new(args.target.clone(), args.payload)
            .with_target_b(args.target_b.clone())
            .with_deflate(args.deflate, args.payload, args.pad),
    );
    let (out, code) = rt.block_on(async {
        let run = async {
            match args.scenario {
                Scenario::Connect => scenarios::connect(&args, &ctx).await,
                Scenario::Echo => scenarios::echo(&args, &ctx).await,
                Scenario::Broadcast | Scenario::ClusterBroadcast => {
                    scenarios::broadcast(&args, &ctx).await
                }
                Scenario::Hold => scenarios::hold(&args, &ctx).await,
                Scenario::Smoke => scenarios::smoke(&args, &ctx).await,
                Scenario::Soak => soak::soak(&args, &ctx).await,
            }
        };
        match tokio::time::timeout(args.timeout, run).await {
            Ok(Ok(out)) => {
                let failed = match args.scenario {
                    Scenario::Smoke => ctx.errors() > 0,
                    // The soak lists what failed, errors included.
                    Scenario::Soak => out
                        .get("failures")
                        .and_then(Value::as_array)
                        .is_some_and(|f| !f.is_empty()),
                    _ => false,
                };
                (out, if failed { 1 } else { 0 })
            }
            Ok(Err(e)) => {
                ctx.error(&e);
                (failure(&args, &e), 2)
            }
            Err(_) => {
                let e = format!("scenario timed out after {:?}", args.timeout);
                ctx.error(&e);
                (failure(&args, &e), 2)
            }
        }
    });
    let mut out = out;
    out.insert("errors".into(), json!(ctx.errors()));
    if let Some(d) = &ctx.deflate {
        let n = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        out.insert(
            "deflate".into(),
            json!({
                "messages": n(&d.messages),
                "wire_bytes": n(&d.wire_bytes),
                "inflated_bytes": n(&d.inflated_bytes),
            }),
        );
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", Value::Object(out));
    let _ = stdout.flush();
    drop(stdout);
    rt.shutdown_timeout(Duration::from_secs(1));
    std::process::exit(code);
}

/// The result object of a scenario that could not finish.
fn failure(args: &cli::Args, error: &str) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(
        "scenario".into(),
        json!(match args.scenario {
            Scenario::ClusterBroadcast => "cluster-broadcast".to_string(),
            other => format!("{other:?}").to_lowercase(),
        }),
    );
    out.insert("transport".into(), json!(args.transport.name()));
    out.insert("error".into(), json!(error));
    // No timed phase finished: the whole run's CPU time.
    out.insert("loadgen_cpu_ms".into(), json!(sys::cpu_ms()));
    out
}
