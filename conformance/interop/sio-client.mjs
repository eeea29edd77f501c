// Interop check: drive our Socket.IO v5 server with the real socket.io-client.
//
// Usage:
//   npm ci                                   # once, in this folder
//   node sio-client.mjs <base-url> <mode> [parser]
//     base-url  e.g. http://127.0.0.1:3000  (path is the client default, /socket.io/)
//     mode      polling | websocket | upgrade
//     parser    json (default) | msgpack: socket.io-msgpack-parser, every packet one
//               binary message (the server must use it too)
//
// The server under test is `conformance sio-interop [--parser msgpack]` (see
// conformance/src/interop.rs for the handlers it must have).
//
// Steps: connect + welcome, middleware rejection, namespaces (static, dynamic,
// unknown), echo with mixed/binary args, acks both ways, rooms + broadcasts,
// volatile emit, server-side disconnect, reconnection with connection state
// recovery. In upgrade mode every socket waits for the upgrade to websocket
// before it is used. Prints "ok <mode>" and exits 0 on success; on any failure
// or after 30 s prints `FAIL mode=<mode> step="<step>": <detail>` to stderr and
// exits 1.

import { isDeepStrictEqual } from "node:util";
import { norm, show } from "./values.mjs";
import { io } from "socket.io-client";

const MODES = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
};

const PARSERS = {
  json: async () => ({}),
  msgpack: async () => ({ parser: await import("socket.io-msgpack-parser") }),
};

const [baseUrl, mode, parserName = "json"] = process.argv.slice(2);
if (!baseUrl || !MODES[mode] || !PARSERS[parserName]) {
  console.error("usage: node sio-client.mjs <base-url> <polling|websocket|upgrade> [json|msgpack]");
  process.exit(2);
}
// Options every socket gets: the parser, when not the default one.
const parserOpts = await PARSERS[parserName]();
const base = baseUrl.replace(/\/+$/, "");

let step = "setup";
function fail(why) {
  console.error(`FAIL mode=${mode} parser=${parserName} step="${step}": ${why}`);
  // Report what the last step would have checked too (see `missingOffsets`).
  if (step !== FINAL_STEP) {
    for (const m of missingOffsets.values()) console.error(`  also: event without recovery offset: ${m}`);
  }
  process.exit(1);
}
const FINAL_STEP = "recovery offsets on stored events";
setTimeout(() => fail("overall timeout (30 s)"), 30_000).unref();

const WAIT_MS = 3000;
const QUIET_MS = 200;
const sockets = [];

function expectEqual(what, got, want) {
  if (!isDeepStrictEqual(norm(got), norm(want))) fail(`${what}: expected ${show(want)}, got ${show(got)}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Connection state recovery: the server gives each socket a private id (pid)
// in its CONNECT answer and then appends an offset (a string) to every event
// it stores for replay, i.e. every event without ack that is not volatile
// (the reference server stores direct `socket.emit`s too). The client passes
// that offset to the listeners as a trailing argument and remembers the
// trailing string argument of every event as its offset, to send it back on
// reconnection. Events that should carry an offset but do not are collected
// here and reported by the last step (after all other checks ran).
const missingOffsets = new Map();

// Checks the args of a received event (see `client().next`) against `want`,
// expecting a trailing recovery offset when the server should add one.
function expectArgs(what, sock, ev, got, want, { volatile = false } = {}) {
  const withAck = typeof got[got.length - 1] === "function";
  const offsetDue = got.recoveryOn && !withAck && !volatile;
  if (offsetDue && got.length === want.length + 1 && typeof got[got.length - 1] === "string") {
    expectEqual(what, got.slice(0, -1), want);
    return;
  }
  expectEqual(what, got, want);
  if (offsetDue && !missingOffsets.has(ev)) missingOffsets.set(ev, `${step}: ${sock.nsp} "${ev}" ${show(got)}`);
}

// A client socket whose every event (including connect / connect_error /
// disconnect) is queued, so nothing is missed between steps.
function client(nsp, opts = {}) {
  const sock = io(base + nsp, {
    transports: MODES[mode],
    autoConnect: false,
    timeout: WAIT_MS,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
    ...parserOpts,
    ...opts,
  });
  sockets.push(sock);
  const queue = [];
  const waiters = [];
  sock.log = [];
  const push = (ev, args) => {
    sock.log.push(ev);
    // Whether the server had enabled recovery for this socket (sent a pid).
    Object.defineProperty(args, "recoveryOn", { value: !!sock._pid });
    const i = waiters.findIndex((w) => w.ev === ev);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(args);
    else queue.push({ ev, args });
  };
  sock.onAny((ev, ...args) => push(ev, args));
  for (const ev of ["connect", "connect_error", "disconnect"]) sock.on(ev, (...args) => push(ev, args));
  // Every socket on "/" answers the server's `ping-all`.
  sock.on("ping-all", (cb) => {
    if (typeof cb === "function") cb("pong");
  });

  // Resolves with the args of the oldest unconsumed `ev`, or fails after `ms`.
  sock.next = (ev, ms = WAIT_MS) => {
    const i = queue.findIndex((e) => e.ev === ev);
    if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0].args);
    return new Promise((resolve) => {
      const w = {
        ev,
        resolve: (args) => {
          clearTimeout(t);
          resolve(args);
        },
      };
      const t = setTimeout(() => fail(`no "${ev}" event on ${nsp} within ${ms} ms (events seen: ${sock.log.join(", ") || "none"})`), ms);
      waiters.push(w);
    });
  };
  // Fails if `ev` arrives (or has arrived unconsumed) within `ms`.
  sock.none = async (ev, ms = QUIET_MS) => {
    await sleep(ms);
    const e = queue.find((e) => e.ev === ev);
    if (e) fail(`unexpected "${ev}" event with ${show(e.args)}`);
  };
  sock.pending = (ev) => queue.filter((e) => e.ev === ev).map((e) => e.args);
  return sock;
}

// In upgrade mode, waits until the engine has upgraded to websocket.
async function upgraded(sock) {
  if (mode !== "upgrade") return;
  const engine = sock.io.engine;
  if (engine.transport.name !== "websocket") {
    await new Promise((resolve) => {
      const t = setTimeout(() => fail(`no engine "upgrade" event within ${WAIT_MS} ms`), WAIT_MS);
      engine.once("upgrade", () => {
        clearTimeout(t);
        resolve();
      });
      engine.once("upgradeError", (e) => fail(`engine upgradeError: ${e?.message ?? e}`));
    });
  }
  if (engine.transport.name !== "websocket") fail(`transport after upgrade is ${engine.transport.name}`);
}

// Connects, fails on connect_error, and (upgrade mode) waits for websocket.
async function connected(sock, { waitUpgrade = true } = {}) {
  const onError = (e) => fail(`connect_error: ${e?.message} ${show(e?.data)}`);
  sock.once("connect_error", onError);
  sock.connect();
  await sock.next("connect");
  sock.off("connect_error", onError);
  if (typeof sock.id !== "string" || !sock.id) fail(`socket.id after connect is ${show(sock.id)}`);
  if (waitUpgrade) await upgraded(sock);
  return sock;
}

async function expectConnectError(sock, message, data) {
  sock.connect();
  const [err] = await sock.next("connect_error");
  if (err?.message !== message) fail(`connect_error message: expected ${show(message)}, got ${show(err?.message)}`);
  if (data !== undefined) expectEqual("connect_error data", err.data, data);
  if (sock.connected) fail("socket is connected after connect_error");
}

async function main() {
  // a. connect to "/" with good auth; welcome carries our id and recovered=false.
  step = "a. connect";
  const main = client("/", { auth: { token: "good" } });
  await connected(main, { waitUpgrade: false });
  if (mode === "upgrade") {
    step = "a. upgrade to websocket";
    await upgraded(main);
  }
  step = "a. welcome";
  expectArgs("welcome args", main, "welcome", await main.next("welcome"), [{ id: main.id, recovered: false }]);

  // b. middleware rejection.
  step = "b. middleware rejection";
  {
    const bad = client("/", { auth: { token: "bad" }, forceNew: true });
    await expectConnectError(bad, "unauthorized", { reason: "bad token" });
    await sleep(QUIET_MS);
    if (bad.connected || bad.pending("connect").length) fail("rejected socket connected after all");
    bad.close();
  }

  // c. namespaces (multiplexed on the main connection).
  step = "c. namespace /custom";
  const custom = await connected(client("/custom"));
  expectArgs("welcome-custom args", custom, "welcome-custom", await custom.next("welcome-custom"), [{ id: custom.id }]);
  step = "c. dynamic namespace /dyn-42";
  const dyn = await connected(client("/dyn-42"));
  expectArgs("welcome-dyn args", dyn, "welcome-dyn", await dyn.next("welcome-dyn"), ["/dyn-42"]);
  step = "c. unknown namespace /nope";
  {
    const nope = client("/nope");
    await expectConnectError(nope, "Invalid namespace");
    nope.close();
  }
  step = "c. main socket still connected";
  if (!main.connected) fail("main socket disconnected after namespace steps");

  // d. echo with mixed args, binary included.
  step = "d. echo with mixed args";
  {
    const args = ["text é ✓", 42, { nested: [true, null] }, Buffer.from([1, 2, 3]), { file: new Uint8Array([4, 5]) }];
    main.emit("echo", ...args);
    const got = await main.next("echo");
    expectArgs("echo args", main, "echo", got, args);
    if (!Buffer.isBuffer(got[3]) || !Buffer.isBuffer(got[4]?.file)) fail(`binary did not come back as binary: ${show(got)}`);
  }

  // e. acks both ways.
  step = "e. emitWithAck";
  {
    const first = await main.timeout(WAIT_MS).emitWithAck("ack", 1, "two", new Uint8Array([9]));
    expectEqual("emitWithAck result (first ack arg)", first, 1);
  }
  step = "e. ack callback with all args";
  {
    const args = await new Promise((resolve) =>
      main.timeout(WAIT_MS).emit("ack", 1, "two", new Uint8Array([9]), (err, ...args) => {
        if (err) fail(`ack: ${err.message}`);
        resolve(args);
      }),
    );
    expectEqual("ack args", args, [1, "two", new Uint8Array([9])]);
  }
  step = "e. server-to-client ack (ask/question/answer)";
  {
    main.on("question", (q, cb) => {
      if (typeof cb !== "function") fail(`question arrived without ack callback: ${show(q)}`);
      cb({ a: q.q + 1 });
    });
    main.emit("ask");
    const question = await main.next("question");
    if (typeof question[question.length - 1] !== "function") fail(`"question" arrived without ack id: ${show(question)}`);
    expectArgs("question args", main, "question", question.slice(0, -1), [{ q: 42 }]);
    if (main.pending("answer-timeout").length) fail(`answer-timeout: ${show(main.pending("answer-timeout"))}`);
    expectArgs("answer args", main, "answer", await main.next("answer"), [{ a: 43 }]);
  }

  // f. rooms and broadcasts between two separate connections.
  step = "f. connect A and B";
  const A = await connected(client("/", { forceNew: true, auth: { token: "good" } }));
  const B = await connected(client("/", { forceNew: true, auth: { token: "good" } }));
  if (A.id === B.id) fail(`A and B share id ${A.id}`);
  step = "f. A joins room1";
  {
    const rooms = await A.timeout(WAIT_MS).emitWithAck("join", "room1");
    if (!Array.isArray(rooms) || !rooms.includes("room1") || !rooms.includes(A.id)) {
      fail(`join ack should list "room1" and ${A.id}, got ${show(rooms)}`);
    }
    expectEqual("join ack (sorted rooms)", rooms, [A.id, "room1"].sort());
  }
  step = "f. B joins room2";
  {
    const rooms = await B.timeout(WAIT_MS).emitWithAck("join", "room2");
    expectEqual("join ack (sorted rooms)", rooms, [B.id, "room2"].sort());
  }
  step = "f. to-room";
  A.emit("to-room", "room1", "hi");
  expectArgs("room-message args on A", A, "room-message", await A.next("room-message"), ["hi"]);
  await B.none("room-message");
  await main.none("room-message", 0);
  step = "f. to-room with binary";
  {
    const args = [Buffer.from([7, 8, 9]), { file: new Uint8Array([1, 0, 255]) }, "tail"];
    B.emit("to-room", "room1", ...args);
    const got = await A.next("room-message");
    expectArgs("binary room-message args on A", A, "room-message", got, args);
    if (!Buffer.isBuffer(got[0]) || !Buffer.isBuffer(got[1]?.file)) {
      fail(`room binary did not come as binary: ${show(got)}`);
    }
    await B.none("room-message");
  }
  step = "f. broadcast";
  B.emit("broadcast", "all");
  expectArgs("broadcast args on A", A, "broadcast", await A.next("broadcast"), ["all"]);
  expectArgs("broadcast args on main", main, "broadcast", await main.next("broadcast"), ["all"]);
  await B.none("broadcast");
  step = "f. broadcast-ack";
  {
    const n = await A.timeout(WAIT_MS).emitWithAck("broadcast-ack");
    if (typeof n !== "number" || n < 2) fail(`broadcast-ack should ack a number >= 2, got ${show(n)}`);
    // main, A and B are all on "/" and all answer.
    if (n !== 3) console.error(`note: broadcast-ack counted ${n} answers (3 sockets on "/")`);
  }

  // g. volatile.
  step = "g. volatile";
  A.emit("volatile", "v");
  expectArgs("volatile args on A", A, "volatile", await A.next("volatile"), ["v"], { volatile: true });

  // h. server-side disconnect, no reconnection.
  step = "h. server-side disconnect";
  {
    const s = await connected(client("/", { forceNew: true, auth: { token: "good" } }));
    await s.next("welcome");
    s.emit("disconnect-me");
    const [reason] = await s.next("disconnect");
    if (reason !== "io server disconnect") fail(`disconnect reason: expected "io server disconnect", got ${show(reason)}`);
    if (s.active) fail("socket.active is true after server-side disconnect");
    await sleep(QUIET_MS + 200);
    if (s.connected || s.pending("connect").length) fail("socket reconnected after server-side disconnect");
    s.close();
  }

  // i. reconnection + connection state recovery.
  step = "i. connect recovery socket";
  {
    const s = await connected(client("/", { forceNew: true, auth: { token: "good" } }));
    expectArgs("welcome args", s, "welcome", await s.next("welcome"), [{ id: s.id, recovered: false }]);
    const id = s.id;
    const pid = s._pid;
    step = "i. drop-me: tick";
    s.emit("drop-me");
    expectArgs("tick args", s, "tick", await s.next("tick"), [1]);
    step = "i. drop-me: disconnect";
    const [reason] = await s.next("disconnect");
    if (reason !== "transport close" && reason !== "transport error") {
      fail(`disconnect reason: expected "transport close" or "transport error", got ${show(reason)}`);
    }
    console.error(`mode=${mode} step i: disconnect reason "${reason}"`);
    if (s.log.indexOf("tick") > s.log.indexOf("disconnect")) {
      fail(`"tick" was delivered after "disconnect", so its offset was not known when reconnecting (events: ${s.log.join(", ")})`);
    }
    if (!s.active) fail("socket.active is false after transport close (would not reconnect)");
    step = "i. automatic reconnect";
    await s.next("connect", 5000);
    await upgraded(s);
    step = "i. recovered state";
    if (s.recovered !== true) {
      await sleep(QUIET_MS);
      fail(
        `socket.recovered is ${show(s.recovered)} after reconnect (id ${s.id === id ? "kept" : `changed ${id} -> ${s.id}`}, ` +
          `pid ${s._pid === pid ? "kept" : `changed ${pid} -> ${s._pid}`}, welcome after reconnect: ${show(s.pending("welcome"))})`,
      );
    }
    if (s.id !== id) fail(`id changed on recovery: ${id} -> ${s.id}`);
    step = "i. missed event replayed";
    expectArgs("missed args", s, "missed", await s.next("missed"), [2]);
    for (const w of s.pending("welcome")) expectArgs("welcome after recovery", s, "welcome", w, [{ id, recovered: true }]);
    if (s.pending("connect_error").length) fail(`connect_error during reconnect: ${show(s.pending("connect_error"))}`);
  }

  step = "close";
  for (const s of sockets) s.close();

  step = FINAL_STEP;
  if (missingOffsets.size) {
    fail(
      `${missingOffsets.size} event(s) arrived without the recovery offset although the server sent a pid ` +
        `(so the client takes any trailing string arg as its offset): ${[...missingOffsets.values()].join("; ")}`,
    );
  }
  console.log(parserName === "json" ? `ok ${mode}` : `ok ${mode} ${parserName}`);
  process.exit(0);
}

main().catch((err) => fail(err?.stack ?? String(err)));
