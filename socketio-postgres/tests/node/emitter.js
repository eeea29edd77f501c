// Runs one @socket.io/postgres-emitter operation and exits.
//
// argv[2] is a JSON object:
//   {"url":url,"key":"socket.io","table":"socket_io_attachments","nsp":"/",
//    "op":"emit"|"socketsJoin"|"socketsLeave"|"disconnectSockets"|"serverSideEmit",
//    "rooms":[..],"except":[..],"event":"e","args":[..],"volatile":false,"binary":false,
//    "join":[..],"leave":[..],"close":false}
// Args use the binary convention of socketio-redis's tests/node/values.js.
// Prints {"event":"done"} once PostgreSQL has answered every query the
// emitter made (it does not return them), then exits 0.

import pg from "pg";
import { Emitter } from "@socket.io/postgres-emitter";
import { runOp } from "../../../socketio-redis/tests/node/emitter-ops.js";

const cmd = JSON.parse(process.argv[2] || "{}");
if (!cmd.url || !cmd.op) {
  console.error("emitter.js: need a JSON argument with at least url and op");
  process.exit(2);
}

const pool = new pg.Pool({ connectionString: cmd.url, max: 2 });
pool.on("error", (e) => console.error(`emitter.js: postgres: ${e.message}`));
const pending = new Set();
const query = pool.query.bind(pool);
pool.query = (...a) => {
  const p = query(...a);
  pending.add(p);
  p.then(
    () => pending.delete(p),
    (e) => {
      pending.delete(p);
      console.error(`emitter.js: query failed: ${e.message}`);
      process.exitCode = 1;
    },
  );
  return p;
};

const emitter = new Emitter(pool, cmd.nsp || "/", {
  channelPrefix: cmd.key || "socket.io",
  tableName: cmd.table || "socket_io_attachments",
});
runOp(emitter, cmd);

// A message through the table is two queries, the second made when the
// first is answered: wait until none is left.
do {
  await Promise.allSettled([...pending]);
  await new Promise((r) => setTimeout(r, 20));
} while (pending.size > 0);
await pool.end();
if (!process.exitCode) process.stdout.write(JSON.stringify({ event: "done" }) + "\n");
