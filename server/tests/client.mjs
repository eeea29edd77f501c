// A socket.io-client driven over stdin/stdout by the Rust end-to-end tests.
// Usage: node client.mjs URL [OPTIONS_JSON]
// Prints one JSON line per happening: {type:"connect",id}, {type:"connect_error",
// message,data,description}, {type:"disconnect",reason}, {type:"event",event,args},
// {type:"ack",id,err,args}. Reads JSON commands, one per line:
// {op:"emit",event,args,ack?,id?}, {op:"disconnect"}, {op:"connect"}.
// Exits when stdin closes.
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(new URL("../../conformance/interop/package.json", import.meta.url));
const { io } = require("socket.io-client");

const [url, optsJson] = process.argv.slice(2);
const opts = { reconnection: false, ...JSON.parse(optsJson || "{}") };
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const socket = io(url, opts);
socket.on("connect", () => out({ type: "connect", id: socket.id }));
socket.on("connect_error", (e) =>
  out({ type: "connect_error", message: e.message, data: e.data ?? null, description: typeof e.description === "number" ? e.description : null }),
);
socket.on("disconnect", (reason) => out({ type: "disconnect", reason }));
socket.onAny((event, ...args) => out({ type: "event", event, args }));

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const c = JSON.parse(line);
  if (c.op === "emit") {
    const args = c.args ?? [];
    if (c.ack) {
      socket.timeout(5000).emit(c.event, ...args, (err, ...res) => out({ type: "ack", id: c.id ?? null, err: err ? err.message : null, args: res }));
    } else {
      socket.emit(c.event, ...args);
    }
  } else if (c.op === "disconnect") {
    socket.disconnect();
  } else if (c.op === "connect") {
    socket.connect();
  }
});
rl.on("close", () => {
  socket.disconnect();
  setTimeout(() => process.exit(0), 50);
});
