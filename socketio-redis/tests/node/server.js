// A socket.io 4.8 server on @socket.io/redis-adapter 8.3 (or
// @socket.io/redis-streams-adapter 0.3), driven by the Rust mixed-cluster
// tests (socketio-redis/tests/common/mod.rs).
//
// Environment:
//   PORT               port to listen on (127.0.0.1), required
//   REDIS_URL          e.g. redis://127.0.0.1:6379, required
//   ADAPTER            "pubsub" (createAdapter, the default), "sharded" (createShardedAdapter)
//                      or "streams" (@socket.io/redis-streams-adapter's createAdapter)
//   STREAM_NAME        streams only: `streamName`, default "socket.io"
//   STREAM_COUNT       streams only: `streamCount`, default 1
//   SHARDED_PUBSUB     streams only: "1" sets `useShardedPubSub`
//   RECOVERY           streams only: "1" turns connectionStateRecovery on (2 min, middlewares skipped)
//   SUBSCRIPTION_MODE  sharded only: "static" | "dynamic" (default) | "dynamic-private"
//   KEY                channel prefix: `key` (pubsub) or `channelPrefix` (sharded, streams), default "socket.io"
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
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";
import { serve } from "./harness.js";

const NAMESPACES = ["/", "/chat"];
const PORT = Number(process.env.PORT);
const REDIS_URL = process.env.REDIS_URL;
const ADAPTER = process.env.ADAPTER || "pubsub";
const SUBSCRIPTION_MODE = process.env.SUBSCRIPTION_MODE || "dynamic";
const KEY = process.env.KEY || "socket.io";

if (!PORT || !REDIS_URL || !["pubsub", "sharded", "streams"].includes(ADAPTER)) {
  console.error("server.js: need PORT, REDIS_URL and ADAPTER=pubsub|sharded|streams");
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

// The streams adapter duplicates the client it is given for its reader and
// subscriber: those copies keep its name, `sio-sub-PORT`.
const adapter =
  ADAPTER === "pubsub"
    ? createAdapter(pub, sub, {
        key: KEY,
        publishOnSpecificResponseChannel: process.env.SPECIFIC_RESPONSE === "1",
      })
    : ADAPTER === "sharded"
      ? createShardedAdapter(pub, sub, {
          channelPrefix: KEY,
          subscriptionMode: SUBSCRIPTION_MODE,
        })
      : createStreamsAdapter(sub, {
          channelPrefix: KEY,
          streamName: process.env.STREAM_NAME || "socket.io",
          streamCount: Number(process.env.STREAM_COUNT || 1),
          useShardedPubSub: process.env.SHARDED_PUBSUB === "1",
          blockTimeInMs: 1_000,
        });

const httpServer = createServer();
const recovery =
  process.env.RECOVERY === "1"
    ? { connectionStateRecovery: { maxDisconnectionDuration: 120_000, skipMiddlewares: true } }
    : {};
const io = new Server(httpServer, { adapter, ...recovery });

// The adapter subscribes without letting us await it: wait until Redis shows
// the sub client holding every subscription (classic: 3 SUBSCRIBE + 1
// PSUBSCRIBE per namespace; sharded and streams: 2 per namespace), so that a
// test's first message cannot race the subscriptions. Bounded to 10 s.
async function subscriptionsConfirmed() {
  const want = NAMESPACES.length * (ADAPTER === "pubsub" ? 4 : 2);
  for (let i = 0; i < 200; i++) {
    const list = String(await pub.sendCommand(["CLIENT", "LIST"]));
    const lines = list.split("\n").filter((l) => l.includes(` name=sio-sub-${PORT} `));
    const n = (line, f) => Number((line.match(new RegExp(` ${f}=(\\d+)`)) || [0, 0])[1]);
    const total = lines.reduce((t, l) => t + n(l, "sub") + n(l, "psub") + n(l, "ssub"), 0);
    if (total >= want) {
      // The stream reader starts from "$": let its first XREAD begin.
      if (ADAPTER === "streams") await new Promise((r) => setTimeout(r, 200));
      return;
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
