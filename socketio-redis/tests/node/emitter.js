// Runs one @socket.io/redis-emitter 5.x operation and exits.
//
// argv[2] is a JSON object:
//   {"redis":url,"key":"socket.io","nsp":"/","op":"emit"|"socketsJoin"|"socketsLeave"|
//    "disconnectSockets"|"serverSideEmit","rooms":[..],"except":[..],"event":"e","args":[..],
//    "volatile":false,"binary":false,"join":[..],"leave":[..],"close":false}
// Args use the same binary convention as server.js: {"bin":[bytes]} is a Buffer, and
// "binary":true turns every top-level string argument into a Buffer of its UTF-8 bytes.
// Prints {"event":"done"} once Redis has answered the PUBLISH, then exits 0.

import { createClient } from "redis";
import { Emitter } from "@socket.io/redis-emitter";
import { runOp } from "./emitter-ops.js";

const cmd = JSON.parse(process.argv[2] || "{}");
if (!cmd.redis || !cmd.op) {
  console.error("emitter.js: need a JSON argument with at least redis and op");
  process.exit(2);
}

const client = createClient({ url: cmd.redis });
client.on("error", (e) => console.error(`emitter.js: redis: ${e.message}`));
await client.connect();

const emitter = new Emitter(client, { key: cmd.key || "socket.io" }).of(cmd.nsp || "/");
runOp(emitter, cmd);

// The emitter does not return the PUBLISH promise; QUIT is answered only after
// every command queued before it, so the message is in Redis once this resolves.
await client.quit();
process.stdout.write(JSON.stringify({ event: "done" }) + "\n");
process.exit(0);
