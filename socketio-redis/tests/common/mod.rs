//! Test support for the mixed-cluster tests: a throwaway `redis-server`, the
//! Node socket.io server of `tests/node/server.js` (on `@socket.io/redis-adapter`),
//! one-shot `@socket.io/redis-emitter` runs, and a raw Socket.IO v5 client over
//! WebSocket. socketio-postgres's tests include this file too (`#[path]`):
//! there `tests/node` is theirs, whose scripts take the same commands and
//! read the database URL from `BROKER_URL` (server.js) or `url` (emitter.js).
//!
//! Dev-dependencies this file needs (versions from the workspace):
//! ```toml
//! [dev-dependencies]
//! tokio = { workspace = true, features = ["rt-multi-thread", "macros", "net", "time", "io-util", "process", "sync"] }
//! tokio-tungstenite = { workspace = true, features = ["handshake"] }
//! futures-util = { workspace = true, features = ["sink", "std"] }
//! serde_json = { workspace = true }
//! ```
//! Outside programs: `redis-server` (7+, for the sharded adapter) and `node` with
//! `npm ci --prefix socketio-redis/tests/node` done (scripts/test.sh does both).
//!
//! Paths: [`crate_dir`] is `$SOCKETIO_REDIS_DIR` when set, else this crate's
//! `CARGO_MANIFEST_DIR`. Everything listens on 127.0.0.1 only, and every wait
//! is bounded.
//!
//! Binary values: the client and the Node scripts both write a binary
//! attachment as `{"bin":[bytes...]}` (see [`bin`]).
#![allow(dead_code)]

pub mod both_ways;
pub mod ours;

use std::collections::VecDeque;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long any single wait of this harness lasts before it fails the test.
pub const WAIT: Duration = Duration::from_secs(10);

/// The socketio-redis crate directory: `$SOCKETIO_REDIS_DIR`, else `CARGO_MANIFEST_DIR`.
pub fn crate_dir() -> PathBuf {
    match std::env::var_os("SOCKETIO_REDIS_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    }
}

/// `tests/node` inside [`crate_dir`].
pub fn node_dir() -> PathBuf {
    crate_dir().join("tests").join("node")
}

/// A port that was free on 127.0.0.1 a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// The strings of a JSON list, sorted (a missing one is empty).
pub fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// `{"bin":[bytes...]}`, how a binary value is written in this harness.
pub fn bin(bytes: &[u8]) -> Value {
    json!({ "bin": bytes })
}

/// `eventually!("what", cond_expr)`: evaluates `cond_expr` (it may `.await`)
/// every 20 ms until it is true; panics after 10 s. A macro rather than a
/// function so that the condition can borrow a server mutably.
#[macro_export]
macro_rules! eventually {
    ($what:expr, $cond:expr) => {{
        let deadline = ::tokio::time::Instant::now() + ::std::time::Duration::from_secs(10);
        loop {
            if $cond {
                break;
            }
            assert!(
                ::tokio::time::Instant::now() < deadline,
                "{}: never held within 10 s",
                $what
            );
            ::tokio::time::sleep(::std::time::Duration::from_millis(20)).await;
        }
    }};
}

// ---------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------

/// A `redis-server` of its own on a free 127.0.0.1 port, killed on drop.
pub struct Redis {
    port: u16,
    dir: PathBuf,
    child: Option<std::process::Child>,
}

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
}

impl Resp {
    /// The integer of an `Int` reply, or of a bulk string holding digits.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Resp::Int(n) => Some(*n),
            Resp::Bulk(Some(b)) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }
}

impl Redis {
    /// Starts `redis-server` and waits (bounded) until it answers `PING`.
    pub async fn start() -> Redis {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("socketio-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the redis dir");
        let mut r = Redis {
            port,
            dir,
            child: None,
        };
        r.spawn().await;
        r
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: clients see the connection drop) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the server and starts a new one on the same port; its pub/sub
    /// state is gone, so clients must reconnect and resubscribe.
    pub async fn restart(&mut self) {
        self.stop();
        self.spawn().await;
    }

    /// Saves the data (SAVE), stops the server and starts a new one on the
    /// same port that loads it back: a Redis outage that keeps the streams.
    pub async fn restart_keeping_data(&mut self) {
        self.cmd(&["SAVE"]).await;
        self.stop();
        self.spawn().await;
    }

    async fn spawn(&mut self) {
        let log = self.dir.join("redis.log");
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}): install it (apt-get install redis-server)")
            });
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(Ok(Resp::Simple(s))) =
                tokio::time::timeout(Duration::from_millis(500), self.try_cmd(&["PING"])).await
            {
                if s == "PONG" {
                    return;
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("redis-server exited with {status}:\n{log}");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server on port {} never answered PING",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends one command on a fresh connection and returns the reply (bounded).
    /// E.g. `redis.cmd(&["PUBSUB", "NUMSUB", "socket.io-request#/#"])`.
    pub async fn cmd<A: AsRef<[u8]>>(&self, args: &[A]) -> Resp {
        tokio::time::timeout(WAIT, self.try_cmd(args))
            .await
            .expect("redis reply in time")
            .expect("redis command")
    }

    /// `PUBSUB NUMSUB <channel>` (classic server count) or, with `shard`,
    /// `PUBSUB SHARDNUMSUB <channel>` (sharded server count).
    pub async fn numsub(&self, channel: &str, shard: bool) -> i64 {
        let sub = if shard { "SHARDNUMSUB" } else { "NUMSUB" };
        match self.cmd(&["PUBSUB", sub, channel]).await {
            Resp::Array(Some(v)) if v.len() == 2 => v[1].as_int().expect("a count"),
            other => panic!("PUBSUB {sub}: {other:?}"),
        }
    }

    async fn try_cmd<A: AsRef<[u8]>>(&self, args: &[A]) -> std::io::Result<Resp> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
        let mut stream = BufReader::new(stream);
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            let a = a.as_ref();
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        stream.get_mut().write_all(&out).await?;
        read_resp(&mut stream).await
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bad(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

/// Reads one RESP2 reply.
pub async fn read_resp<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<Resp> {
    // Iterative over a stack of partly filled arrays, so no async recursion.
    let mut stack: Vec<(usize, Vec<Resp>)> = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1.min(line.len()));
        let num = || {
            rest.parse::<i64>()
                .map_err(|_| bad(format!("bad RESP line {line:?}")))
        };
        let mut value = match kind {
            "+" => Resp::Simple(rest.to_owned()),
            "-" => Resp::Error(rest.to_owned()),
            ":" => Resp::Int(num()?),
            "$" if num()? < 0 => Resp::Bulk(None),
            "$" => {
                let mut buf = vec![0; num()? as usize + 2];
                r.read_exact(&mut buf).await?;
                buf.truncate(buf.len() - 2);
                Resp::Bulk(Some(buf))
            }
            "*" if num()? < 0 => Resp::Array(None),
            "*" if num()? == 0 => Resp::Array(Some(Vec::new())),
            "*" => {
                stack.push((num()? as usize, Vec::new()));
                continue;
            }
            _ => return Err(bad(format!("bad RESP line {line:?}"))),
        };
        loop {
            match stack.last_mut() {
                None => return Ok(value),
                Some((want, items)) => {
                    items.push(value);
                    if items.len() < *want {
                        break;
                    }
                    let (_, items) = stack.pop().unwrap();
                    value = Resp::Array(Some(items));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Node: server.js and emitter.js
// ---------------------------------------------------------------------------

fn check_node_modules() {
    let marker = node_dir().join("node_modules/socket.io/package.json");
    assert!(
        marker.exists(),
        "{} is missing: run `npm ci --prefix {}` (scripts/test.sh does)",
        marker.display(),
        node_dir().display()
    );
}

/// The last lines a child wrote on stderr, kept for failure messages.
#[derive(Clone, Default)]
struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    fn collect(&self, stderr: tokio::process::ChildStderr) {
        let tail = self.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                let mut t = tail.0.lock().unwrap();
                if t.len() == 200 {
                    t.pop_front();
                }
                t.push_back(l);
            }
        });
    }

    fn text(&self) -> String {
        self.0
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A `tests/node/server.js` process: socket.io 4.8 on `@socket.io/redis-adapter` 8.3.
pub struct NodeServer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Value>,
    server_side: VecDeque<Value>,
    stderr: StderrTail,
    port: u16,
    next_id: u64,
    uid: String,
}

impl NodeServer {
    /// Spawns server.js on a free port; `adapter` is `"pubsub"` or `"sharded"`
    /// (sharded uses the default `dynamic` subscription mode).
    pub async fn start(redis_url: &str, adapter: &str, key: &str) -> NodeServer {
        Self::start_with(redis_url, adapter, key, &[]).await
    }

    /// Like [`start`](Self::start), with extra environment, e.g.
    /// `&[("SUBSCRIPTION_MODE", "static")]`.
    pub async fn start_with(
        redis_url: &str,
        adapter: &str,
        key: &str,
        env: &[(&str, &str)],
    ) -> NodeServer {
        check_node_modules();
        let port = free_port();
        let mut child = Command::new("node")
            .arg(node_dir().join("server.js"))
            .current_dir(node_dir())
            .env("PORT", port.to_string())
            .env("REDIS_URL", redis_url)
            // The same, under the name the PostgreSQL scripts read.
            .env("BROKER_URL", redis_url)
            .env("ADAPTER", adapter)
            .env("KEY", key)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node ({e}): is Node.js installed?"));
        let stderr = StderrTail::default();
        stderr.collect(child.stderr.take().unwrap());
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        let tail = stderr.clone();
        tokio::spawn(async move {
            let mut out = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = out.next_line().await {
                match serde_json::from_str::<Value>(&l) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                    Err(_) => tail.0.lock().unwrap().push_back(format!("(stdout) {l}")),
                }
            }
        });
        let mut s = NodeServer {
            stdin: child.stdin.take(),
            child,
            lines,
            server_side: VecDeque::new(),
            stderr,
            port,
            next_id: 0,
            uid: String::new(),
        };
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match s.lines.recv().await {
                    Some(v) if v["event"] == "ready" => return Some(v),
                    Some(_) => continue,
                    None => return None,
                }
            }
        })
        .await;
        match ready {
            Ok(Some(v)) => s.uid = v["uid"].as_str().unwrap_or_default().to_owned(),
            Ok(None) => s.fail("server.js exited before it was ready"),
            Err(_) => s.fail("server.js was not ready within 20 s"),
        }
        s
    }

    fn fail(&mut self, what: &str) -> ! {
        let status = self.child.try_wait().ok().flatten();
        // Give the stderr reader a moment to catch the last lines.
        std::thread::sleep(Duration::from_millis(100));
        panic!(
            "{what} (port {}, exit {status:?}); its stderr:\n{}",
            self.port,
            self.stderr.text()
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The adapter uid of the `/` namespace (classic: 6 chars, sharded: 16 hex).
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Sends one command (an `id` is added) and returns its whole result line,
    /// `{"id","ok":true,"result"}` or `{"id","ok":false,"error"}`. Bounded by
    /// [`WAIT`], or by `timeout` + 5 s for commands carrying a longer `timeout`.
    pub async fn cmd(&mut self, mut cmd: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        cmd["id"] = json!(id);
        let mut line = serde_json::to_vec(&cmd).unwrap();
        line.push(b'\n');
        let stdin = self.stdin.as_mut().expect("stdin open");
        if let Err(e) = stdin.write_all(&line).await {
            self.fail(&format!("cannot write to server.js: {e}"));
        }
        let limit = cmd["timeout"]
            .as_u64()
            .map(|ms| Duration::from_millis(ms) + Duration::from_secs(5))
            .map_or(WAIT, |d| d.max(WAIT));
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(v)) if v["id"] == json!(id) => return v,
                Ok(Some(v)) if v["event"] == "serverSide" => self.server_side.push_back(v),
                Ok(Some(_)) => continue, // a late answer to an earlier command
                Ok(None) => self.fail(&format!("server.js exited during {cmd}")),
                Err(_) => self.fail(&format!("no answer to {cmd} within {limit:?}")),
            }
        }
    }

    /// [`cmd`](Self::cmd), asserting `ok`; returns `result`.
    pub async fn cmd_ok(&mut self, cmd: Value) -> Value {
        let r = self.cmd(cmd.clone()).await;
        assert_eq!(r["ok"], json!(true), "{cmd} failed: {r}");
        r["result"].clone()
    }

    /// The next `{"event":"serverSide","nsp","name","args","ack"}` line (bounded by [`WAIT`]).
    pub async fn next_server_side(&mut self) -> Value {
        match self.recv_server_side(WAIT).await {
            Some(v) => v,
            None => self.fail(&format!("no server-side event within {WAIT:?}")),
        }
    }

    /// Asserts that no server-side event arrives within `ms`.
    pub async fn no_server_side(&mut self, ms: u64) {
        if let Some(v) = self.recv_server_side(Duration::from_millis(ms)).await {
            panic!(
                "expected no server-side event on port {}, got {v}",
                self.port
            );
        }
    }

    async fn recv_server_side(&mut self, within: Duration) -> Option<Value> {
        if let Some(v) = self.server_side.pop_front() {
            return Some(v);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(v)) if v["event"] == "serverSide" => return Some(v),
                Ok(Some(_)) => continue,
                Ok(None) => self.fail("server.js exited"),
                Err(_) => return None,
            }
        }
    }

    /// Closes stdin (server.js exits cleanly) and waits for the exit, bounded;
    /// kills it if it lingers.
    pub async fn stop(mut self) {
        self.stdin.take();
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!(
                "--- server.js on port {} stderr:\n{}",
                self.port,
                self.stderr.text()
            );
        }
    }
}

/// Runs `tests/node/emitter.js` with `op` (its `redis` field is set to
/// `redis_url`) to completion, bounded by [`WAIT`]. See emitter.js for the fields.
pub async fn emitter(redis_url: &str, mut op: Value) {
    check_node_modules();
    op["redis"] = json!(redis_url);
    op["url"] = json!(redis_url);
    let run = Command::new("node")
        .arg(node_dir().join("emitter.js"))
        .arg(op.to_string())
        .current_dir(node_dir())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(WAIT, run)
        .await
        .unwrap_or_else(|_| panic!("emitter.js {op} did not finish within {WAIT:?}"))
        .unwrap_or_else(|e| panic!("cannot run node ({e}): is Node.js installed?"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(r#""event":"done""#),
        "emitter.js {op} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------
// Raw Socket.IO v5 client
// ---------------------------------------------------------------------------

/// One decoded Socket.IO packet of the client's namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK.
    pub kind: u8,
    pub nsp: String,
    pub id: Option<u64>,
    /// The JSON payload, binary placeholders replaced by `{"bin":[...]}`.
    pub data: Value,
}

/// An EVENT or BINARY_EVENT the client received.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub args: Vec<Value>,
    /// Set when the server wants an ack: answer with [`Client::ack`].
    pub ack_id: Option<u64>,
}

/// A raw Socket.IO v5 client on one namespace, over one WebSocket; Engine.IO
/// pings are answered whenever it reads.
pub struct Client {
    ws: WebSocketStream<TcpStream>,
    nsp: String,
    sid: String,
    queue: VecDeque<Packet>,
    next_ack: u64,
}

/// `Some("/chat,")` style prefix of a packet for `nsp` (empty for `/`).
fn nsp_prefix(nsp: &str) -> String {
    if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    }
}

/// Parses `<type>[<n>-][/nsp,][id]<json>`; returns the packet and its attachment count.
pub fn parse_packet(s: &str) -> Option<(Packet, usize)> {
    let b = s.as_bytes();
    let kind = (*b.first()? as char).to_digit(10)? as u8;
    let mut i = 1;
    let mut attachments = 0;
    if kind == 5 || kind == 6 {
        let dash = s[i..].find('-')? + i;
        attachments = s[i..dash].parse().ok()?;
        i = dash + 1;
    }
    let mut nsp = "/".to_owned();
    if b.get(i) == Some(&b'/') {
        let end = s[i..].find(',').map_or(s.len(), |c| c + i);
        nsp = s[i..end].to_owned();
        i = (end + 1).min(s.len());
    }
    let digits = s[i..].bytes().take_while(u8::is_ascii_digit).count();
    let id = if digits > 0 {
        s[i..i + digits].parse().ok()
    } else {
        None
    };
    i += digits;
    let data = if i < s.len() {
        serde_json::from_str(&s[i..]).ok()?
    } else {
        Value::Null
    };
    Some((
        Packet {
            kind,
            nsp,
            id,
            data,
        },
        attachments,
    ))
}

/// Replaces `{"_placeholder":true,"num":k}` by `{"bin":[...]}`.
fn fill_placeholders(v: &mut Value, bins: &[Vec<u8>]) {
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| fill_placeholders(x, bins)),
        Value::Object(o) if o.get("_placeholder") == Some(&Value::Bool(true)) => {
            let k = o.get("num").and_then(Value::as_u64).unwrap_or(u64::MAX) as usize;
            *v = bin(bins
                .get(k)
                .expect("placeholder index within the attachments"));
        }
        Value::Object(o) => o.values_mut().for_each(|x| fill_placeholders(x, bins)),
        _ => {}
    }
}

/// The reverse: takes every `{"bin":[...]}` out into attachments.
fn take_binaries(v: &mut Value, bins: &mut Vec<Vec<u8>>) {
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| take_binaries(x, bins)),
        Value::Object(o) if o.len() == 1 && o.get("bin").is_some_and(Value::is_array) => {
            let bytes = o["bin"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().expect("a byte") as u8)
                .collect();
            *v = json!({ "_placeholder": true, "num": bins.len() });
            bins.push(bytes);
        }
        Value::Object(o) => o.values_mut().for_each(|x| take_binaries(x, bins)),
        _ => {}
    }
}

impl Client {
    /// Opens an Engine.IO WebSocket session on 127.0.0.1:`port` and connects
    /// to `nsp` with `auth` (`Value::Null` for none); returns the socket id.
    /// Panics on CONNECT_ERROR.
    pub async fn connect(port: u16, nsp: &str, auth: Value) -> (Client, String) {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("tcp connect");
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url, stream))
            .await
            .expect("websocket handshake in time")
            .expect("websocket handshake");
        let mut c = Client {
            ws,
            nsp: nsp.to_owned(),
            sid: String::new(),
            queue: VecDeque::new(),
            next_ack: 0,
        };
        let open = c.text(WAIT).await.expect("an Engine.IO open packet");
        assert!(
            open.starts_with('0'),
            "expected the open packet, got {open}"
        );
        let auth = if auth.is_null() {
            String::new()
        } else {
            auth.to_string()
        };
        c.send_text(&format!("40{}{auth}", nsp_prefix(nsp))).await;
        let p = c.packet(WAIT).await.expect("a CONNECT answer");
        match p.kind {
            0 => c.sid = p.data["sid"].as_str().expect("sid in CONNECT").to_owned(),
            _ => panic!("connect to {nsp} refused: {p:?}"),
        }
        let sid = c.sid.clone();
        (c, sid)
    }

    pub fn sid(&self) -> &str {
        &self.sid
    }

    async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text))
            .await
            .expect("websocket send");
    }

    /// The next Socket.IO text frame (Engine.IO `4...`), answering pings;
    /// `None` when the connection ended or `within` passed.
    async fn text(&mut self, within: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let m = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match m {
                Some(Ok(Message::Text(t))) => match t.as_str() {
                    "2" => self.send_text("3").await,
                    "6" => {}
                    "1" => return None,
                    t => return Some(t.to_owned()),
                },
                Some(Ok(Message::Binary(b))) => panic!("unexpected binary frame {b:?}"),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next raw packet of this client's namespace with its attachments
    /// filled in; `None` when the connection ended or `within` passed.
    async fn packet(&mut self, within: Duration) -> Option<Packet> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let t = self.text(left).await?;
            if let Some(open) = t.strip_prefix('0') {
                panic!("a second open packet {open}");
            }
            let body = t
                .strip_prefix('4')
                .unwrap_or_else(|| panic!("not a message: {t}"));
            let (mut p, n) = parse_packet(body).unwrap_or_else(|| panic!("bad packet {body}"));
            let mut bins = Vec::with_capacity(n);
            while bins.len() < n {
                let m = tokio::time::timeout_at(deadline, self.ws.next())
                    .await
                    .ok()??;
                match m {
                    Ok(Message::Binary(b)) => bins.push(b.to_vec()),
                    Ok(Message::Text(t)) if t.as_str() == "2" => self.send_text("3").await,
                    Ok(Message::Ping(_) | Message::Pong(_)) => {}
                    other => panic!("expected attachment {} of {n}, got {other:?}", bins.len()),
                }
            }
            fill_placeholders(&mut p.data, &bins);
            if p.nsp == self.nsp {
                return Some(p);
            }
        }
    }

    /// The next packet: one queued while waiting for an ack, else from the wire.
    async fn next_packet(&mut self, within: Duration) -> Option<Packet> {
        match self.queue.pop_front() {
            Some(p) => Some(p),
            None => self.packet(within).await,
        }
    }

    /// The next EVENT/BINARY_EVENT, with its ack id (bounded by [`WAIT`]).
    pub async fn next_event(&mut self) -> Event {
        let p = self.next_packet(WAIT).await;
        let p = p.unwrap_or_else(|| {
            panic!(
                "{}: no event within {WAIT:?} (or connection closed)",
                self.sid
            )
        });
        assert!(
            matches!(p.kind, 2 | 5),
            "{}: expected an event, got {p:?}",
            self.sid
        );
        let mut items = match p.data {
            Value::Array(a) if !a.is_empty() => a,
            other => panic!("event payload is not [name, ...]: {other}"),
        };
        let name = match items.remove(0) {
            Value::String(s) => s,
            other => panic!("event name is not a string: {other}"),
        };
        Event {
            name,
            args: items,
            ack_id: p.id,
        }
    }

    /// The next event's name and arguments (bounded by [`WAIT`]).
    pub async fn event(&mut self) -> (String, Vec<Value>) {
        let e = self.next_event().await;
        (e.name, e.args)
    }

    /// Asserts that no packet arrives within `ms` (pings are answered).
    pub async fn silent(&mut self, ms: u64) {
        if let Some(p) = self.queue.pop_front() {
            panic!("{}: expected silence, have {p:?}", self.sid);
        }
        if let Some(p) = self.packet(Duration::from_millis(ms)).await {
            panic!("{}: expected silence, got {p:?}", self.sid);
        }
    }

    /// Sends an EVENT (BINARY_EVENT when an arg holds `{"bin":[...]}`), with an ack id if given.
    async fn send_event(&mut self, ack: Option<u64>, event: &str, args: Vec<Value>) {
        let mut data = Value::Array(std::iter::once(json!(event)).chain(args).collect());
        self.send_data(2, ack, &mut data).await;
    }

    async fn send_data(&mut self, kind: u8, id: Option<u64>, data: &mut Value) {
        let mut bins = Vec::new();
        take_binaries(data, &mut bins);
        let head = if bins.is_empty() {
            format!("4{kind}")
        } else {
            format!("4{}{}-", kind + 3, bins.len())
        };
        let id = id.map(|i| i.to_string()).unwrap_or_default();
        self.send_text(&format!("{head}{}{id}{data}", nsp_prefix(&self.nsp)))
            .await;
        for b in bins {
            self.ws
                .send(Message::binary(b))
                .await
                .expect("websocket send");
        }
    }

    /// Emits `event` without an ack.
    pub async fn emit(&mut self, event: &str, args: Vec<Value>) {
        self.send_event(None, event, args).await;
    }

    /// Emits `event` with an ack and returns the ack's arguments (bounded by
    /// [`WAIT`]); events arriving meanwhile are kept for [`event`](Self::event).
    pub async fn emit_with_ack(&mut self, event: &str, args: Vec<Value>) -> Vec<Value> {
        let id = self.next_ack;
        self.next_ack += 1;
        self.send_event(Some(id), event, args).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let p = self.packet(left).await;
            let p = p
                .unwrap_or_else(|| panic!("{}: no ack {id} for {event} within {WAIT:?}", self.sid));
            match p.kind {
                3 | 6 if p.id == Some(id) => match p.data {
                    Value::Array(a) => return a,
                    other => panic!("ack payload is not an array: {other}"),
                },
                _ => self.queue.push_back(p),
            }
        }
    }

    /// Answers an event that asked for an ack.
    pub async fn ack(&mut self, id: u64, args: Vec<Value>) {
        self.send_data(3, Some(id), &mut Value::Array(args)).await;
    }

    /// Expects a DISCONNECT (`41`) for this namespace (bounded by [`WAIT`]);
    /// events before it are skipped.
    pub async fn disconnected(&mut self) {
        loop {
            match self.next_packet(WAIT).await {
                Some(p) if p.kind == 1 => return,
                Some(p) if matches!(p.kind, 2 | 5) => continue,
                Some(p) => panic!("{}: expected a disconnect, got {p:?}", self.sid),
                None => panic!(
                    "{}: no disconnect within {WAIT:?} (or closed without one)",
                    self.sid
                ),
            }
        }
    }

    /// Expects the connection to end: an Engine.IO close, a close frame or EOF
    /// (a `41` before it is accepted; events are skipped). Bounded by [`WAIT`].
    pub async fn closed(&mut self) {
        self.queue.clear();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                panic!("{}: connection still open after {WAIT:?}", self.sid);
            }
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => continue,
                Ok(Some(Ok(Message::Text(t)))) if t.as_str() == "2" => self.send_text("3").await,
                Ok(Some(Ok(Message::Text(t)))) if t.as_str() == "1" => return,
                Ok(Some(Ok(Message::Text(t)))) if t.starts_with("41") || t.starts_with("42") => {}
                Ok(Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) => return,
                Ok(Some(Ok(other))) => panic!("{}: expected close, got {other:?}", self.sid),
            }
        }
    }

    /// Closes the WebSocket (the server sees a transport close).
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
