// A socket.io-client driven over stdin/stdout by the Rust end-to-end tests.
// Usage: node client.mjs URL [OPTIONS_JSON]
// (`"parser": "msgpack"` in the options picks socket.io-msgpack-parser.)
// Prints one JSON line per happening: {type:"connect",id,recovered}, {type:"connect_error",
// message,data,description,body} (body: the HTTP answer's text of a refused polling handshake), {type:"disconnect",reason}, {type:"event",event,args},
// {type:"ack",id,err,args}. Reads JSON commands, one per line:
// {op:"emit",event,args,ack?,id?}, {op:"disconnect"}, {op:"connect"},
// {op:"churn",nsp,times} (join and leave another namespace over the same
// connection; prints {type:"churn",ok,refused,last}), {op:"auth",auth} (the
// auth of the next CONNECT), {op:"drop"} (closes the
// Engine.IO connection as a network loss would: the client reconnects when
// its options allow), {op:"retarget",url} (the next connection goes to another
// server, e.g. of the same cluster: http://127.0.0.1:PORT).
// Exits when stdin closes.
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(new URL("../../conformance/interop/package.json", import.meta.url));
const { io } = require("socket.io-client");

const [url, optsJson] = process.argv.slice(2);
const opts = { reconnection: false, ...JSON.parse(optsJson || "{}") };
if (opts.parser === "msgpack") opts.parser = require("socket.io-msgpack-parser");
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const socket = io(url, opts);
socket.on("connect", () => out({ type: "connect", id: socket.id, recovered: socket.recovered }));
socket.on("connect_error", (e) =>
  out({ type: "connect_error", message: e.message, data: e.data ?? null, description: typeof e.description === "number" ? e.description : null, body: e.context?.responseText ?? null }),
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
  } else if (c.op === "churn") {
    // Connect to and leave namespace c.nsp c.times times over this socket's
    // connection (the main socket keeps it open).
    let ok = 0, refused = 0, last = null;
    const s = socket.io.socket(c.nsp);
    const step = (i) => {
      if (i >= c.times) return out({ type: "churn", ok, refused, last });
      const done = () => { s.off("connect", onOk); s.off("connect_error", onErr); setImmediate(() => step(i + 1)); };
      const onOk = () => { ok++; last = "connected"; s.disconnect(); done(); };
      const onErr = (e) => { refused++; last = (e.data && e.data.code) || e.message; done(); };
      s.on("connect", onOk);
      s.on("connect_error", onErr);
      s.connect();
    };
    step(0);
  } else if (c.op === "auth") {
    socket.auth = c.auth;
  } else if (c.op === "drop") {
    socket.io.engine.close();
  } else if (c.op === "retarget") {
    socket.io.uri = c.url;
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
