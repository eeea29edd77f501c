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
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { serve } from "./harness.js";

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

await serve({
  io,
  httpServer,
  port: PORT,
  adapter: ADAPTER,
  namespaces: NAMESPACES,
  ready: subscriptionsConfirmed,
  close: () => Promise.allSettled([pub.quit(), sub.quit()]),
});
