//! Command line of `loadgen`: `loadgen <scenario> --url URL [options]`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// What `loadgen --help` prints.
pub const USAGE: &str = "\
usage: loadgen <scenario> --url http://127.0.0.1:PORT [options]

scenarios:
  connect    --n N [--concurrency C] [--transport T]   open N connections, timed
  echo       --clients M --rate R --secs D [--transport T] [--payload B]
                                                       open-loop echo with acks, latency
  broadcast  --clients N [--room-half] [--rounds K] [--payload B]
                                                       time to deliver a broadcast to all
  cluster-broadcast --url-b URL --clients N [--rounds K] [--burst B] [--payload B]
                                                       broadcast across two servers of a cluster:
                                                       clients split over both, sender on --url
  hold       --n N [--transport T]                     hold N connections until stdin
  smoke      (20 WebSocket + 5 polling clients)        self-test; exit 1 on any error
  soak       --clients N --polling P --secs D [--churn R] [--broadcast-every S]
             [--server-pid PID] [--api-key KEY]         long run: churn, broadcasts, server RSS;
                                                       exit 1 when a soak check fails

options:
  --url URL          server, loopback only (http://127.0.0.1:PORT, ws:// too)
  --url-b URL        cluster-broadcast: the second server (loopback only)
  --path P           Socket.IO path (default /socket.io/)
  --n, --clients N   connections (connect/hold default 1000, echo 100, broadcast 1000)
  --concurrency C    handshakes in flight at most (default 200)
  --transport T      websocket (default) or polling
  --rate R           echo: total emits per second (default 1000)
  --secs D           echo: timed phase length in seconds (default 10)
  --payload B        bytes of the string argument (default 32)
  --rounds K         broadcast: rounds (default 5)
  --burst B          broadcast: emits per round, sent back to back (default 1)
  --room-half        broadcast: every second client joins room `half`, emit to it
  --json-pad         broadcast: pad the argument with JSON-like records (escaped in
                     the string) instead of x's, to compress like real JSON
  --deflate          WebSocket clients offer permessage-deflate (no context takeover)
                     and inflate what comes compressed; every broadcast is checked
                     whole; the result gets a `deflate` object (messages, bytes)
  --room NAME        connect/echo/hold: every client joins room NAME
  --sync             wait for a line on stdin after READY, before the timed phase
  --threads N        runtime worker threads (default 1)
  --timeout S        bound on the whole scenario in seconds (default 900; soak:
                     --secs + 600)
  --polling P        soak: long-polling clients besides the N WebSocket ones (default 300)
  --churn R          soak: WebSocket disconnects and connects per second each (default 200)
  --broadcast-every S  soak: seconds between /api/broadcast calls (default 5)
  --api-key KEY      soak: X-API-Key for /api/broadcast (required for broadcasts)
  --server-pid PID   soak: the server process whose VmRSS is sampled (required)
  --sample-every S   soak: seconds between RSS samples (default 5)
  --warmup S         soak: seconds of churn after the opening before RSS samples
                     count (default a quarter of --secs, at least 60)
  --rss-tolerance P  soak: most growth in percent of the last window's median RSS
                     over the first's (default 5)

Prints one JSON object on stdout; READY and PHASE_END lines and progress on stderr.";

/// The scenario to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Connection rate.
    Connect,
    /// Ack round-trip latency under an open-loop emit rate.
    Echo,
    /// Broadcast fan-out time.
    Broadcast,
    /// Broadcast fan-out across two servers of a cluster.
    ClusterBroadcast,
    /// Idle connections held for a memory figure.
    Hold,
    /// Self-test.
    Smoke,
    /// Long run with churn, broadcasts and server memory samples.
    Soak,
}

/// Engine.IO transport the clients use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// WebSocket only (`transport=websocket` from the first request).
    WebSocket,
    /// HTTP long-polling only, never upgraded.
    Polling,
}

impl Transport {
    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Polling => "polling",
        }
    }
}

/// How a broadcast argument is padded to `--payload` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pad {
    /// `xxx…` (the default).
    X,
    /// JSON-like records (`--json-pad`).
    Records,
}

/// Where the server is.
#[derive(Debug, Clone)]
pub struct Target {
    /// Socket address to connect to (always loopback).
    pub addr: SocketAddr,
    /// `Host` header value, `127.0.0.1:PORT`.
    pub host: String,
    /// Socket.IO path, with leading and trailing `/`.
    pub path: String,
}

/// Parsed command line.
#[derive(Debug, Clone)]
pub struct Args {
    /// Scenario to run.
    pub scenario: Scenario,
    /// The server.
    pub target: Target,
    /// The second server (`--url-b`, cluster-broadcast).
    pub target_b: Option<Target>,
    /// Number of connections (`--n` / `--clients`).
    pub count: usize,
    /// Handshakes in flight at most.
    pub concurrency: usize,
    /// Transport of the clients.
    pub transport: Transport,
    /// Echo: emits per second, all clients together.
    pub rate: f64,
    /// Echo: length of the timed phase.
    pub secs: f64,
    /// Bytes of the string argument.
    pub payload: usize,
    /// Broadcast: rounds.
    pub rounds: usize,
    /// Broadcast: emits per round, written back to back.
    pub burst: usize,
    /// Broadcast: to room `half` (every second client) instead of everyone.
    pub room_half: bool,
    /// Room every client joins (connect, echo, hold).
    pub room: Option<String>,
    /// Broadcast: how the argument is padded.
    pub pad: Pad,
    /// WebSocket clients negotiate permessage-deflate.
    pub deflate: bool,
    /// Wait for a stdin line after READY.
    pub sync: bool,
    /// Runtime worker threads.
    pub threads: usize,
    /// Bound on the whole scenario.
    pub timeout: Duration,
    /// Soak options.
    pub soak: SoakArgs,
}

/// Options of the `soak` scenario.
#[derive(Debug, Clone)]
pub struct SoakArgs {
    /// Long-polling clients besides the WebSocket ones.
    pub polling: usize,
    /// WebSocket disconnects (and as many connects) per second.
    pub churn: f64,
    /// Seconds between broadcasts.
    pub broadcast_every: f64,
    /// `X-API-Key` for `/api/broadcast`; no broadcasts without one.
    pub api_key: Option<String>,
    /// The server process whose resident memory is sampled.
    pub server_pid: Option<u32>,
    /// Seconds between memory samples.
    pub sample_every: f64,
    /// Churn after the opening before samples count (`None`: a quarter
    /// of `--secs`, at least 60 s).
    pub warmup: Option<f64>,
    /// Most growth of the last window's median RSS over the first's, in
    /// percent.
    pub rss_tolerance: f64,
}

impl Default for SoakArgs {
    fn default() -> Self {
        Self {
            polling: 300,
            churn: 200.0,
            broadcast_every: 5.0,
            api_key: None,
            server_pid: None,
            sample_every: 5.0,
            warmup: None,
            rss_tolerance: 5.0,
        }
    }
}

/// Parses the URL: scheme `http`/`ws`, loopback host, a port; any path is
/// ignored (use `--path`).
fn parse_url(url: &str, path: String) -> Result<Target, String> {
    let rest = ["http://", "ws://"]
        .iter()
        .find_map(|s| url.strip_prefix(s))
        .ok_or_else(|| format!("--url {url}: expected http://HOST:PORT"))?;
    let authority = rest.split('/').next().unwrap_or("");
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, p) = v6
            .split_once("]:")
            .ok_or_else(|| format!("--url {url}: no port"))?;
        (h, p)
    } else {
        authority
            .rsplit_once(':')
            .ok_or_else(|| format!("--url {url}: no port"))?
    };
    let port: u16 = port.parse().map_err(|_| format!("--url {url}: bad port"))?;
    let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse()
            .map_err(|_| format!("--url {url}: host must be an IP address or localhost"))?
    };
    if !ip.is_loopback() {
        return Err(format!("--url {url}: only loopback addresses are allowed"));
    }
    let addr = SocketAddr::new(ip, port);
    Ok(Target {
        addr,
        host: addr.to_string(),
        path,
    })
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut it = args.into_iter();
    let scenario = match it.next().as_deref() {
        Some("connect") => Scenario::Connect,
        Some("echo") => Scenario::Echo,
        Some("broadcast") => Scenario::Broadcast,
        Some("cluster-broadcast") => Scenario::ClusterBroadcast,
        Some("hold") => Scenario::Hold,
        Some("smoke") => Scenario::Smoke,
        Some("soak") => Scenario::Soak,
        Some("-h" | "--help") | None => return Err(String::new()),
        Some(other) => return Err(format!("unknown scenario {other:?}")),
    };
    let mut url = None;
    let mut url_b = None;
    let mut path = "/socket.io/".to_string();
    let mut count = None;
    let mut args = Args {
        scenario,
        target: parse_url("http://127.0.0.1:1", String::new())?,
        target_b: None,
        count: 0,
        concurrency: 200,
        transport: Transport::WebSocket,
        rate: 1000.0,
        secs: 10.0,
        payload: 32,
        rounds: 5,
        burst: 1,
        room_half: false,
        room: None,
        pad: Pad::X,
        deflate: false,
        sync: false,
        threads: 1,
        timeout: Duration::from_secs(900),
        soak: SoakArgs::default(),
    };
    let mut timeout_set = false;
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--sync" => args.sync = true,
            "--room-half" => args.room_half = true,
            "--json-pad" => args.pad = Pad::Records,
            "--deflate" => args.deflate = true,
            "-h" | "--help" => return Err(String::new()),
            _ => {
                let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
                let num = |v: &str| v.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0);
                let int = |v: &str| {
                    v.parse::<usize>()
                        .map_err(|_| format!("{flag} {v}: not a count"))
                };
                match flag.as_str() {
                    "--url" => url = Some(value),
                    "--url-b" => url_b = Some(value),
                    "--path" => {
                        let mut p = value;
                        if !p.starts_with('/') {
                            p.insert(0, '/');
                        }
                        if !p.ends_with('/') {
                            p.push('/');
                        }
                        path = p;
                    }
                    "--n" | "--clients" => count = Some(int(&value)?),
                    "--concurrency" => args.concurrency = int(&value)?.max(1),
                    "--transport" => {
                        args.transport = match value.as_str() {
                            "websocket" | "ws" => Transport::WebSocket,
                            "polling" => Transport::Polling,
                            _ => return Err(format!("--transport {value}: websocket or polling")),
                        }
                    }
                    "--rate" => {
                        args.rate = num(&value)
                            .filter(|r| *r > 0.0)
                            .ok_or("--rate: a positive number")?
                    }
                    "--secs" => {
                        args.secs = num(&value)
                            .filter(|s| *s > 0.0)
                            .ok_or("--secs: a positive number")?
                    }
                    "--payload" => args.payload = int(&value)?,
                    "--rounds" => args.rounds = int(&value)?.max(1),
                    "--burst" => args.burst = int(&value)?.max(1),
                    "--room" => args.room = Some(value),
                    "--threads" => args.threads = int(&value)?.max(1),
                    "--timeout" => {
                        let s = num(&value)
                            .filter(|s| *s > 0.0)
                            .ok_or("--timeout: a positive number")?;
                        args.timeout = Duration::from_secs_f64(s);
                        timeout_set = true;
                    }
                    "--polling" => args.soak.polling = int(&value)?,
                    "--churn" => args.soak.churn = num(&value).ok_or("--churn: a number")?,
                    "--broadcast-every" => {
                        args.soak.broadcast_every = num(&value)
                            .filter(|s| *s > 0.0)
                            .ok_or("--broadcast-every: a positive number")?
                    }
                    "--api-key" => args.soak.api_key = Some(value),
                    "--server-pid" => {
                        args.soak.server_pid = Some(
                            value
                                .parse()
                                .map_err(|_| format!("--server-pid {value}: not a pid"))?,
                        )
                    }
                    "--sample-every" => {
                        args.soak.sample_every = num(&value)
                            .filter(|s| *s >= 0.1)
                            .ok_or("--sample-every: at least 0.1")?
                    }
                    "--warmup" => args.soak.warmup = Some(num(&value).ok_or("--warmup: a number")?),
                    "--rss-tolerance" => {
                        args.soak.rss_tolerance = num(&value).ok_or("--rss-tolerance: a number")?
                    }
                    _ => return Err(format!("unknown option {flag}")),
                }
            }
        }
    }
    if let Some(b) = url_b {
        args.target_b = Some(parse_url(&b, path.clone())?);
    }
    args.target = parse_url(&url.ok_or("--url is required")?, path)?;
    if scenario == Scenario::ClusterBroadcast && args.target_b.is_none() {
        return Err("cluster-broadcast needs --url-b".into());
    }
    if scenario == Scenario::ClusterBroadcast && args.room_half {
        return Err("cluster-broadcast broadcasts to everyone: no --room-half".into());
    }
    args.count = count.unwrap_or(match scenario {
        Scenario::Echo => 100,
        Scenario::Soak => 10_000,
        _ => 1000,
    });
    if scenario == Scenario::Soak {
        if args.soak.server_pid.is_none() {
            return Err("soak needs --server-pid".into());
        }
        if !timeout_set {
            args.timeout = Duration::from_secs_f64(args.secs + 600.0);
        }
    }
    if args.count == 0 && scenario != Scenario::Smoke {
        return Err("--n/--clients must be at least 1".into());
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Args, String> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn parses_options() {
        let a = p("echo --url http://127.0.0.1:3100 --clients 7 --rate 50 --secs 2 --transport polling --sync")
            .unwrap();
        assert_eq!(a.scenario, Scenario::Echo);
        assert_eq!(a.target.addr.port(), 3100);
        assert_eq!(a.target.path, "/socket.io/");
        assert_eq!((a.count, a.rate, a.secs, a.sync), (7, 50.0, 2.0, true));
        assert_eq!(a.transport, Transport::Polling);
        assert_eq!(p("connect --url ws://localhost:9/x").unwrap().count, 1000);
        let c = p("cluster-broadcast --url http://127.0.0.1:1 --url-b http://127.0.0.1:2").unwrap();
        assert_eq!(c.scenario, Scenario::ClusterBroadcast);
        assert_eq!(c.target_b.map(|t| t.addr.port()), Some(2));
        let s = p("soak --url http://127.0.0.1:1 --server-pid 7 --secs 120 --churn 50 --polling 3")
            .unwrap();
        assert_eq!((s.count, s.soak.polling, s.soak.churn), (10_000, 3, 50.0));
        assert_eq!(s.soak.server_pid, Some(7));
        assert_eq!(s.timeout, Duration::from_secs(720));
        let d =
            p("broadcast --url http://127.0.0.1:1 --deflate --json-pad --payload 3000").unwrap();
        assert_eq!((d.deflate, d.pad, d.payload), (true, Pad::Records, 3000));
        assert!(!a.deflate);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(p("connect --url http://10.0.0.1:80").is_err());
        assert!(p("connect").is_err());
        assert!(p("connect --url http://127.0.0.1:1 --rate").is_err());
        assert!(p("fly --url http://127.0.0.1:1").is_err());
        assert!(p("echo --url http://127.0.0.1:1 --bogus 1").is_err());
        assert!(p("cluster-broadcast --url http://127.0.0.1:1").is_err());
        assert!(p("soak --url http://127.0.0.1:1").is_err());
        assert!(p("cluster-broadcast --url http://127.0.0.1:1 --url-b http://10.0.0.1:2").is_err());
    }
}
