//! End-to-end check of the load generator against our benchmark server:
//! starts `bench-server` on a free port, runs `loadgen smoke` against it
//! (20 WebSocket + 5 polling clients, 50 acked echoes per transport, a
//! broadcast and a room broadcast) and checks its JSON result.

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

/// `loadgen smoke` passes against a freshly started `bench-server`.
#[test]
fn loadgen_smoke_against_bench_server() {
    let port = free_port();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_bench-server"))
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bench-server"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "bench-server did not listen on {port} within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "smoke",
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--timeout",
            "25",
        ])
        .output()
        .expect("run loadgen");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "loadgen smoke failed ({}):\n{stdout}\n{stderr}",
        out.status
    );

    let v: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("one JSON object on stdout");
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
