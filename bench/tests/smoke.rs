//! End-to-end check of the load generator against the benchmark's servers:
//! starts `bench-server` on a free port, runs `loadgen smoke` against it
//! (20 WebSocket + 5 polling clients, 50 acked echoes per transport, a
//! broadcast and a room broadcast) and checks its JSON result; then checks
//! that `bare-ws`, the floor `run.py` measures beside it, serves the
//! WebSocket scenarios, that `bench-server` with `DEFLATE=1` sends
//! compressed broadcasts `loadgen --deflate` inflates back intact, and that
//! two `bench-server`s on a throwaway `redis-server` (classic, sharded and
//! Streams adapters; skipped when `redis-server` is not installed) or on
//! the PostgreSQL at 127.0.0.1:5432 database `test` (skipped when `psql`
//! cannot reach it) deliver `loadgen cluster-broadcast`'s broadcasts across
//! the cluster.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the server when the test ends, passed or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Starts the server binary `exe` on a free port; returns it and the port
/// once it listens.
fn start(exe: &str) -> (Server, u16) {
    start_with(exe, &[])
}

/// [`start`] with more environment variables.
fn start_with(exe: &str, env: &[(&str, &str)]) -> (Server, u16) {
    let port = free_port();
    let server = Server(
        Command::new(exe)
            .env("PORT", port.to_string())
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {exe}: {e}")),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{exe} did not listen on {port} within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, port)
}

/// Runs `loadgen ARGS --url ... --timeout 25` against `port`.
fn run_loadgen(port: u16, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .args([
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--timeout",
            "25",
        ])
        .output()
        .expect("run loadgen")
}

/// [`run_loadgen`]; returns its JSON result and its stderr, after checking
/// it succeeded.
fn loadgen(port: u16, args: &[&str]) -> (serde_json::Value, String) {
    let out = run_loadgen(port, args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "loadgen {args:?} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let v = serde_json::from_str(stdout.trim()).expect("one JSON object on stdout");
    (v, stderr)
}

/// `loadgen smoke` passes against a freshly started `bench-server`.
#[test]
fn loadgen_smoke_against_bench_server() {
    let (server, port) = start(env!("CARGO_BIN_EXE_bench-server"));
    let (v, stderr) = loadgen(port, &["smoke"]);
    assert_eq!(v["scenario"], "smoke", "{v}");
    assert_eq!(v["errors"], 0, "{v}");
    assert_eq!(v["connections"], 25, "{v}");
    assert_eq!(v["acked"]["websocket"], 50, "{v}");
    assert_eq!(v["acked"]["polling"], 50, "{v}");
    assert_eq!(v["echo_events"], 2, "{v}");
    let rounds = v["broadcasts"].as_array().expect("broadcasts");
    assert_eq!(rounds.len(), 2, "{v}");
    for r in rounds {
        assert_eq!(r["delivered"], r["expected"], "{v}");
    }
    assert!(
        v["loadgen_cpu_ms"].as_f64().is_some_and(|c| c >= 0.0),
        "{v}"
    );
    assert!(
        v["phase_end_ms"].as_u64() >= v["phase_start_ms"].as_u64(),
        "{v}"
    );
    assert!(stderr.lines().any(|l| l == "PHASE_END"), "{stderr}");
    drop(server);
}

/// `bare-ws` answers acked echoes and delivers every broadcast, to all and
/// to a room, in bursts: the WebSocket figures `run.py` takes from it.
#[test]
fn bare_ws_serves_the_websocket_scenarios() {
    let (server, port) = start(env!("CARGO_BIN_EXE_bare-ws"));
    let (v, _) = loadgen(
        port,
        &["echo", "--clients", "5", "--rate", "200", "--secs", "0.5"],
    );
    assert_eq!(v["errors"], 0, "{v}");
    assert_eq!(v["acked"], 100, "{v}");
    for room in [&[][..], &["--room-half"][..]] {
        let mut args = vec![
            "broadcast",
            "--clients",
            "20",
            "--rounds",
            "2",
            "--burst",
            "3",
        ];
        args.extend_from_slice(room);
        let (v, _) = loadgen(port, &args);
        assert_eq!(v["errors"], 0, "{v}");
        assert_eq!(
            v["deliveries"],
            v["receivers"].as_u64().unwrap() * 2 * 3,
            "{v}"
        );
    }
    drop(server);
}

/// With `DEFLATE=1`, a 3,000-byte broadcast of JSON-like records reaches
/// every `loadgen --deflate` client compressed and inflates back to what
/// was sent (loadgen compares each whole); one under the 1024-byte
/// threshold comes plain; and without `DEFLATE` the clients refuse the
/// server that does not negotiate it.
#[test]
fn deflate_broadcasts_arrive_compressed_and_intact() {
    let exe = env!("CARGO_BIN_EXE_bench-server");
    let (server, port) = start_with(exe, &[("DEFLATE", "1")]);
    let args = ["broadcast", "--clients", "20", "--rounds", "2", "--deflate"];
    let (v, _) = loadgen(
        port,
        &[&args[..], &["--payload", "3000", "--json-pad"]].concat(),
    );
    assert_eq!(v["errors"], 0, "{v}");
    assert_eq!(v["deliveries"], 2 * 21, "{v}");
    let d = &v["deflate"];
    assert_eq!(d["messages"], 2 * 21, "{v}");
    let (wire, inflated) = (
        d["wire_bytes"].as_u64().unwrap(),
        d["inflated_bytes"].as_u64().unwrap(),
    );
    assert!(inflated > 2 * 21 * 3000 && wire * 3 < inflated, "{v}");
    let (v, _) = loadgen(port, &[&args[..], &["--payload", "500"]].concat());
    assert_eq!(
        (&v["errors"], &v["deliveries"]),
        (&0.into(), &(2 * 21).into()),
        "{v}"
    );
    assert_eq!(v["deflate"]["messages"], 0, "{v}");
    let (v, _) = loadgen(port, &["hold", "--n", "5", "--deflate"]);
    assert_eq!(
        (&v["errors"], &v["connections"]),
        (&0.into(), &5.into()),
        "{v}"
    );
    drop(server);
    let (plain, port) = start(exe);
    let out = run_loadgen(port, &args);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("permessage-deflate"), "{stderr}");
    drop(plain);
}

/// Sends one Redis command over a fresh connection; returns the reply's
/// last line (`+PONG`, `:2`), or `None` when Redis is not answering.
fn redis(port: u16, args: &[&str]) -> Option<String> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    c.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let text = String::from_utf8_lossy(&buf);
        let last = text.trim_end().rsplit("\r\n").next().unwrap_or("");
        if text.ends_with("\r\n") && last.starts_with(['+', ':', '-']) {
            return Some(last.to_string());
        }
        // A bulk string (INFO): the whole of it, once there.
        if let Some((len, body)) = text.strip_prefix('$').and_then(|t| t.split_once("\r\n")) {
            if len.parse().is_ok_and(|n: usize| body.len() >= n + 2) {
                return Some(body.to_string());
            }
        }
        let n = c.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Two `bench-server`s on one throwaway Redis (`REDIS_URL`), for each
/// `ADAPTER` (classic, sharded, Streams): every broadcast from a client of
/// the first reaches the clients of both, the second's through Redis, as
/// `run.py`'s cluster figures measure.
#[test]
fn cluster_broadcast_across_two_bench_servers() {
    for engine in ["pubsub", "sharded", "streams"] {
        let redis_port = free_port();
        let spawned = Command::new("redis-server")
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = spawned else {
            eprintln!("redis-server is not installed: cluster test skipped");
            return;
        };
        let redis_server = Server(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis(redis_port, &["PING"]).as_deref() != Some("+PONG") {
            assert!(Instant::now() < deadline, "redis-server did not answer");
            std::thread::sleep(Duration::from_millis(20));
        }
        let url = format!("redis://127.0.0.1:{redis_port}");
        let exe = env!("CARGO_BIN_EXE_bench-server");
        let env = [("REDIS_URL", url.as_str()), ("ADAPTER", engine)];
        let (a, port_a) = start_with(exe, &env);
        let (b, port_b) = start_with(exe, &env);
        // Both adapters subscribe in the background: wait for Redis to list
        // them (and, Streams, both readers blocked in XREAD).
        let ready = || match engine {
            "pubsub" => {
                redis(redis_port, &["PUBSUB", "NUMSUB", "socket.io-request#/#"]).as_deref()
                    == Some(":2")
            }
            "sharded" => {
                redis(redis_port, &["PUBSUB", "SHARDNUMSUB", "socket.io#/#"]).as_deref()
                    == Some(":2")
            }
            _ => {
                redis(redis_port, &["PUBSUB", "NUMSUB", "socket.io#/#"]).as_deref() == Some(":2")
                    && redis(redis_port, &["INFO", "clients"])
                        .is_some_and(|i| i.contains("blocked_clients:2"))
            }
        };
        while !ready() {
            assert!(
                Instant::now() < deadline,
                "the {engine} servers did not subscribe"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        check_cluster(engine, port_a, port_b);
        drop((a, b, redis_server));
    }
}

/// Runs `loadgen cluster-broadcast` (20 clients, 2 rounds) across servers
/// `a` and `b` and checks every broadcast reached both.
fn check_cluster(engine: &str, a: u16, b: u16) {
    let url_b = format!("http://127.0.0.1:{b}");
    let args = ["cluster-broadcast", "--clients", "20", "--rounds", "2"];
    let (v, _) = loadgen(a, &[&args[..], &["--url-b", &url_b]].concat());
    assert_eq!(v["scenario"], "cluster-broadcast", "{engine}: {v}");
    assert_eq!(v["errors"], 0, "{engine}: {v}");
    assert_eq!(
        (v["clients_a"].as_u64(), v["clients_b"].as_u64()),
        (Some(11), Some(10)),
        "{engine}: {v}"
    );
    assert_eq!(v["deliveries"], 2 * 21, "{engine}: {v}");
    assert_eq!(v["deliveries_b"], 2 * 10, "{engine}: {v}");
    assert!(
        v["cross_p99_us"].as_f64().is_some_and(|p| p > 0.0),
        "{engine}: {v}"
    );
}

/// Runs one query through `psql` on `url`; `None` when it fails.
fn psql(url: &str, sql: &str) -> Option<String> {
    let out = Command::new("psql")
        .args([url, "-XAtqc", sql])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Two `bench-server`s on the PostgreSQL at 127.0.0.1:5432 database `test`
/// (`POSTGRES_URL`, a channel prefix and attachments table of this test's
/// own, dropped after): the cross-node broadcasts arrive as with Redis.
#[test]
fn cluster_broadcast_across_two_bench_servers_on_postgres() {
    let url = "postgres://postgres@127.0.0.1:5432/test";
    if psql(url, "SELECT 1").is_none() {
        eprintln!("no PostgreSQL at {url} (or no psql): test skipped");
        return;
    }
    let tag = format!("smoke_{}", std::process::id());
    let table = format!("bench_att_{tag}");
    let exe = env!("CARGO_BIN_EXE_bench-server");
    let env = [
        ("POSTGRES_URL", url),
        ("PG_PREFIX", tag.as_str()),
        ("PG_TABLE", table.as_str()),
    ];
    let (a, port_a) = start_with(exe, &env);
    let (b, port_b) = start_with(exe, &env);
    let listening =
        format!("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN \"{tag}#/\"%'");
    let deadline = Instant::now() + Duration::from_secs(10);
    while psql(url, &listening).as_deref() != Some("2") {
        assert!(Instant::now() < deadline, "the servers did not LISTEN");
        std::thread::sleep(Duration::from_millis(20));
    }
    check_cluster("postgres", port_a, port_b);
    drop((a, b));
    psql(url, &format!("DROP TABLE IF EXISTS {table}"));
}
