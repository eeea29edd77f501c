// Interop check: drive our Socket.IO server with socket.io-client 2.5 (the
// socket.io v2 protocol over Engine.IO 3; the npm alias "socket.io-client-v2").
//
// Usage:
//   npm ci                                   # once, in this folder
//   node sio-client-v2.mjs <base-url> <mode> [b64]
//     base-url  e.g. http://127.0.0.1:3000  (path /socket.io/)
//     mode      polling | websocket | upgrade
//     b64       forceBase64: binary as base64 text on every transport
//               (node's XHR polling always asks for it: `b64=1`)
//
// The server under test is `conformance sio-interop` (it allows EIO=3; see
// conformance/src/interop.rs for its handlers), without recovery (v2
// clients know nothing of the recovery offset).
//
// Steps: implicit connection to "/" + welcome, a namespace whose query is
// its auth refused by a middleware (the v2 `error` event with the error's
// data), namespaces (static, dynamic, unknown) multiplexed on one
// connection, echo with binary args, acks both ways (binary too), rooms and
// broadcasts between two connections, the client's own socket.id (which it
// computes itself) equal to the server's on "/" and on a namespace, and
// naming its own room, server-side disconnect. In upgrade
// mode every connection waits for its upgrade to WebSocket before it is
// used. Prints "ok v2 <mode>" and exits 0 on success; on any failure or
// after 30 s prints `FAIL v2 mode=<mode> step="<step>": <detail>` to stderr
// and exits 1.

import { isDeepStrictEqual } from "node:util";
import { norm, show } from "./values.mjs";
import io from "socket.io-client-v2";

const MODES = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
};
const [baseUrl, mode, b64] = process.argv.slice(2);
if (!baseUrl || !MODES[mode] || (b64 !== undefined && b64 !== "b64")) {
  console.error("usage: node sio-client-v2.mjs <base-url> <polling|websocket|upgrade> [b64]");
  process.exit(2);
}
const base = baseUrl.replace(/\/+$/, "");
let step = "setup";
function fail(why) {
  console.error(`FAIL v2 mode=${mode}${b64 ? " b64" : ""} step="${step}": ${why}`);
  process.exit(1);
}
setTimeout(() => fail("overall timeout (30 s)"), 30_000).unref();
const WAIT_MS = 5000;

function expectEqual(what, got, want) {
  if (!isDeepStrictEqual(norm(got), norm(want))) fail(`${what}: expected ${show(want)}, got ${show(got)}`);
}

// The next `event` on `emitter`, with all its arguments.
function next(emitter, event) {
  return new Promise((resolve) => {
    const t = setTimeout(() => fail(`no "${event}" within ${WAIT_MS} ms`), WAIT_MS);
    emitter.once(event, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}
function ack(socket, ...args) {
  return new Promise((resolve) => {
    const t = setTimeout(() => fail(`no ack within ${WAIT_MS} ms`), WAIT_MS);
    socket.emit(...args, (...reply) => {
      clearTimeout(t);
      resolve(reply);
    });
  });
}

const sockets = [];
// A socket on `nsp`, on a connection of its own, or on `shared`'s.
function open(nsp, { shared, query } = {}) {
  const s = shared
    ? shared.io.socket(nsp)
    : io(base + nsp, {
        transports: MODES[mode],
        forceNew: true,
        reconnection: false,
        forceBase64: b64 === "b64",
        ...(query ? { query } : {}),
      });
  sockets.push(s);
  return s;
}
async function upgraded(s) {
  if (mode !== "upgrade") return;
  const engine = s.io.engine;
  if (engine.transport.name !== "websocket") await next(engine, "upgrade");
  expectEqual("transport after upgrade", engine.transport.name, "websocket");
}

step = "implicit connection to /";
const a = open("/");
const welcome = next(a, "welcome");
await next(a, "connect");
const [hello] = await welcome;
expectEqual("welcome.recovered", hello.recovered, false);
if (typeof hello.id !== "string" || !hello.id) fail(`welcome without id: ${show(hello)}`);
// The v2 client computes its id (the Engine.IO id on "/"): the server's
// must be the same.
expectEqual("socket.id on / (server's view)", hello.id, a.id);
expectEqual("socket.id on / is the Engine.IO id", a.id, a.io.engine.id);
await upgraded(a);

step = "echo with binary args";
const bin = Buffer.from([1, 2, 3, 255]);
const echoed = next(a, "echo");
a.emit("echo", "text", 42, bin, { nested: Buffer.from([9]), list: [1, "x"] });
expectEqual("echo", await echoed, ["text", 42, bin, { nested: Buffer.from([9]), list: [1, "x"] }]);

step = "client ack";
expectEqual("ack", await ack(a, "ack", "a", Buffer.from([7])), ["a", Buffer.from([7])]);

step = "server ack";
a.once("question", (q, reply) => {
  expectEqual("question", q, { q: 42 });
  reply("yes", Buffer.from([5, 6]));
});
const answer = next(a, "answer");
a.emit("ask");
expectEqual("answer", await answer, ["yes", Buffer.from([5, 6])]);

step = "namespaces multiplexed";
const custom = open("/custom", { shared: a });
if (custom.io !== a.io) fail("/custom did not share the connection of /");
const [wc] = await next(custom, "welcome-custom");
if (typeof wc.id !== "string") fail(`welcome-custom: ${show(wc)}`);
expectEqual("socket.id on /custom (server's view)", wc.id, custom.id);
expectEqual("socket.id on /custom", custom.id, `/custom#${a.io.engine.id}`);
const dyn = open("/dyn-7", { shared: a });
expectEqual("welcome-dyn", await next(dyn, "welcome-dyn"), ["/dyn-7"]);
const nope = open("/nope", { shared: a });
expectEqual("unknown namespace", await next(nope, "error"), [{ message: "Invalid namespace" }]);

step = "namespace query as auth";
const refused = open("/custom", { query: { token: "bad" } });
expectEqual("refused", await next(refused, "error"), [{ reason: "bad token" }]);
const allowed = open("/custom", { query: { token: "good" } });
await next(allowed, "welcome-custom");

step = "rooms and broadcasts";
const b = open("/");
await next(b, "welcome");
await upgraded(b);
const [rooms] = await ack(a, "join", "r1");
if (!rooms.includes("r1")) fail(`rooms after join: ${show(rooms)}`);
const inRoom = next(a, "room-message");
b.emit("to-room", "r1", { hi: 1 });
expectEqual("room-message", await inRoom, [{ hi: 1 }]);
step = "own room named by the id";
const own = next(a, "room-message");
b.emit("to-room", a.id, "private");
expectEqual("to the own room", await own, ["private"]);
const [withOwn] = await ack(a, "join", "r2");
if (!withOwn.includes(a.id)) fail(`own room missing from ${show(withOwn)}`);

step = "broadcasts";
const bc = next(a, "broadcast");
b.emit("broadcast", "to all");
expectEqual("broadcast", await bc, ["to all"]);

step = "server-side disconnect";
const gone = next(b, "disconnect");
b.emit("disconnect-me");
expectEqual("disconnect reason", await gone, ["io server disconnect"]);

for (const s of sockets) s.close();
console.log(`ok v2 ${mode}${b64 ? " b64" : ""}`);
process.exit(0);
