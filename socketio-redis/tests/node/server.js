// A socket.io 4.8 server on @socket.io/redis-adapter 8.3, driven by the Rust
// mixed-cluster tests (socketio-redis/tests/common/mod.rs).
//
// Environment:
//   PORT               port to listen on (127.0.0.1), required
//   REDIS_URL          e.g. redis://127.0.0.1:6379, required
//   ADAPTER            "pubsub" (createAdapter, the default) or "sharded" (createShardedAdapter)
//   SUBSCRIPTION_MODE  sharded only: "static" | "dynamic" (default) | "dynamic-private"
//   KEY                channel prefix: `key` (pubsub) or `channelPrefix` (sharded), default "socket.io"
//   SPECIFIC_RESPONSE  pubsub only: "1" sets publishOnSpecificResponseChannel
//
// Namespaces "/" and "/chat". On connection a socket joins `auth.rooms` (array),
// sets `socket.data = auth.data`, and answers `echo` by acking its first argument.
//
// Protocol: one JSON command per line on stdin, one JSON line per result on stdout,
// carrying the command's `id`: {"id":..,"ok":true,"result":..} or {"id":..,"ok":false,"error":".."}.
// Unsolicited lines: {"event":"ready","port","adapter","uid"} once, and
// {"event":"serverSide","nsp","name","args","ack"} for every server-side emit received.
// Binary: in args (and in what is printed), {"bin":[bytes]} stands for a Buffer; `"binary":true`
// also turns every top-level string argument into a Buffer of its UTF-8 bytes.
// Diagnostics go to stderr. Closing stdin stops the server.

import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { argsOf } from "./values.js";

const NAMESPACES = ["/", "/chat"];
const PORT = Number(process.env.PORT);
const REDIS_URL = process.env.REDIS_URL;
const ADAPTER = process.env.ADAPTER || "pubsub";
const SUBSCRIPTION_MODE = process.env.SUBSCRIPTION_MODE || "dynamic";
const KEY = process.env.KEY || "socket.io";

if (!PORT || !REDIS_URL || !["pubsub", "sharded"].includes(ADAPTER)) {
  console.error("server.js: need PORT, REDIS_URL and ADAPTER=pubsub|sharded");
  process.exit(2);
}

// ---- JSON <-> JS values with binary ----------------------------------------

function replacer(key, value) {
  const orig = this[key];
  if (orig instanceof ArrayBuffer) return { bin: [...new Uint8Array(orig)] };
  if (ArrayBuffer.isView(orig)) {
    return { bin: [...new Uint8Array(orig.buffer, orig.byteOffset, orig.byteLength)] };
  }
  if (orig instanceof Set) return [...orig];
  return value;
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj, replacer) + "\n");
}

// ---- server -----------------------------------------------------------------

const pub = createClient({ url: REDIS_URL, name: `sio-pub-${PORT}` });
const sub = pub.duplicate({ name: `sio-sub-${PORT}` });
for (const [name, c] of [["pub", pub], ["sub", sub]]) {
  // Without a listener node-redis would crash the process on a Redis restart.
  c.on("error", (e) => console.error(`server.js: redis ${name}: ${e.message}`));
}
await Promise.all([pub.connect(), sub.connect()]);

const adapter =
  ADAPTER === "pubsub"
    ? createAdapter(pub, sub, {
        key: KEY,
        publishOnSpecificResponseChannel: process.env.SPECIFIC_RESPONSE === "1",
      })
    : createShardedAdapter(pub, sub, {
        channelPrefix: KEY,
        subscriptionMode: SUBSCRIPTION_MODE,
      });

const httpServer = createServer();
const io = new Server(httpServer, { adapter });

for (const name of NAMESPACES) {
  const nsp = io.of(name);
  nsp.on("connection", (socket) => {
    const auth = socket.handshake.auth || {};
    if (Array.isArray(auth.rooms)) socket.join(auth.rooms);
    if (auth.data !== undefined) socket.data = auth.data;
    socket.on("echo", (x, ack) => typeof ack === "function" && ack(x));
  });
  // Every server-side event, whatever its name (a listener per name would
  // need the names in advance). An ack, when asked for, gets {port, name}.
  const orig = nsp._onServerSideEmit.bind(nsp);
  nsp._onServerSideEmit = (args) => {
    const [ev, ...rest] = args;
    const ack = typeof rest[rest.length - 1] === "function" ? rest.pop() : null;
    print({ event: "serverSide", nsp: name, name: ev, args: rest, ack: !!ack });
    if (ack) ack({ port: PORT, name: ev });
    orig([ev, ...rest]);
  };
}

await new Promise((resolve, reject) => {
  httpServer.once("error", reject);
  httpServer.listen(PORT, "127.0.0.1", resolve);
});

// The adapter subscribes without letting us await it: wait until Redis shows
// the sub client holding every subscription (classic: 3 SUBSCRIBE + 1
// PSUBSCRIBE per namespace; sharded: 2 SSUBSCRIBE per namespace), so that a
// test's first message cannot race the subscriptions. Bounded to 10 s.
async function subscriptionsConfirmed() {
  const want = NAMESPACES.length * (ADAPTER === "pubsub" ? 4 : 2);
  for (let i = 0; i < 200; i++) {
    const list = String(await pub.sendCommand(["CLIENT", "LIST"]));
    const line = list.split("\n").find((l) => l.includes(` name=sio-sub-${PORT} `));
    if (line) {
      const n = (f) => Number((line.match(new RegExp(` ${f}=(\\d+)`)) || [0, 0])[1]);
      if (n("sub") + n("psub") + n("ssub") >= want) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the adapter's subscriptions never showed up in CLIENT LIST");
}
await subscriptionsConfirmed();
await Promise.all(NAMESPACES.map((n) => io.of(n).adapter.serverCount()));
print({ event: "ready", port: PORT, adapter: ADAPTER, uid: io.of("/").adapter.uid });

// ---- commands ---------------------------------------------------------------

function target(cmd) {
  return io
    .of(cmd.nsp || "/")
    .to(cmd.rooms || [])
    .except(cmd.except || []);
}

function describe(s) {
  return {
    id: s.id,
    rooms: [...s.rooms].sort(),
    data: s.data,
    handshake: {
      auth: s.handshake.auth,
      url: s.handshake.url,
      address: s.handshake.address,
    },
    local: typeof s.conn === "object" && s.conn !== null,
  };
}

const ops = {
  emit(cmd) {
    const op = cmd.volatile ? target(cmd).volatile : target(cmd);
    op.emit(cmd.event, ...argsOf(cmd));
    return null;
  },
  emitWithAck(cmd) {
    // The callback form, so that a timeout still reports the partial acks.
    const op = cmd.volatile ? target(cmd).volatile : target(cmd);
    return new Promise((resolve, reject) => {
      op.timeout(cmd.timeout ?? 2000).emit(cmd.event, ...argsOf(cmd), (err, acks) => {
        if (err) reject(Object.assign(err, { partial: acks }));
        else resolve(acks);
      });
    });
  },
  socketsJoin(cmd) {
    target(cmd).socketsJoin(cmd.join || []);
    return null;
  },
  socketsLeave(cmd) {
    target(cmd).socketsLeave(cmd.leave || []);
    return null;
  },
  disconnectSockets(cmd) {
    target(cmd).disconnectSockets(!!cmd.close);
    return null;
  },
  async fetchSockets(cmd) {
    const sockets = await target(cmd).fetchSockets();
    return sockets.map(describe).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  },
  serverSideEmit(cmd) {
    io.of(cmd.nsp || "/").serverSideEmit(cmd.event, ...argsOf(cmd));
    return null;
  },
  serverSideEmitWithAck(cmd) {
    // No per-call timeout: the adapter's own applies (classic requestsTimeout, sharded 5 s).
    return io.of(cmd.nsp || "/").serverSideEmitWithAck(cmd.event, ...argsOf(cmd));
  },
  serverCount(cmd) {
    return io.of(cmd.nsp || "/").adapter.serverCount();
  },
  async allRooms(cmd) {
    const adapter = io.of(cmd.nsp || "/").adapter;
    if (typeof adapter.allRooms !== "function") {
      throw new Error(`allRooms is not supported by the ${ADAPTER} adapter`);
    }
    return [...(await adapter.allRooms())].sort();
  },
  sockets(cmd) {
    return [...io.of(cmd.nsp || "/").sockets.keys()].sort();
  },
};

async function run(line) {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    console.error(`server.js: bad command line: ${line}`);
    return;
  }
  const id = cmd.id ?? null;
  const op = ops[cmd.op];
  if (!op) return print({ id, ok: false, error: `unknown op ${cmd.op}` });
  try {
    const result = await op(cmd);
    print({ id, ok: true, result: result ?? null });
  } catch (e) {
    const out = { id, ok: false, error: e && e.message ? e.message : String(e) };
    if (e && e.partial !== undefined) out.result = e.partial;
    print(out);
  }
}

const rl = createInterface({ input: process.stdin, terminal: false });
rl.on("line", (line) => {
  if (line.trim()) run(line);
});
rl.on("close", async () => {
  setTimeout(() => process.exit(0), 2000).unref();
  try {
    io.close();
    await Promise.allSettled([pub.quit(), sub.quit()]);
  } finally {
    process.exit(0);
  }
});
