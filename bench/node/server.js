// The benchmark's server on Node's socket.io: the same handlers as
// bench/src/bin/bench-server.rs (see there).
//
// With REDIS_URL set (redis://127.0.0.1:PORT) it is one node of a cluster
// over two node-redis clients, as bench-server is on socketio_redis, on the
// adapter ADAPTER names: "pubsub" (the default: @socket.io/redis-adapter 8.3
// createAdapter, classic pub/sub), "sharded" (its createShardedAdapter,
// dynamic subscriptions, Redis 7) or "streams"
// (@socket.io/redis-streams-adapter 0.3, stream "socket.io"). With
// POSTGRES_URL set instead, on @socket.io/postgres-adapter 0.5 over a pg
// pool, channel prefix PG_PREFIX (default "socket.io"), attachments table
// PG_TABLE (default "socket_io_attachments", created when missing). It
// listens only once the adapter holds its subscriptions, so an open port
// means the node receives the other nodes' broadcasts.
//
// With DEFLATE=1, permessage-deflate is on (perMessageDeflate: { threshold:
// 1024 }), as bench-server's DEFLATE=1.
const { createServer } = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 3000);
const redisUrl = process.env.REDIS_URL;
const postgresUrl = process.env.POSTGRES_URL;
const kind = process.env.ADAPTER || "pubsub";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `check` every 50 ms until it holds, for 10 s at most; then fails
// with `what`.
async function waitFor(what, check) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(what);
}

// Connects the adapter's two clients; returns the adapter and a function that
// resolves once the sub client holds the adapter's subscriptions.
async function redisAdapter(url) {
  const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
  const { createAdapter: createStreamsAdapter } = require("@socket.io/redis-streams-adapter");
  const { createClient } = require("redis");
  if (!["pubsub", "sharded", "streams"].includes(kind)) throw new Error(`ADAPTER ${kind}: pubsub, sharded or streams`);
  const pub = createClient({ url, name: `bench-pub-${port}` });
  const sub = pub.duplicate({ name: `bench-sub-${port}` });
  for (const [name, c] of [["pub", pub], ["sub", sub]]) {
    // Without a listener node-redis would end the process on a Redis error.
    c.on("error", (e) => console.error(`server.js: redis ${name}: ${e.message}`));
  }
  await Promise.all([pub.connect(), sub.connect()]);
  // The adapter subscribes without letting us await it: its sub client (and
  // the copies the streams adapter makes of it, which keep its name) holds
  // 3 SUBSCRIBE + 1 PSUBSCRIBE (classic) or 2 (sharded, streams) for the
  // main namespace once it is in place (as socketio-redis/tests/node/server.js
  // waits). Bounded to 10 s.
  const want = kind === "pubsub" ? 4 : 2;
  const subscribed = () =>
    waitFor("the adapter's subscriptions never showed up in CLIENT LIST", async () => {
      const list = String(await pub.sendCommand(["CLIENT", "LIST"]));
      const lines = list.split("\n").filter((l) => l.includes(` name=bench-sub-${port} `));
      const n = (line, f) => Number((line.match(new RegExp(` ${f}=(\\d+)`)) || [0, 0])[1]);
      return lines.reduce((t, l) => t + n(l, "sub") + n(l, "psub") + n(l, "ssub"), 0) >= want;
    });
  const adapter =
    kind === "pubsub"
      ? createAdapter(pub, sub)
      : kind === "sharded"
        ? createShardedAdapter(pub, sub, { subscriptionMode: "dynamic" })
        : createStreamsAdapter(sub, { streamName: "socket.io" });
  return { adapter, subscribed };
}

// A pg pool and the postgres adapter on it; `subscribed` resolves once the
// adapter has its LISTEN connection (then a moment for the LISTEN itself,
// as socketio-postgres/tests/node/server.js waits).
async function postgresAdapter(url) {
  const { createAdapter } = require("@socket.io/postgres-adapter");
  const pg = require("pg");
  const table = process.env.PG_TABLE || "socket_io_attachments";
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // Without a listener node-postgres would end the process on a lost connection.
  pool.on("error", (e) => console.error(`server.js: postgres: ${e.message}`));
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${table} (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)`,
  );
  const adapter = createAdapter(pool, {
    channelPrefix: process.env.PG_PREFIX || "socket.io",
    tableName: table,
    errorHandler: (e) => console.error(`server.js: adapter: ${e.message}`),
  });
  let io;
  const subscribed = async () => {
    await waitFor("the adapter never got its LISTEN connection", () => io.of("/").adapter.client?.client);
    await sleep(200);
  };
  return { adapter, subscribed, setIo: (v) => (io = v) };
}

async function main() {
  const cluster = postgresUrl
    ? await postgresAdapter(postgresUrl)
    : redisUrl
      ? await redisAdapter(redisUrl)
      : null;
  const httpServer = createServer();
  const io = new Server(httpServer, {
    path: "/socket.io/",
    pingInterval: 25000,
    pingTimeout: 20000,
    ...(cluster ? { adapter: cluster.adapter } : {}),
    ...(process.env.DEFLATE === "1" ? { perMessageDeflate: { threshold: 1024 } } : {}),
  });
  if (cluster?.setIo) cluster.setIo(io);
  io.on("connection", (socket) => {
    const room = socket.handshake.query.room;
    if (typeof room === "string") socket.join(room);
    socket.on("echo", (arg, ack) => {
      if (typeof ack === "function") ack(arg);
      else socket.emit("echo", arg);
    });
    socket.on("broadcast", (arg) => io.emit("broadcast", arg));
    socket.on("broadcast-room", (room, arg) => io.to(room).emit("broadcast", arg));
  });
  if (cluster) await cluster.subscribed();
  httpServer.listen(port, "127.0.0.1", () =>
    console.error(
      `node socket.io listening on 127.0.0.1:${port}` +
        (postgresUrl ? ` (postgres adapter on ${postgresUrl})` : redisUrl ? ` (Redis ${kind} adapter on ${redisUrl})` : ""),
    ),
  );
}

main().catch((e) => {
  console.error(`server.js: ${e.message}`);
  process.exit(1);
});
