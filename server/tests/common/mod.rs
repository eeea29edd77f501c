//! Shared helpers of the end-to-end tests: start the real `socketio-server`
//! binary, talk HTTP to it, and drive `socket.io-client` (node) against it.
#![allow(dead_code)]

pub mod backend;
pub mod jwks;
pub mod pair;
pub mod pki;
pub mod redis;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// A JWT secret the tests configure.
pub const SECRET: &str = "test-secret-0123456789abcdef";
/// An API key the tests configure.
pub const KEY: &str = "test-api-key-0123456789";
/// An admin API key the tests configure.
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";
/// An `[admin_ui]` section logging in as `admin` with the password
/// `secret` (bcrypt at cost 4: fast tests).
pub const ADMIN_UI: &str = "[admin_ui]\nenabled = true\nusername = \"admin\"\n\
password_hash = \"$2a$04$02HPE/21Z1L2otbVBYk6.eSPDWraCLpJfiR3sI1DYNvs.DOHhGrC.\"\n";

/// A server listening on 127.0.0.1: the requests every kind of test server
/// answers ([`Server`] and [`InProc`] dereference to it).
pub struct Endpoint {
    pub port: u16,
}

impl Endpoint {
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP request.
    pub async fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        http(self.port, method, path, headers, body).await
    }

    /// An API request with the test key and a JSON body.
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> HttpResponse {
        let b = body.map(|b| b.to_string()).unwrap_or_default();
        self.http(
            method,
            path,
            &[("x-api-key", KEY), ("content-type", "application/json")],
            b.as_bytes(),
        )
        .await
    }

    /// A node socket.io-client connected to `nsp` with `opts`.
    pub async fn client(&self, nsp: &str, opts: Value) -> Client {
        Client::start(&format!("{}{nsp}", self.url()), opts).await
    }

    /// A client of `/` with a token for `user` (and `role`), or without a
    /// token when `user` is `None`, once connected.
    pub async fn connected(&self, user: Option<&str>, role: Option<&str>) -> Client {
        let opts = match user {
            Some(u) => serde_json::json!({ "auth": { "token": token(u, role) } }),
            None => serde_json::json!({}),
        };
        let mut c = self.client("/", opts).await;
        c.connected().await;
        c
    }

    /// `GET /api/dashboard/overview` with the test admin key, which must
    /// answer 200.
    pub async fn overview(&self) -> Value {
        let r = self
            .http(
                "GET",
                "/api/dashboard/overview",
                &[("x-api-key", ADMIN_KEY)],
                b"",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    /// A JSON request with the test admin key.
    pub async fn admin(&self, method: &str, path: &str, body: &Value) -> HttpResponse {
        self.http(
            method,
            path,
            &[
                ("x-api-key", ADMIN_KEY),
                ("content-type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
        .await
    }
}

/// A running server process.
pub struct Server {
    pub child: Child,
    pub ep: Endpoint,
    pub stderr: Lines<BufReader<tokio::process::ChildStderr>>,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A scratch directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A fresh scratch directory.
pub fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sio-server-test-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed) * 1_000_003
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64
}

/// The binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_socketio-server")
}

/// The config every test starts from: secrets, keys, quick pings.
pub fn base_config() -> String {
    format!(
        r#"
[server]
port = 0
drain_secs = 2
[connection]
ping_interval_ms = 2000
ping_timeout_ms = 2000
[auth]
jwt_secrets = ["{SECRET}"]
[api]
keys = ["{KEY}"]
admin_keys = ["{ADMIN_KEY}"]
"#
    )
}

impl Server {
    /// Starts the binary with `config` (TOML) plus `args` and `env`, and
    /// waits for it to listen.
    pub async fn start_with(config: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = scratch();
        let file = dir.join("config.toml");
        std::fs::write(&file, config).unwrap();
        let mut cmd = Command::new(bin());
        cmd.arg("--config").arg(&file).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Server::spawn(cmd, dir).await
    }

    /// Starts the binary with `args` only: no config file, none of the
    /// `SOCKETIO_SERVER_*` variables of the test's environment.
    pub async fn start_bare(args: &[&str]) -> Server {
        let mut cmd = Command::new(bin());
        cmd.args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("SOCKETIO_SERVER_") {
                cmd.env_remove(k);
            }
        }
        Server::spawn(cmd, scratch()).await
    }

    /// Spawns `cmd` (its stderr piped) and waits for its "listening on"
    /// line, which gives the port; `dir` is removed with the server.
    async fn spawn(mut cmd: Command, dir: PathBuf) -> Server {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("start socketio-server");
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let port = tokio::time::timeout(Duration::from_secs(20), async {
            let mut seen = Vec::new();
            while let Some(line) = stderr.next_line().await.unwrap() {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let addr = rest.split('/').nth(2).unwrap();
                    return addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
                }
                seen.push(line);
            }
            panic!("server exited before listening: {}", seen.join("\n"));
        })
        .await
        .expect("server did not start");
        Server {
            child,
            ep: Endpoint { port },
            stderr,
            _dir: tempdir::Dir(dir),
        }
    }

    /// Starts with [`base_config`] and `extra` TOML merged over it.
    pub async fn start(extra: &str) -> Server {
        Server::start_with(&merged_config(extra), &[], &[]).await
    }

    /// Whether a plain HTTP request to this (TLS) server fails to get an
    /// HTTP answer.
    pub async fn api_tls_free_check(&self) -> bool {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let _ = s
            .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        !buf.starts_with(b"HTTP/1.1 200")
    }

    /// Stops the server (SIGTERM) and returns everything it logged since
    /// it started listening.
    pub async fn stop_and_read_logs(mut self) -> String {
        let pid = self.child.id().unwrap();
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
        let mut all = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = self.stderr.next_line().await {
                all.push(line);
            }
        })
        .await;
        all.join("\n")
    }

    /// Sends SIGTERM and returns the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap();
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("server did not exit")
            .unwrap()
    }
}

/// [`base_config`] with `extra` TOML merged over it, table by table.
pub fn merged_config(extra: &str) -> String {
    let mut base: toml::Table = base_config().parse().unwrap();
    let over: toml::Table = extra.parse().unwrap();
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => b.extend(o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
    base.to_string()
}

/// The server run inside the test process, its rate limits on a manual
/// clock: a test crosses a rate-limit window by advancing the clock, not
/// by sleeping through it (and cannot lose a race with it). Everything
/// else (engine timers, sockets, the node clients) is real. Dropping it
/// starts the server's shutdown.
pub struct InProc {
    pub ep: Endpoint,
    /// The rate limiters' clock; stands still until advanced.
    pub clock: socketio_server::clock::Clock,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl InProc {
    /// Starts with [`base_config`] and `extra` merged over it.
    pub async fn start(extra: &str) -> InProc {
        let config = socketio_server::config::Config::from_toml(&merged_config(extra))
            .expect("a valid config");
        let clock = socketio_server::clock::Clock::manual();
        let server = socketio_server::run::Server::bind_with_clock(config, clock.clone())
            .await
            .expect("bind");
        let port = server.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        InProc {
            ep: Endpoint { port },
            clock,
            _stop: stop,
        }
    }
}

impl std::ops::Deref for Server {
    type Target = Endpoint;
    fn deref(&self) -> &Endpoint {
        &self.ep
    }
}

impl std::ops::Deref for InProc {
    type Target = Endpoint;
    fn deref(&self) -> &Endpoint {
        &self.ep
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("response timed out")
        .unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(p) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(std::str::from_utf8(&b[..p]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[p + 2..p + 2 + n]);
        b = &b[p + 4 + n..];
    }
    out
}

/// A socket.io-client process (tests/client.mjs).
pub struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    /// Lines read but not yet consumed by `expect`.
    pending: Vec<Value>,
    next_id: u64,
}

impl Client {
    /// Starts a client for `url` (with namespace) and `opts`.
    pub async fn start(url: &str, opts: Value) -> Client {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/client.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg(url)
            .arg(opts.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node (run `npm ci --prefix conformance/interop` first)");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Client {
            child,
            stdin,
            stdout,
            pending: Vec::new(),
            next_id: 0,
        }
    }

    /// The next line matching `pred`, waiting up to `secs`; lines skipped
    /// on the way stay available to later calls.
    pub async fn expect(&mut self, secs: u64, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.pending.iter().position(&pred) {
            return self.pending.remove(i);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let line = tokio::time::timeout_at(deadline, self.stdout.next_line())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; saw {:?}", self.pending))
                .unwrap()
                .unwrap_or_else(|| {
                    panic!("client exited waiting for {what}; saw {:?}", self.pending)
                });
            let v: Value = serde_json::from_str(&line).unwrap();
            if pred(&v) {
                return v;
            }
            self.pending.push(v);
        }
    }

    /// Waits for `connect`; returns the socket id.
    pub async fn connected(&mut self) -> String {
        let v = self
            .expect(10, "connect", |v| {
                v["type"] == "connect" || v["type"] == "connect_error"
            })
            .await;
        assert_eq!(v["type"], "connect", "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// Waits for `connect_error`; returns it.
    pub async fn refused(&mut self) -> Value {
        let v = self
            .expect(10, "connect_error", |v| {
                v["type"] == "connect" || v["type"] == "connect_error"
            })
            .await;
        assert_eq!(v["type"], "connect_error", "{v}");
        v
    }

    /// Waits for event `name`; returns its arguments.
    pub async fn event(&mut self, name: &str) -> Vec<Value> {
        let v = self
            .expect(10, name, |v| v["type"] == "event" && v["event"] == name)
            .await;
        v["args"].as_array().unwrap().clone()
    }

    /// Whether event `name` arrives within `ms`.
    pub async fn gets_within(&mut self, name: &str, ms: u64) -> bool {
        if self
            .pending
            .iter()
            .any(|v| v["type"] == "event" && v["event"] == name)
        {
            return true;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        loop {
            let Ok(line) = tokio::time::timeout_at(deadline, self.stdout.next_line()).await else {
                return false;
            };
            let Some(line) = line.unwrap() else {
                return false;
            };
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["type"] == "event" && v["event"] == name {
                return true;
            }
            self.pending.push(v);
        }
    }

    /// Whether an event `name` was received and is waiting in the lines
    /// read ahead (by [`Client::expect`] looking for something later).
    pub fn has_pending(&self, name: &str) -> bool {
        self.pending
            .iter()
            .any(|v| v["type"] == "event" && v["event"] == name)
    }

    /// Asserts that no `name` event came before the answer to a `ping`
    /// sent now: the server answers a socket's events in order, so one
    /// sent before the ping's ack would have been read first. A positive
    /// barrier, where a quiet window passes whenever the server is slow.
    pub async fn none_before_ping(&mut self, name: &str) {
        self.emit_ack("ping", serde_json::json!([])).await;
        assert!(
            !self.has_pending(name),
            "a {name} event came: {:?}",
            self.pending
        );
    }

    /// Emits `event` with `args`.
    pub async fn emit(&mut self, event: &str, args: Value) {
        self.send(serde_json::json!({ "op": "emit", "event": event, "args": args }))
            .await;
    }

    /// Emits with an ack and waits for it; returns the ack's arguments.
    pub async fn emit_ack(&mut self, event: &str, args: Value) -> Vec<Value> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(serde_json::json!({ "op": "emit", "event": event, "args": args, "ack": true, "id": id }))
            .await;
        let v = self
            .expect(10, "ack", |v| v["type"] == "ack" && v["id"] == id)
            .await;
        assert!(v["err"].is_null(), "ack failed: {v}");
        v["args"].as_array().unwrap().clone()
    }

    /// Waits for `disconnect`; returns the reason.
    pub async fn disconnected(&mut self, secs: u64) -> String {
        let v = self
            .expect(secs, "disconnect", |v| v["type"] == "disconnect")
            .await;
        v["reason"].as_str().unwrap().to_owned()
    }

    /// Disconnects the socket.
    pub async fn disconnect(&mut self) {
        self.send(serde_json::json!({ "op": "disconnect" })).await;
    }

    /// Sends a raw command to the client script.
    pub async fn send_raw(&mut self, cmd: Value) {
        self.send(cmd).await;
    }

    async fn send(&mut self, cmd: Value) {
        self.stdin
            .write_all(format!("{cmd}\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Ends the client process.
    pub async fn close(mut self) {
        drop(self.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

/// A token for `user` (and `role`) signed with [`SECRET`], valid for an hour.
pub fn token(user: &str, role: Option<&str>) -> String {
    let now = now();
    let mut c = serde_json::json!({ "userId": user, "iat": now, "exp": now + 3600 });
    if let Some(r) = role {
        c["role"] = r.into();
    }
    socketio_server::jwt::sign(
        &c,
        SECRET.as_bytes(),
        socketio_server::jwt::Algorithm::Hs256,
    )
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Polls `check` every 50 ms until it gives `Some`, for at most `secs`.
pub async fn poll<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
