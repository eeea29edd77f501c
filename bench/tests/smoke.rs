//! End-to-end check of the load generator against the benchmark's servers:
//! starts `bench-server` on a free port, runs `loadgen smoke` against it
//! (20 WebSocket + 5 polling clients, 50 acked echoes per transport, a
//! broadcast and a room broadcast) and checks its JSON result; then checks
//! that `bare-ws`, the floor `run.py` measures beside it, serves the
//! WebSocket scenarios.

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
    let port = free_port();
    let server = Server(
        Command::new(exe)
            .env("PORT", port.to_string())
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
