"""Interop check: drive our Socket.IO v5 server with the real python-socketio client.

Usage:
    scripts/venv.sh conformance/interop/python  # once (from the repo root): creates .venv here
    .venv/bin/python sio_client.py <base-url> <transport>
        base-url   e.g. http://127.0.0.1:3000   (path /socket.io/, the client default)
        transport  polling | websocket

The server under test is `conformance sio-interop` (see conformance/src/interop.rs
for its handlers). Steps, in order:
    a. connect to "/" with auth {"token": "good"}: `welcome` {id == get_sid(), recovered: false}
    b. auth {"token": "bad"} is refused: connect_error {message: "unauthorized",
       data: {reason: "bad token"}} and ConnectionError from connect()
    c. `echo` with ("héllo", 7, {"a": [1, None]}) comes back unchanged
    d. binary `echo` with (b"\\x01\\x02\\x03", {"f": b"\\x04"}) comes back as bytes
    e. acks: client->server `ack` (text and binary args), server->client
       `question` {q: 42} answered {a: 43} -> `answer` {a: 43}
    e2. ack ids past 2^53 (2^53 + 1, 2^64 - 2, 2^64 - 1) come back exactly
       (python-socketio counts ids in an unbounded int; the script starts
       its counter there)
    f. namespaces "/" and "/custom": `welcome-custom` {id == get_sid("/custom")}
    then 1.5 s idle (several 500 ms ping/pong rounds; both clients must stay
    connected and still echo), then a clean client-side disconnect.
Prints "ok python <transport>" and exits 0 on success; on any failure or after
20 s prints `FAIL transport=<t> step="<step>": <detail>` to stderr and exits 1.
"""

import itertools
import os
import sys
import threading
import time

import socketio

OVERALL_TIMEOUT = 20.0
WAIT = 5.0

if len(sys.argv) != 3 or sys.argv[2] not in ("polling", "websocket"):
    print("usage: sio_client.py <base-url> <polling|websocket>", file=sys.stderr)
    sys.exit(2)
BASE_URL, TRANSPORT = sys.argv[1], sys.argv[2]

step = "setup"


def fail(detail):
    sys.stderr.write(f'FAIL transport={TRANSPORT} step="{step}": {detail}\n')
    sys.stderr.flush()
    # os._exit: client threads (engine.io read loops) must not keep us alive.
    os._exit(1)


_watchdog = threading.Timer(
    OVERALL_TIMEOUT, lambda: fail(f"overall timeout ({OVERALL_TIMEOUT:g} s)"))
_watchdog.daemon = True
_watchdog.start()


def same(a, b):
    """Deep equality that also compares types (so True != 1, 7 != 7.0, b"" != "")."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


class Inbox:
    """Events received per (namespace, name), oldest first; take() waits for one."""

    def __init__(self):
        self._cond = threading.Condition()
        self._items = {}

    def put(self, namespace, event, args):
        with self._cond:
            self._items.setdefault((namespace, event), []).append(tuple(args))
            self._cond.notify_all()

    def take(self, event, namespace="/", timeout=WAIT):
        key = (namespace, event)
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._items.get(key):
                left = deadline - time.monotonic()
                if left <= 0:
                    got = sorted(f"{ns}:{ev}" for (ns, ev), v in self._items.items() if v)
                    fail(f'no "{event}" on {namespace} within {timeout:g} s '
                         f"(pending: {got or 'nothing'})")
                self._cond.wait(left)
            return self._items[key].pop(0)

    def has(self, event, namespace="/"):
        with self._cond:
            return bool(self._items.get((namespace, event)))


def new_client(namespaces):
    """A client with no reconnection that records every event of `namespaces`."""
    sio = socketio.Client(reconnection=False)
    inbox = Inbox()
    for ns in namespaces:
        def on_any(event, *args, _ns=ns):
            inbox.put(_ns, event, args)

        def on_connect_error(*args, _ns=ns):
            inbox.put(_ns, "connect_error", args)

        def on_disconnect(*args, _ns=ns):
            inbox.put(_ns, "disconnect", args)

        sio.on("*", on_any, namespace=ns)
        sio.on("connect_error", on_connect_error, namespace=ns)
        sio.on("disconnect", on_disconnect, namespace=ns)
    return sio, inbox


def connect(sio, auth, namespaces):
    sio.connect(BASE_URL, auth=auth, transports=[TRANSPORT],
                namespaces=namespaces, wait_timeout=WAIT)


def expect(desc, got, want):
    if not same(got, want):
        fail(f"{desc}: got {got!r}, want {want!r}")


# --- a. connect + welcome ---------------------------------------------------
step = "connect"
sio, inbox = new_client(["/"])


@sio.on("question")
def on_question(data):
    # Server->client ack: the return value is the ack's argument.
    inbox.put("/", "question", (data,))
    return {"a": data["q"] + 1}


try:
    connect(sio, {"token": "good"}, ["/"])
except Exception as e:  # noqa: BLE001
    fail(f"connect raised {type(e).__name__}: {e}")
if sio.transport() != TRANSPORT:
    fail(f"connected over {sio.transport()!r}, want {TRANSPORT!r}")
sid = sio.get_sid()
if not isinstance(sid, str) or not sid:
    fail(f"get_sid() = {sid!r}")

step = "welcome"
(welcome,) = inbox.take("welcome")
if not isinstance(welcome, dict):
    fail(f"welcome payload is not an object: {welcome!r}")
expect("welcome.id", welcome.get("id"), sid)
expect("welcome.recovered", welcome.get("recovered"), False)

# --- b. middleware refusal --------------------------------------------------
step = "auth refused"
bad, bad_inbox = new_client(["/"])
try:
    connect(bad, {"token": "bad"}, ["/"])
except socketio.exceptions.ConnectionError as e:
    refused = str(e)
except Exception as e:  # noqa: BLE001
    fail(f"connect raised {type(e).__name__}: {e}, want socketio ConnectionError")
else:
    fail(f"connect with a bad token succeeded (sid {bad.get_sid()!r})")
err = bad_inbox.take("connect_error")
# python-socketio's ConnectionError text is generic ("One or more namespaces
# failed to connect: /"); the server's reason arrives through connect_error.
expect("connect_error args", err,
       ({"message": "unauthorized", "data": {"reason": "bad token"}},))
if "unauthorized" not in f"{refused} {err}":
    fail(f"neither ConnectionError ({refused!r}) nor connect_error ({err!r}) "
         "mentions 'unauthorized'")
if bad.connected:
    fail("refused client still reports connected")
bad.disconnect()

# --- c. events ----------------------------------------------------------------
step = "echo"
args = ("héllo", 7, {"a": [1, None]})
sio.emit("echo", args)
expect("echo args", inbox.take("echo"), args)

# --- d. binary ------------------------------------------------------------------
step = "binary echo"
args = (b"\x01\x02\x03", {"f": b"\x04"})
sio.emit("echo", args)
expect("binary echo args", inbox.take("echo"), args)

# --- e. acks --------------------------------------------------------------------
step = "ack"
try:
    got = sio.call("ack", ("x", 2), timeout=WAIT)
except socketio.exceptions.TimeoutError:
    fail(f"no ack within {WAIT:g} s")
expect("ack args", got, ("x", 2))  # several args: call() returns a tuple

step = "binary ack"
args = (b"\x05\x06", {"k": [b"\x07", "t"]})
try:
    got = sio.call("ack", args, timeout=WAIT)
except socketio.exceptions.TimeoutError:
    fail(f"no ack within {WAIT:g} s")
expect("binary ack args", got, args)

step = "large ack ids"
# python-socketio 5.18 keeps the next ack id of a namespace in
# callbacks[ns][0] (an itertools.count); a server that rounded an id through
# a float, or refused it, would leave call() waiting.
for first in (2**53 + 1, 2**64 - 2):
    sio.callbacks["/"][0] = itertools.count(first)
    for _ in range(2 if first == 2**64 - 2 else 1):
        try:
            got = sio.call("ack", ("big", 1), timeout=WAIT)
        except socketio.exceptions.TimeoutError:
            fail(f"no ack within {WAIT:g} s for an id from {first}")
        expect(f"ack args (id from {first})", got, ("big", 1))
sio.callbacks["/"][0] = itertools.count(100)

step = "server ack"
sio.emit("ask")
expect("question args", inbox.take("question"), ({"q": 42},))
answer = inbox.take("answer")
expect("answer args", answer, ({"a": 43},))

# --- f. namespaces ----------------------------------------------------------------
step = "namespace connect"
multi, multi_inbox = new_client(["/", "/custom"])
try:
    connect(multi, {"token": "good"}, ["/", "/custom"])
except Exception as e:  # noqa: BLE001
    fail(f"connect raised {type(e).__name__}: {e}")
custom_sid = multi.get_sid("/custom")
if not custom_sid or custom_sid == multi.get_sid("/"):
    fail(f"sids: / {multi.get_sid('/')!r}, /custom {custom_sid!r}")

step = "welcome-custom"
(wc,) = multi_inbox.take("welcome-custom", namespace="/custom")
if not isinstance(wc, dict):
    fail(f"welcome-custom payload is not an object: {wc!r}")
expect("welcome-custom.id", wc.get("id"), custom_sid)
(w,) = multi_inbox.take("welcome")
expect("welcome.id (second client)", w.get("id"), multi.get_sid("/"))

# --- heartbeat --------------------------------------------------------------------
# pingInterval is 500 ms and pingTimeout 400 ms: idling for 1.5 s spans several
# ping/pong rounds; both connections must survive them and still carry events.
step = "heartbeat"
time.sleep(1.5)
for client, box, name in ((sio, inbox, "first"), (multi, multi_inbox, "second")):
    if not client.connected or box.has("disconnect"):
        fail(f"{name} client lost its connection while idle (ping/pong)")
    client.emit("echo", "still here")
    expect(f"echo after idle ({name} client)", box.take("echo"), ("still here",))

# --- disconnect -------------------------------------------------------------------
step = "disconnect"
for client, box, namespaces in ((multi, multi_inbox, ["/", "/custom"]), (sio, inbox, ["/"])):
    client.disconnect()
    for ns in namespaces:
        box.take("disconnect", namespace=ns)
    if client.connected:
        fail("client still reports connected after disconnect()")
    client.eio.wait()  # the engine.io read/write threads end

_watchdog.cancel()
print(f"ok python {TRANSPORT}")
sys.stdout.flush()
os._exit(0)
