// A socket.io 4.8 server on @socket.io/postgres-adapter 0.5, driven by the
// Rust mixed-cluster tests (socketio-postgres/tests/*.rs, through the
// socketio-redis test support they include).
//
// Environment:
//   PORT                port to listen on (127.0.0.1), required
//   BROKER_URL          the database, e.g. postgres://postgres@127.0.0.1:5432/test, required
//   KEY                 channelPrefix, default "socket.io"
//   TABLE               tableName, default "socket_io_attachments" (created when missing)
//   HEARTBEAT_INTERVAL  heartbeatInterval in ms, default 5000
//   HEARTBEAT_TIMEOUT   heartbeatTimeout in ms, default 10000
//
// Namespaces "/" and "/chat"; the commands and lines are socketio-redis's
// tests/node/server.js's (the harness is shared).

import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/postgres-adapter";
import pg from "pg";
import { serve } from "../../../socketio-redis/tests/node/harness.js";

const NAMESPACES = ["/", "/chat"];
const PORT = Number(process.env.PORT);
const URL = process.env.BROKER_URL;
const KEY = process.env.KEY || "socket.io";
const TABLE = process.env.TABLE || "socket_io_attachments";

if (!PORT || !URL) {
  console.error("server.js: need PORT and BROKER_URL");
  process.exit(2);
}

const pool = new pg.Pool({ connectionString: URL, max: 4 });
// Without a listener node-postgres would crash the process when the server
// ends a connection.
pool.on("error", (e) => console.error(`server.js: postgres: ${e.message}`));
await pool.query(
  `CREATE TABLE IF NOT EXISTS ${TABLE} (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)`,
);

const adapter = createAdapter(pool, {
  channelPrefix: KEY,
  tableName: TABLE,
  heartbeatInterval: Number(process.env.HEARTBEAT_INTERVAL || 5000),
  heartbeatTimeout: Number(process.env.HEARTBEAT_TIMEOUT || 10000),
  errorHandler: (e) => console.error(`server.js: adapter: ${e.message}`),
});

const httpServer = createServer();
const io = new Server(httpServer, { adapter });

// The adapter LISTENs without letting us await it: wait until its client
// is up (it is set once every channel known then is listened to), then a
// moment for the namespaces added after. Bounded to 10 s.
async function listening() {
  for (let i = 0; i < 200; i++) {
    if (io.of("/").adapter.client?.client) {
      await new Promise((r) => setTimeout(r, 200));
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the adapter never got its LISTEN connection");
}

await serve({
  io,
  httpServer,
  port: PORT,
  adapter: "postgres",
  namespaces: NAMESPACES,
  ready: listening,
  close: () => pool.end(),
});
