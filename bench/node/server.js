// The benchmark's server on Node's socket.io: the same handlers as
// bench/src/bin/bench-server.rs (see there).
//
// With REDIS_URL set (redis://127.0.0.1:PORT) it is one node of a cluster on
// @socket.io/redis-adapter 8.3 (createAdapter, classic pub/sub) over two
// node-redis clients, as bench-server is on socketio_redis. It listens only
// once Redis shows the adapter's subscriptions, so an open port means the
// node receives the other nodes' broadcasts.
const { createServer } = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 3000);
const redisUrl = process.env.REDIS_URL;

// Connects the adapter's two clients; returns the adapter and a function that
// resolves once the sub client holds the adapter's subscriptions.
async function redisAdapter(url) {
  const { createAdapter } = require("@socket.io/redis-adapter");
  const { createClient } = require("redis");
  const pub = createClient({ url, name: `bench-pub-${port}` });
  const sub = pub.duplicate({ name: `bench-sub-${port}` });
  for (const [name, c] of [["pub", pub], ["sub", sub]]) {
    // Without a listener node-redis would end the process on a Redis error.
    c.on("error", (e) => console.error(`server.js: redis ${name}: ${e.message}`));
  }
  await Promise.all([pub.connect(), sub.connect()]);
  // The adapter subscribes without letting us await it: its sub client holds
  // 3 SUBSCRIBE + 1 PSUBSCRIBE for the main namespace once it is in place
  // (as socketio-redis/tests/node/server.js waits). Bounded to 10 s.
  const subscribed = async () => {
    for (let i = 0; i < 200; i++) {
      const list = String(await pub.sendCommand(["CLIENT", "LIST"]));
      const line = list.split("\n").find((l) => l.includes(` name=bench-sub-${port} `));
      if (line) {
        const n = (f) => Number((line.match(new RegExp(` ${f}=(\\d+)`)) || [0, 0])[1]);
        if (n("sub") + n("psub") >= 4) return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the adapter's subscriptions never showed up in CLIENT LIST");
  };
  return { adapter: createAdapter(pub, sub), subscribed };
}

async function main() {
  const cluster = redisUrl ? await redisAdapter(redisUrl) : null;
  const httpServer = createServer();
  const io = new Server(httpServer, {
    path: "/socket.io/",
    pingInterval: 25000,
    pingTimeout: 20000,
    ...(cluster ? { adapter: cluster.adapter } : {}),
  });
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
    console.error(`node socket.io listening on 127.0.0.1:${port}${redisUrl ? ` (Redis adapter on ${redisUrl})` : ""}`),
  );
}

main().catch((e) => {
  console.error(`server.js: ${e.message}`);
  process.exit(1);
});
