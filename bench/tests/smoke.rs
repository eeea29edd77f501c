//! End-to-end check of the load generator against the benchmark's servers:
//! starts `bench-server` on a free port, runs `loadgen smoke` against it
//! (20 WebSocket + 5 polling clients, 50 acked echoes per transport, a
//! broadcast and a room broadcast) and checks its JSON result; then checks
//! that `bare-ws`, the floor `run.py` measures beside it, serves the
//! WebSocket scenarios, and that two `bench-server`s on a throwaway
//! `redis-server` deliver `loadgen cluster-broadcast`'s broadcasts across
//! the cluster (skipped when `redis-server` is not installed).

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

/// Runs `loadgen ARGS --url ... --timeout 25` against `port`; returns its
/// JSON result and its stderr, after checking it succeeded.
fn loadgen(port: u16, args: &[&str]) -> (serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .args([
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--timeout",
            "25",
        ])
        .output()
        .expect("run loadgen");
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
        let n = c.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Two `bench-server`s on one throwaway Redis (`REDIS_URL`): every
/// broadcast from a client of the first reaches the clients of both, the
/// second's through Redis, as `run.py`'s `cluster_broadcast` measures.
#[test]
fn cluster_broadcast_across_two_bench_servers() {
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
    let (a, port_a) = start_with(exe, &[("REDIS_URL", &url)]);
    let (b, port_b) = start_with(exe, &[("REDIS_URL", &url)]);
    // Both adapters subscribe in the background: wait for Redis to list them.
    let subscribed = ["PUBSUB", "NUMSUB", "socket.io-request#/#"];
    while redis(redis_port, &subscribed).as_deref() != Some(":2") {
        assert!(Instant::now() < deadline, "the servers did not subscribe");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url_b = format!("http://127.0.0.1:{port_b}");
    let args = ["cluster-broadcast", "--clients", "20", "--rounds", "2"];
    let (v, _) = loadgen(port_a, &[&args[..], &["--url-b", &url_b]].concat());
    assert_eq!(v["scenario"], "cluster-broadcast", "{v}");
    assert_eq!(v["errors"], 0, "{v}");
    assert_eq!(
        (v["clients_a"].as_u64(), v["clients_b"].as_u64()),
        (Some(11), Some(10)),
        "{v}"
    );
    assert_eq!(v["deliveries"], 2 * 21, "{v}");
    assert_eq!(v["deliveries_b"], 2 * 10, "{v}");
    assert!(v["cross_p99_us"].as_f64().is_some_and(|p| p > 0.0), "{v}");
    drop((a, b, redis_server));
}
