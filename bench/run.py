#!/usr/bin/env python3
"""Runs the benchmark: our bench-server and Node's socket.io under the same
load, side by side, and prints one table (median of the runs).

    python3 bench/run.py                 # full run, 3 repetitions (~40 min)
    python3 bench/run.py --runs 1 --quick   # small sizes, about 6 minutes
    python3 bench/run.py --write         # also write bench/RESULTS.md
    python3 bench/run.py --peer NAME=CMD # one more server in the table
    python3 bench/run.py --servers ours,node  # without the bare floor

Servers: `ours` (bench-server), `node` (bench/node/server.js) and `bare`
(`bare-ws`: the floor, a plain tokio-tungstenite server that fakes just
enough of the protocol for the load generator, WebSocket figures only).

A peer is any server command that follows the contract of
`bench/src/bin/bench-server.rs` (port from `PORT`, same handlers); it gets a
column and a ratio of its own. Nothing here builds or installs a peer.

Installs what it needs itself: `cargo build --release -p bench` and
`npm ci --prefix bench/node` (socket.io from the lock file). Each server
runs alone, pinned to core 0; the load generator is pinned to core 1.
Server CPU time is the scheduler's, to the nanosecond (the threads'
/proc/<pid>/task/*/schedstat), between the load generator's READY and
PHASE_END marks, split into user and kernel in the proportion of
/proc/<pid>/stat's 10 ms ticks; memory from /proc/<pid>/status (VmRSS).
Every figure starts a fresh server. Targets 127.0.0.1 only.

Broadcast to everyone is measured at 1k, 5k, 10k and 19k receivers (19k:
the most one process opens under this machine kind's 20,000 open-files
hard limit, which both the servers and the load generator get as their
soft limit); a table of our CPU per delivery over the floor's by size
shows whether the gap grows with the receivers.

permessage-deflate: the `*_deflate` figures start ours and Node with
`DEFLATE=1` (bench-server: the engine's per_message_deflate, threshold
1024; Node: `perMessageDeflate: { threshold: 1024 }`) and run the load
generator with `--deflate` (it offers permessage-deflate without context
takeover and inflates what it gets; every broadcast is compared whole with
what was sent). `idle_10k_deflate` is idle memory per connection beside
`idle_10k` (the on/off ratio is printed; the target is at most 1.5);
`broadcast_1k_json_deflate` and `broadcast_10k_json_deflate` broadcast a
3,000-byte argument of JSON-like records (`--json-pad`, about 6.5:1 with
deflate) beside the same payload uncompressed (`broadcast_*_json`).

The cluster figures (ours and node only) are a cluster of two, one per
engine: `cluster_broadcast` (Redis classic pub/sub: ours on the
socketio_redis adapter, Node on @socket.io/redis-adapter 8.3
createAdapter), `cluster_sharded` (sharded pub/sub, Redis 7: ours
sharded, Node createShardedAdapter, both dynamic subscriptions),
`cluster_streams` (Redis Streams: ours streams, Node
@socket.io/redis-streams-adapter 0.3) and `cluster_postgres` (ours
socketio_postgres, Node @socket.io/postgres-adapter 0.5 on pg). The Redis
ones start a throwaway `redis-server` on a free 127.0.0.1 port (no
persistence); the PostgreSQL one uses the server on 127.0.0.1:5432,
database `test` (`--postgres-url`), with a channel prefix and an
attachments table of its own (dropped after). Each waits until Redis or
PostgreSQL shows both servers subscribed (streams: also both XREADs
blocked; PostgreSQL: both LISTENs in pg_stat_activity, through `psql`),
and runs `loadgen cluster-broadcast`: the clients alternate between the
two servers, the sender is on the first, so half of every broadcast's
deliveries cross the broker. Both servers and Redis share the server core
(core 0): the server side gets the same one core as in every other
figure, and the load generator keeps core 1 to itself. Server CPU is the
sum over both servers; Redis's own CPU (`redis_cpu_ms` in
target/bench-results.json) is kept apart. PostgreSQL is not pinned (its backends are
not ours to move), and its CPU is not counted.
"""

import argparse
import json
import os
import platform
import re
import shlex
import resource
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOADGEN = os.path.join(ROOT, "target", "release", "loadgen")
OURS = os.path.join(ROOT, "target", "release", "bench-server")
BARE = os.path.join(ROOT, "target", "release", "bare-ws")
NODE_SERVER = os.path.join(ROOT, "bench", "node", "server.js")
TICKS = os.sysconf("SC_CLK_TCK")
NOTES_MARK = "<!-- notes: kept by run.py --write -->"
SERVER_CORE, LOADGEN_CORE = "0", "1"


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ms(pid):
    """(user, kernel, total) CPU time of `pid` so far, in milliseconds:
    user and kernel in the 10 ms ticks of /proc/<pid>/stat, total to the
    nanosecond from the scheduler (/proc/<pid>/task/*/schedstat, summed
    over the threads alive now)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total_ns = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total_ns += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    # utime and stime are fields 14 and 15 of the whole line.
    user, kernel = int(fields[11]) * 1000.0 / TICKS, int(fields[12]) * 1000.0 / TICKS
    return user, kernel, (total_ns / 1e6 if total_ns else user + kernel)


def cpu_between(a, b):
    """(user, kernel) CPU time from reading `a` to reading `b` of cpu_ms:
    their sum is the scheduler's exact total (a 10 ms tick is 3 % of a
    350 ms phase), split in the ticks' proportion."""
    user, kernel, total = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    if user + kernel <= 0:
        return total, 0.0
    return total * user / (user + kernel), total * kernel / (user + kernel)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# Server commands by name; --peer adds to them.
COMMANDS = {"ours": [OURS], "node": ["node", NODE_SERVER], "bare": [BARE]}
LABELS = {"ours": "ours", "node": "Node socket.io", "bare": "bare tokio-tungstenite"}
# Servers that speak WebSocket only: the polling figures are not theirs.
WS_ONLY = {"bare"}


def stop_process(proc):
    """Terminates `proc`, killing it if it has not exited after 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Server:
    def __init__(self, kind, env=None):
        self.kind = kind
        self.port = free_port()
        env = dict(os.environ, PORT=str(self.port), **(env or {}))
        cmd = COMMANDS[kind]
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE] + cmd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=raise_nofile,
        )
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{kind} server did not start")
        time.sleep(0.3)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        stop_process(self.proc)


def loadgen(server, args, timeout=600, watch=()):
    """Runs one scenario with --sync; returns (result, server_cpu_ms, memory,
    watched_cpu_ms) where memory holds the server's VmRSS in KiB before the
    load generator started (`base`), at its READY mark (`ready`) and at
    PHASE_END (`end`), and watched_cpu_ms the (user, kernel) CPU time over
    the same phase of each pid in `watch`."""
    pid = server.proc.pid  # taskset execs the server in place: same pid
    mem = {"base": rss_kib(pid)}
    cmd = ["taskset", "-c", LOADGEN_CORE, LOADGEN] + args + ["--url", server.url, "--sync"]
    p = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=raise_nofile,
    )
    cpu0 = cpu1 = None
    w0 = w1 = None
    deadline = time.time() + timeout
    for line in p.stderr:
        if time.time() > deadline:
            break
        line = line.strip()
        if line.startswith("READY"):
            time.sleep(1.0)  # let the last connections settle
            mem["ready"] = rss_kib(pid)
            cpu0 = cpu_ms(pid)
            w0 = [cpu_ms(w) for w in watch]
            p.stdin.write("go\n")
            p.stdin.flush()
        elif line.startswith("PHASE_END"):
            cpu1 = cpu_ms(pid)
            w1 = [cpu_ms(w) for w in watch]
            mem["end"] = rss_kib(pid)
    out, _ = p.communicate(timeout=60)
    if p.returncode != 0 or cpu0 is None or cpu1 is None:
        raise RuntimeError(f"loadgen {args} failed (rc {p.returncode}): {out[-500:]}")
    result = json.loads(out.strip().splitlines()[-1])
    watched = [cpu_between(a, b) for a, b in zip(w0, w1)]
    return result, cpu_between(cpu0, cpu1), mem, watched


class Redis:
    """A throwaway redis-server on a free 127.0.0.1 port, no persistence,
    pinned to the server core."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if self.command("PING") == "+PONG":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def command(self, *args):
        """Sends one command; returns the reply's last line (`+PONG`, `:2`)."""
        req = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as c:
            c.sendall(req.encode())
            buf = b""
            while not re.search(rb"(^|\n)[+:\-][^\r]*\r\n$", buf):
                chunk = c.recv(4096)
                if not chunk:
                    break
                buf += chunk
        return buf.decode(errors="replace").rstrip("\r\n").rsplit("\r\n", 1)[-1]

    def wait_subscribers(self, n, engine="pubsub", timeout=10):
        """Waits until `n` servers hold `engine`'s subscriptions for the main
        namespace: classic, its request channel (both adapters subscribe to
        it after their broadcast pattern); sharded, the namespace's shard
        channel; streams, the namespace's channel and a blocked XREAD each
        (then 200 ms for the readers' first read from `$`)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if engine == "pubsub":
                ok = self.command("PUBSUB", "NUMSUB", "socket.io-request#/#") == f":{n}"
            elif engine == "sharded":
                ok = self.command("PUBSUB", "SHARDNUMSUB", "socket.io#/#") == f":{n}"
            else:
                ok = self.command("PUBSUB", "NUMSUB", "socket.io#/#") == f":{n}" and self.readers() >= n
            if ok:
                if engine == "streams":
                    time.sleep(0.2)
                return
            time.sleep(0.05)
        raise RuntimeError(f"fewer than {n} servers subscribed in Redis ({engine})")

    def readers(self):
        """Connections blocked in XREAD now (CLIENT LIST through redis-cli)."""
        out = subprocess.run(["redis-cli", "-p", str(self.port), "CLIENT", "LIST"],
                             capture_output=True, text=True, timeout=5).stdout
        return sum(1 for line in out.splitlines() if " cmd=xread" in line)

    def stop(self):
        stop_process(self.proc)


class Postgres:
    """The PostgreSQL at `url` for one cluster figure: a channel prefix and
    an attachments table no other run uses, dropped by `stop`."""

    def __init__(self, url):
        self.url = url
        tag = f"{os.getpid()}_{int(time.time() * 1000) % 10**9}"
        self.prefix, self.table = f"bench_{tag}", f"bench_att_{tag}"
        self.sql("SELECT 1")

    def sql(self, query):
        r = subprocess.run(["psql", self.url, "-XAtqc", query], capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError(f"psql {self.url}: {r.stderr.strip()[:200]}")
        return r.stdout.strip()

    @property
    def env(self):
        return {"POSTGRES_URL": self.url, "PG_PREFIX": self.prefix, "PG_TABLE": self.table}

    def wait_subscribers(self, n, timeout=10):
        """Waits until `n` connections' last statement is the LISTEN on the
        main namespace's channel (the adapters' listening connections run
        nothing else)."""
        like = f"LISTEN \"{self.prefix}#/\"%"
        q = f"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '{like}'"
        deadline = time.time() + timeout
        while time.time() < deadline:
            if int(self.sql(q) or 0) >= n:
                time.sleep(0.2)
                return
            time.sleep(0.05)
        raise RuntimeError(f"fewer than {n} servers LISTENing in PostgreSQL")

    def stop(self):
        try:
            self.sql(f"DROP TABLE IF EXISTS {self.table}")
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"run.py: could not drop {self.table}: {e}", file=sys.stderr)


def scenarios(quick):
    s = 0.1 if quick else 1.0
    n = lambda x: max(10, int(x * s))
    return [
        ("ws_connect", ["connect", "--n", str(n(5000)), "--transport", "websocket"]),
        ("polling_connect", ["connect", "--n", str(n(2000)), "--transport", "polling"]),
        ("ws_echo", ["echo", "--clients", str(n(1000)), "--rate", str(n(10000)), "--secs", "5" if quick else "10"]),
        ("polling_echo", ["echo", "--clients", str(n(200)), "--rate", str(n(2000)), "--secs", "5" if quick else "10", "--transport", "polling"]),
        # Enough rounds for the server's CPU time (10 ms ticks) to resolve.
        ("broadcast_1k", ["broadcast", "--clients", str(n(1000)), "--rounds", "50"]),
        ("broadcast_5k", ["broadcast", "--clients", str(n(5000)), "--rounds", "20"]),
        ("broadcast_10k", ["broadcast", "--clients", str(n(10000)), "--rounds", "20"]),
        ("broadcast_19k", ["broadcast", "--clients", str(n(19000)), "--rounds", "10"]),
        ("broadcast_10k_room_half", ["broadcast", "--clients", str(n(10000)), "--rounds", "20", "--room-half"]),
        # Ten emits written back to back per round: what a busy room sees.
        ("broadcast_10k_burst", ["broadcast", "--clients", str(n(10000)), "--rounds", "10", "--burst", "10"]),
        ("idle_10k", ["hold", "--n", str(n(10000))]),
        ("idle_max", ["hold", "--n", str(n(19000))]),
        # permessage-deflate: the servers get DEFLATE=1 (SERVER_ENV).
        ("idle_10k_deflate", ["hold", "--n", str(n(10000)), "--deflate"]),
        ("broadcast_1k_json", ["broadcast", "--clients", str(n(1000)), "--rounds", "50"] + JSON_PAYLOAD),
        ("broadcast_1k_json_deflate",
         ["broadcast", "--clients", str(n(1000)), "--rounds", "50", "--deflate"] + JSON_PAYLOAD),
        ("broadcast_10k_json", ["broadcast", "--clients", str(n(10000)), "--rounds", "20"] + JSON_PAYLOAD),
        ("broadcast_10k_json_deflate",
         ["broadcast", "--clients", str(n(10000)), "--rounds", "20", "--deflate"] + JSON_PAYLOAD),
    ] + [
        # Two servers on one broker, 5k clients each, the sender on the first.
        (name, ["cluster-broadcast", "--clients", str(n(10000)), "--rounds", "20"]) for name in CLUSTER_ENGINES
    ]


# A broadcast argument above the deflate threshold: 3,000 bytes of
# JSON-like records.
JSON_PAYLOAD = ["--payload", "3000", "--json-pad"]

# Cluster figure -> (engine, label): the engine is bench-server's and
# server.js's ADAPTER (Redis) or "postgres".
CLUSTER_ENGINES = {
    "cluster_broadcast": ("pubsub", "Redis pub/sub"),
    "cluster_sharded": ("sharded", "Redis sharded pub/sub"),
    "cluster_streams": ("streams", "Redis Streams"),
    "cluster_postgres": ("postgres", "PostgreSQL"),
}


def server_env(name):
    """The environment a figure's servers get on top of PORT."""
    return {"DEFLATE": "1"} if name.endswith("_deflate") else {}


# Servers that run as a cluster of two on a broker (REDIS_URL + ADAPTER,
# POSTGRES_URL): the cluster figures are theirs only; and those that
# negotiate permessage-deflate (DEFLATE=1): the deflate figures.
CLUSTER = {"ours", "node"}
DEFLATE = {"ours", "node"}
# Settings from the command line (--postgres-url).
CONFIG = {"postgres_url": "postgres://postgres@127.0.0.1:5432/test"}


def measure(kind, name, args):
    if name.startswith("cluster"):
        return measure_cluster(kind, CLUSTER_ENGINES[name][0], args)
    srv = Server(kind, server_env(name))
    try:
        r, (user, kernel), mem, _ = loadgen(srv, args)
    finally:
        srv.stop()
    cpu = user + kernel
    fig = {"loadgen_cpu_ms": r.get("loadgen_cpu_ms"), "errors": r.get("errors", 0), "server_cpu_ms": cpu}
    units = None
    if name.endswith("connect"):
        fig["per_sec"] = r["per_sec"]
        units = max(1, r["connections"])
        fig["cpu_us_per_conn"] = cpu * 1000 / units
    elif name.endswith("echo"):
        fig.update({k: r[k] for k in ("achieved_rate", "p50_us", "p99_us", "p999_us")})
        units = max(1, r["acked"])
        fig["cpu_us_per_msg"] = cpu * 1000 / units
    elif name.startswith("broadcast"):
        fig["deliveries_per_sec"] = r["deliveries_per_sec"]
        fig["full_delivery_ms"] = r["median_full_delivery_ms"]
        units = max(1, r["deliveries"])
        fig["cpu_us_per_delivery"] = cpu * 1000 / units
    if units:
        # The split: user space is the server's own work, the kernel part
        # mostly the same syscalls for every server (see RESULTS.md).
        fig["user_us_per_unit"] = user * 1000 / units
        fig["kernel_us_per_unit"] = kernel * 1000 / units
    if name.startswith("idle"):
        fig["connections"] = r["connections"]
        fig["kib_per_conn"] = (mem["ready"] - mem["base"]) / max(1, r["connections"])
    if "deflate" in r:
        # What came compressed: none for the idle figure, every delivery
        # for the broadcasts above the threshold.
        d = r["deflate"]
        fig["compressed_messages"] = d["messages"]
        fig["compression_ratio"] = d["inflated_bytes"] / d["wire_bytes"] if d["wire_bytes"] else None
        if name.startswith("broadcast") and d["messages"] < r["deliveries"]:
            raise RuntimeError(f"only {d['messages']} of {r['deliveries']} deliveries came compressed")
    return fig


def measure_cluster(kind, engine, args):
    """A cluster figure: a fresh Redis (or this run's PostgreSQL prefix and
    table) and two fresh `kind` servers on it with `engine`; the load
    generator's --url is the first (where the sender is), --url-b the
    second. CPU per delivery sums both servers."""
    broker = Postgres(CONFIG["postgres_url"]) if engine == "postgres" else Redis()
    servers = []
    try:
        env = broker.env if engine == "postgres" else {"REDIS_URL": broker.url, "ADAPTER": engine}
        for _ in range(2):
            servers.append(Server(kind, env))
        if engine == "postgres":
            broker.wait_subscribers(2)
        else:
            broker.wait_subscribers(2, engine)
        a, b = servers
        watch = [b.proc.pid] + ([broker.proc.pid] if engine != "postgres" else [])
        r, (ua, ka), _, watched = loadgen(a, args + ["--url-b", b.url], watch=watch)
        (ub, kb), (ur, kr) = watched[0], (watched[1] if len(watched) > 1 else (0, 0))
    finally:
        for srv in servers:
            srv.stop()
        broker.stop()
    user, kernel = ua + ub, ka + kb
    cpu = user + kernel
    units = max(1, r["deliveries"])
    return {
        "loadgen_cpu_ms": r.get("loadgen_cpu_ms"), "errors": r.get("errors", 0), "server_cpu_ms": cpu,
        "server_cpu_ms_a": ua + ka, "server_cpu_ms_b": ub + kb, "redis_cpu_ms": None if engine == "postgres" else ur + kr,
        "deliveries_per_sec": r["deliveries_per_sec"], "full_delivery_ms": r["median_full_delivery_ms"],
        "cross_p50_ms": r["cross_p50_us"] / 1000, "cross_p99_ms": r["cross_p99_us"] / 1000,
        "local_p50_ms": r["local_p50_us"] / 1000, "local_p99_ms": r["local_p99_us"] / 1000,
        "clients_a": r["clients_a"], "clients_b": r["clients_b"], "deliveries_b": r["deliveries_b"],
        "cpu_us_per_delivery": cpu * 1000 / units,
        "user_us_per_unit": user * 1000 / units, "kernel_us_per_unit": kernel * 1000 / units,
    }


# (row label, scenario, key, unit, lower is better)
ROWS = [
    ("WS connect: connections/s", "ws_connect", "per_sec", "", False),
    ("WS connect: server CPU per connection", "ws_connect", "cpu_us_per_conn", "µs", True),
    ("polling connect: server CPU per connection", "polling_connect", "cpu_us_per_conn", "µs", True),
    ("WS echo+ack: achieved rate", "ws_echo", "achieved_rate", "/s", False),
    ("WS echo+ack: p50", "ws_echo", "p50_us", "µs", True),
    ("WS echo+ack: p99", "ws_echo", "p99_us", "µs", True),
    ("WS echo+ack: p99.9", "ws_echo", "p999_us", "µs", True),
    ("WS echo+ack: server CPU per message", "ws_echo", "cpu_us_per_msg", "µs", True),
    ("polling echo+ack: p99", "polling_echo", "p99_us", "µs", True),
    ("polling echo+ack: server CPU per message", "polling_echo", "cpu_us_per_msg", "µs", True),
    ("broadcast to 1k: deliveries/s", "broadcast_1k", "deliveries_per_sec", "", False),
    ("broadcast to 1k: server CPU per delivery", "broadcast_1k", "cpu_us_per_delivery", "µs", True),
    ("broadcast to 5k: server CPU per delivery", "broadcast_5k", "cpu_us_per_delivery", "µs", True),
    ("broadcast to 10k: deliveries/s", "broadcast_10k", "deliveries_per_sec", "", False),
    ("broadcast to 10k: time to full delivery", "broadcast_10k", "full_delivery_ms", "ms", True),
    ("broadcast to 10k: server CPU per delivery", "broadcast_10k", "cpu_us_per_delivery", "µs", True),
    ("broadcast to 19k: time to full delivery", "broadcast_19k", "full_delivery_ms", "ms", True),
    ("broadcast to 19k: server CPU per delivery", "broadcast_19k", "cpu_us_per_delivery", "µs", True),
    ("room of 5k (of 10k): server CPU per delivery", "broadcast_10k_room_half", "cpu_us_per_delivery", "µs", True),
    ("bursts of 10 to 10k: deliveries/s", "broadcast_10k_burst", "deliveries_per_sec", "", False),
    ("bursts of 10 to 10k: server CPU per delivery", "broadcast_10k_burst", "cpu_us_per_delivery", "µs", True),
    ("idle WS connection (10k): resident memory", "idle_10k", "kib_per_conn", "KiB", True),
    ("idle WS connection (max): resident memory", "idle_max", "kib_per_conn", "KiB", True),
    ("idle WS connection (10k), deflate on: resident memory", "idle_10k_deflate", "kib_per_conn", "KiB", True),
    ("3 KB JSON broadcast to 1k: server CPU per delivery", "broadcast_1k_json", "cpu_us_per_delivery", "µs", True),
    ("3 KB JSON broadcast to 1k, deflate on: server CPU per delivery", "broadcast_1k_json_deflate",
     "cpu_us_per_delivery", "µs", True),
    ("3 KB JSON broadcast to 10k: server CPU per delivery", "broadcast_10k_json", "cpu_us_per_delivery", "µs",
     True),
    ("3 KB JSON broadcast to 10k, deflate on: server CPU per delivery", "broadcast_10k_json_deflate",
     "cpu_us_per_delivery", "µs", True),
    ("3 KB JSON broadcast to 10k, deflate on: time to full delivery", "broadcast_10k_json_deflate",
     "full_delivery_ms", "ms", True),
] + [
    row
    for scen, (_, broker) in CLUSTER_ENGINES.items()
    for row in [
        (f"cluster of 2 on {broker}, 10k: deliveries/s", scen, "deliveries_per_sec", "", False),
        (f"cluster of 2 on {broker}, 10k: time to full delivery", scen, "full_delivery_ms", "ms", True),
        (f"cluster of 2 on {broker}, 10k: cross-node delivery p50", scen, "cross_p50_ms", "ms", True),
        (f"cluster of 2 on {broker}, 10k: cross-node delivery p99", scen, "cross_p99_ms", "ms", True),
        (f"cluster of 2 on {broker}, 10k: same-node delivery p50", scen, "local_p50_ms", "ms", True),
        (f"cluster of 2 on {broker}, 10k: server CPU per delivery (both)", scen, "cpu_us_per_delivery", "µs",
         True),
    ]
]


def unit_of(scenario):
    """What a scenario's server CPU is divided by (as in `measure`); None
    for the idle ones."""
    if scenario.endswith("connect"):
        return "connection"
    if scenario.endswith("echo"):
        return "message"
    if scenario.startswith("broadcast") or scenario.startswith("cluster"):
        return "delivery"
    return None


def fmt(v, unit):
    if v is None:
        return "—"
    s = f"{v:,.0f}" if v >= 100 else f"{v:,.2f}" if v < 10 else f"{v:,.1f}"
    return f"{s} {unit}".strip()


def ratio_text(o, p, lower):
    """How ours compares with peer figure `p`: `3.1× less`, `1.2× worse`."""
    if not (o and p):
        return "—"
    ratio = p / o if lower else o / p
    return f"{ratio:,.1f}× {'less' if lower else 'more'}" if ratio >= 1 else f"{1 / ratio:,.1f}× worse"


def table(results):
    peers = [k for k in results if k != "ours"]
    head = ["figure", "ours"] + [LABELS[k] for k in peers] + [f"{LABELS[k].split()[0]} / ours" for k in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, scen, key, unit, lower in ROWS:
        med = {}
        for kind in results:
            vals = [r[key] for r in results[kind].get(scen, []) if r.get(key) is not None]
            med[kind] = statistics.median(vals) if vals else None
        if all(v is None for v in med.values()):
            continue  # a figure this run left out (--only)
        o = med["ours"]
        cells = [label, fmt(o, unit)] + [fmt(med[k], unit) for k in peers]
        cells += [ratio_text(o, med[k], lower) for k in peers]
        lines.append("| " + " | ".join(cells) + " |")
    split = []
    for scen, _ in scenarios(False):
        unit = unit_of(scen)
        if unit is None:
            continue
        cells = []
        for kind in results:
            runs = [r for r in results[kind].get(scen, []) if r.get("user_us_per_unit") is not None]
            if not runs:
                cells.append("—")
                continue
            u = statistics.median(r["user_us_per_unit"] for r in runs)
            k = statistics.median(r["kernel_us_per_unit"] for r in runs)
            cells.append(f"{fmt(u, '')} + {fmt(k, 'µs')}")
        if any(c != "—" for c in cells):
            split.append(f"| {scen} ({unit}) | " + " | ".join(cells) + " |")
    if split:
        lines += ["", "Server CPU per unit split into user space (the server's own work) and kernel, medians:", "",
                  "| scenario (unit) | " + " | ".join(LABELS[k] for k in results) + " |",
                  "|" + "---|" * (1 + len(results))] + split
    extra = []
    for kind in results:
        for scen, runs in results[kind].items():
            errs = sum(r.get("errors", 0) for r in runs)
            if errs:
                extra.append(f"- {kind} {scen}: {errs} load-generator errors over {len(runs)} runs")
    lg = []
    for scen, runs in results["ours"].items():
        cpu = [r.get("loadgen_cpu_ms") for r in runs if r.get("loadgen_cpu_ms") is not None]
        srv = [r["server_cpu_ms"] for r in runs]
        if cpu and srv:
            lg.append(f"{scen} {statistics.median(cpu):,.0f} ms (server {statistics.median(srv):,.0f} ms)")
    return "\n".join(lines), extra, lg


def median_of(results, kind, scen, key):
    """The median of `key` over `kind`'s runs of `scen`, or None."""
    vals = [r[key] for r in results.get(kind, {}).get(scen, []) if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def over(a, b):
    """`a / b` as `1.23×`, or — when either is missing."""
    return f"{a / b:,.2f}×" if a and b else "—"


# Broadcast to everyone by receivers: (label, scenario).
SIZES = [("1k", "broadcast_1k"), ("5k", "broadcast_5k"), ("10k", "broadcast_10k"), ("19k", "broadcast_19k")]


def floor_table(results):
    """Server CPU per broadcast delivery by receivers, over the floor's: does
    the gap grow with the receivers?"""
    if "bare" not in results:
        return []
    others = [k for k in results if k != "bare"]
    rows = []
    for size, scen in SIZES:
        floor = median_of(results, "bare", scen, "cpu_us_per_delivery")
        vals = {k: median_of(results, k, scen, "cpu_us_per_delivery") for k in others}
        if floor is None and all(v is None for v in vals.values()):
            continue
        cells = [size, fmt(floor, "µs")] + [fmt(vals[k], "µs") for k in others] + [over(vals[k], floor) for k in others]
        rows.append("| " + " | ".join(cells) + " |")
    if not rows:
        return []
    head = ["receivers", "floor (bare)"] + [LABELS[k] for k in others] + [f"{LABELS[k].split()[0]} / floor"
                                                                          for k in others]
    return ["", "Broadcast to everyone, server CPU per delivery by receivers, against the floor (medians; "
            "the ratio should not grow with the receivers):", "",
            "| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + rows


def deflate_table(results):
    """permessage-deflate on against off, per server: idle memory per
    connection and CPU per delivery of the 3 KB JSON broadcast."""
    pairs = [("idle memory per WS connection (10k)", "idle_10k", "idle_10k_deflate", "kib_per_conn", "KiB")]
    for size in ("1k", "10k"):
        pairs.append((f"CPU per delivery, 3 KB JSON broadcast to {size}", f"broadcast_{size}_json",
                      f"broadcast_{size}_json_deflate", "cpu_us_per_delivery", "µs"))
    kinds = [k for k in results if any(median_of(results, k, p[2], p[3]) is not None for p in pairs)]
    if not kinds:
        return []
    rows = []
    for label, off, on, key, unit in pairs:
        cells = [label]
        for k in kinds:
            a, b = median_of(results, k, off, key), median_of(results, k, on, key)
            cells += [fmt(a, unit), fmt(b, unit), over(b, a)]
        rows.append("| " + " | ".join(cells) + " |")
    ratio = [median_of(results, k, "broadcast_10k_json_deflate", "compression_ratio") for k in kinds]
    head = ["figure"] + [f"{LABELS[k]} {c}" for k in kinds for c in ("off", "on", "on / off")]
    note = "; ".join(f"{LABELS[k]} {r:,.1f}:1" for k, r in zip(kinds, ratio) if r)
    return ["", "permessage-deflate (threshold 1024, no context takeover) on against off, medians; idle memory "
            "on / off should stay within 1.5×" + (f"; the 3 KB broadcast compressed {note}" if note else "") + ":",
            "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + rows


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{model}, {os.cpu_count()} cores, Linux {platform.release()}, {rustc}, Node {node}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    ap.add_argument("--only", default="", help="comma-separated scenario names")
    ap.add_argument("--servers", default="ours,node,bare")
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=CMD",
                    help="one more server: its command (PORT in the environment), measured like the others")
    ap.add_argument("--write", action="store_true", help="write bench/RESULTS.md")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--postgres-url", default=CONFIG["postgres_url"],
                    help=f"the PostgreSQL of the cluster_postgres figure (default {CONFIG['postgres_url']})")
    a = ap.parse_args()
    CONFIG["postgres_url"] = a.postgres_url
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "bench"], cwd=ROOT, check=True)
    # socket.io itself is installed even with --no-build when missing (a
    # fresh checkout): otherwise every Node figure fails to start.
    if not a.no_build or not os.path.isdir(os.path.join(ROOT, "bench", "node", "node_modules")):
        subprocess.run(["npm", "ci", "--prefix", "bench/node", "--no-audit", "--no-fund"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    only = set(filter(None, a.only.split(",")))
    kinds = a.servers.split(",")
    for peer in a.peer:
        name, _, cmd = peer.partition("=")
        if not name or not cmd or name in COMMANDS:
            ap.error(f"--peer {peer!r}: want NAME=COMMAND with a new NAME")
        COMMANDS[name], LABELS[name] = shlex.split(cmd), name
        kinds.append(name)
    results = {k: {} for k in dict.fromkeys(["ours"] + kinds)}
    for run in range(a.runs):
        for name, args in scenarios(a.quick):
            if only and name not in only:
                continue
            for kind in kinds:
                if kind in WS_ONLY and "polling" in name:
                    continue
                if kind not in CLUSTER and name.startswith("cluster"):
                    continue
                if kind not in DEFLATE and name.endswith("_deflate"):
                    continue
                t = time.time()
                try:
                    fig = measure(kind, name, args)
                except Exception as e:  # one failed figure must not lose the rest
                    print(f"run {run + 1} {kind} {name}: FAILED {e}", file=sys.stderr)
                    continue
                results[kind].setdefault(name, []).append(fig)
                print(f"run {run + 1} {kind:4} {name:24} {json.dumps(fig)} ({time.time() - t:.0f} s)", file=sys.stderr)
    tab, extra, lg = table(results)
    tab = "\n".join([tab] + floor_table(results) + deflate_table(results))
    cmd = "python3 bench/run.py " + " ".join(sys.argv[1:])
    cluster = any(s in results[k] for k in results for s in CLUSTER_ENGINES)
    pin_note = " (the cluster figures: both servers and Redis; PostgreSQL is not pinned)" if cluster else ""
    text = (
        f"{tab}\n\nMedian of {a.runs} run(s){' (quick sizes)' if a.quick else ''}; server pinned to core "
        f"{SERVER_CORE}{pin_note}, load generator to core {LOADGEN_CORE}. Machine: {machine()}. "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}. Reproduce: `{cmd.strip()}`.\n"
    )
    others = [k for k in results if k not in ("ours", "node", "bare")]
    if others:
        text += "\nOther servers: " + "; ".join(f"{k}: `{' '.join(COMMANDS[k])}`" for k in others) + ".\n"
    if lg:
        text += "\nLoad generator CPU over the measured phase (ours): " + "; ".join(lg) + ".\n"
    if extra:
        text += "\n" + "\n".join(extra) + "\n"
    print(text)
    with open(os.path.join(ROOT, "target", "bench-results.json"), "w") as f:
        json.dump(results, f, indent=1)
    if a.write:
        path = os.path.join(ROOT, "bench", "RESULTS.md")
        # Hand-written analysis below the marker survives a rewrite.
        notes = ""
        if os.path.exists(path):
            with open(path) as f:
                old = f.read()
            if NOTES_MARK in old:
                notes = "\n" + NOTES_MARK + old.split(NOTES_MARK, 1)[1]
        with open(path, "w") as f:
            f.write("# Benchmark results\n\nOurs (`bench-server`) against Node's socket.io 4.8.4 "
                    "(`bench/node/server.js`), same handlers, same load (`loadgen`), in one run; "
                    "`bare-ws`, a plain tokio-tungstenite server faking just enough of the protocol, "
                    "is the floor for the WebSocket figures. "
                    "Costs are server CPU time from /proc; ratios say how much less (or more) "
                    "we spend or how much more we deliver.\n\n" + text + notes)
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
