#!/usr/bin/env python3
"""Runs the benchmark: our bench-server and Node's socket.io under the same
load, side by side, and prints one table (median of the runs).

    python3 bench/run.py                 # full run, 3 repetitions (~15 min)
    python3 bench/run.py --runs 1 --quick   # small sizes, a minute or two
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
Server CPU time comes from /proc/<pid>/stat between the load generator's
READY and PHASE_END marks; memory from /proc/<pid>/status (VmRSS).
Every figure starts a fresh server. Targets 127.0.0.1 only.

The `cluster_broadcast` figure (ours and node only) is a cluster of two:
it starts a throwaway `redis-server` on a free 127.0.0.1 port (no
persistence) and two servers of the same kind with `REDIS_URL` (ours on
the socketio_redis adapter, Node on @socket.io/redis-adapter 8.3, both
classic pub/sub), waits until Redis shows both subscribed, and runs
`loadgen cluster-broadcast`: the clients alternate between the two
servers, the sender is on the first, so half of every broadcast's
deliveries cross Redis. Both servers and Redis share the server core
(core 0): the server side gets the same one core as in every other
figure, and the load generator keeps core 1 to itself. Server CPU is the
sum over both servers; Redis's own CPU (`redis_cpu_ms` in
target/bench-results.json) is kept apart, and is too small to resolve in
10 ms ticks at these sizes.
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
    """(user, kernel) CPU time of `pid` so far, in milliseconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the whole line.
    return int(fields[11]) * 1000.0 / TICKS, int(fields[12]) * 1000.0 / TICKS


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
    watched = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(w0, w1)]
    return result, (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]), mem, watched


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

    def wait_subscribers(self, n, timeout=10):
        """Waits until `n` servers listen on the main namespace's request
        channel: both adapters subscribe to it after their broadcast pattern."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.command("PUBSUB", "NUMSUB", "socket.io-request#/#") == f":{n}":
                return
            time.sleep(0.05)
        raise RuntimeError(f"fewer than {n} servers subscribed in Redis")

    def stop(self):
        stop_process(self.proc)


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
        ("broadcast_10k", ["broadcast", "--clients", str(n(10000)), "--rounds", "20"]),
        ("broadcast_10k_room_half", ["broadcast", "--clients", str(n(10000)), "--rounds", "20", "--room-half"]),
        # Ten emits written back to back per round: what a busy room sees.
        ("broadcast_10k_burst", ["broadcast", "--clients", str(n(10000)), "--rounds", "10", "--burst", "10"]),
        ("idle_10k", ["hold", "--n", str(n(10000))]),
        ("idle_max", ["hold", "--n", str(n(19000))]),
        # Two servers on one Redis, 5k clients each, the sender on the first.
        ("cluster_broadcast", ["cluster-broadcast", "--clients", str(n(10000)), "--rounds", "20"]),
    ]


# Servers that run as a cluster of two on Redis (REDIS_URL): the cluster
# figure is theirs only.
CLUSTER = {"ours", "node"}


def measure(kind, name, args):
    if name.startswith("cluster"):
        return measure_cluster(kind, args)
    srv = Server(kind)
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
    return fig


def measure_cluster(kind, args):
    """`cluster_broadcast`: a fresh Redis and two fresh `kind` servers on
    it; the load generator's --url is the first (where the sender is),
    --url-b the second. CPU per delivery sums both servers."""
    redis = Redis()
    servers = []
    try:
        for _ in range(2):
            servers.append(Server(kind, {"REDIS_URL": redis.url}))
        redis.wait_subscribers(2)
        a, b = servers
        r, (ua, ka), _, [(ub, kb), (ur, kr)] = loadgen(
            a, args + ["--url-b", b.url], watch=[b.proc.pid, redis.proc.pid])
    finally:
        for srv in servers:
            srv.stop()
        redis.stop()
    user, kernel = ua + ub, ka + kb
    cpu = user + kernel
    units = max(1, r["deliveries"])
    return {
        "loadgen_cpu_ms": r.get("loadgen_cpu_ms"), "errors": r.get("errors", 0), "server_cpu_ms": cpu,
        "server_cpu_ms_a": ua + ka, "server_cpu_ms_b": ub + kb, "redis_cpu_ms": ur + kr,
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
    ("broadcast to 10k: deliveries/s", "broadcast_10k", "deliveries_per_sec", "", False),
    ("broadcast to 10k: time to full delivery", "broadcast_10k", "full_delivery_ms", "ms", True),
    ("broadcast to 10k: server CPU per delivery", "broadcast_10k", "cpu_us_per_delivery", "µs", True),
    ("room of 5k (of 10k): server CPU per delivery", "broadcast_10k_room_half", "cpu_us_per_delivery", "µs", True),
    ("bursts of 10 to 10k: deliveries/s", "broadcast_10k_burst", "deliveries_per_sec", "", False),
    ("bursts of 10 to 10k: server CPU per delivery", "broadcast_10k_burst", "cpu_us_per_delivery", "µs", True),
    ("idle WS connection (10k): resident memory", "idle_10k", "kib_per_conn", "KiB", True),
    ("idle WS connection (max): resident memory", "idle_max", "kib_per_conn", "KiB", True),
    ("cluster of 2 on Redis, 10k: deliveries/s", "cluster_broadcast", "deliveries_per_sec", "", False),
    ("cluster of 2 on Redis, 10k: time to full delivery", "cluster_broadcast", "full_delivery_ms", "ms", True),
    ("cluster of 2 on Redis, 10k: cross-node delivery p50", "cluster_broadcast", "cross_p50_ms", "ms", True),
    ("cluster of 2 on Redis, 10k: cross-node delivery p99", "cluster_broadcast", "cross_p99_ms", "ms", True),
    ("cluster of 2 on Redis, 10k: same-node delivery p50", "cluster_broadcast", "local_p50_ms", "ms", True),
    ("cluster of 2 on Redis, 10k: server CPU per delivery (both)", "cluster_broadcast", "cpu_us_per_delivery",
     "µs", True),
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
    a = ap.parse_args()
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
                t = time.time()
                try:
                    fig = measure(kind, name, args)
                except Exception as e:  # one failed figure must not lose the rest
                    print(f"run {run + 1} {kind} {name}: FAILED {e}", file=sys.stderr)
                    continue
                results[kind].setdefault(name, []).append(fig)
                print(f"run {run + 1} {kind:4} {name:24} {json.dumps(fig)} ({time.time() - t:.0f} s)", file=sys.stderr)
    tab, extra, lg = table(results)
    cmd = "python3 bench/run.py " + " ".join(sys.argv[1:])
    cluster = any("cluster_broadcast" in results[k] for k in results)
    pin_note = " (the cluster figure: both servers and Redis)" if cluster else ""
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
