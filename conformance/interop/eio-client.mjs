// Interop check: drive an Engine.IO v4 server with the real engine.io-client.
//
// Usage:
//   npm ci                                   # once, in this folder
//   node eio-client.mjs <base-url> <mode>
//     base-url  e.g. http://127.0.0.1:3000  (engine path is the client default, /engine.io/)
//     mode      polling | websocket | upgrade
//
// The server under test must echo every message back unchanged (text as text,
// binary as binary), except the text message "close-me": on that it sends
// nothing back and closes the session from the server side.
//
// Steps: open + handshake check, (upgrade mode: wait for the upgrade to
// websocket), text echo, binary echo, 20 ordered echoes, server-side close.
// Prints "ok <mode> transport=<name>" and exits 0 on success; on any failure
// or after 15 s prints the mode and failing step to stderr and exits 1.

import { Socket } from "engine.io-client";

const MODES = {
  polling: { transports: ["polling"], upgrade: false },
  websocket: { transports: ["websocket"], upgrade: false },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
};

const [baseUrl, mode] = process.argv.slice(2);
if (!baseUrl || !MODES[mode]) {
  console.error("usage: node eio-client.mjs <base-url> <polling|websocket|upgrade>");
  process.exit(2);
}

let step = "connect";
function fail(why) {
  console.error(`FAIL mode=${mode} step="${step}": ${why}`);
  process.exit(1);
}
setTimeout(() => fail("overall timeout (15 s)"), 15_000).unref();

const socket = new Socket(baseUrl, { ...MODES[mode], path: "/engine.io/" });

// Incoming messages are queued; next() takes the oldest one, or waits for it.
const inbox = [];
let waiter = null;
socket.on("message", (data) => {
  if (waiter) {
    const w = waiter;
    waiter = null;
    w(data);
  } else {
    inbox.push(data);
  }
});
function next(ms = 5000) {
  if (inbox.length) return Promise.resolve(inbox.shift());
  return new Promise((resolve) => {
    const t = setTimeout(() => fail(`no message within ${ms} ms`), ms);
    waiter = (data) => {
      clearTimeout(t);
      resolve(data);
    };
  });
}

// Any close before we ask for one is a failure.
let expectClose = false;
let onClose = null;
socket.on("close", (reason, desc) => {
  if (!expectClose) fail(`unexpected close: ${reason} ${desc ? String(desc.message ?? desc) : ""}`);
  onClose(reason);
});
socket.on("error", (err) => fail(`socket error: ${err?.message ?? err}`));
socket.on("upgradeError", (err) => fail(`upgrade error: ${err?.message ?? err}`));

function once(event, ms) {
  return new Promise((resolve) => {
    const t = setTimeout(() => fail(`no '${event}' event within ${ms} ms`), ms);
    socket.once(event, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}

// Binary arrives as a Buffer (nodebuffer) or ArrayBuffer; strings are not binary.
function asBytes(data) {
  if (typeof data === "string") return null;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

async function main() {
  // The upgrade listener is registered up front so the event cannot be missed.
  const upgraded = mode === "upgrade" ? once("upgrade", 10_000) : null;

  step = "open";
  await once("open", 5000);

  step = "handshake";
  if (typeof socket.id !== "string" || socket.id.length !== 20) {
    fail(`socket.id should be a 20-char string, got ${JSON.stringify(socket.id)}`);
  }

  if (upgraded) {
    step = "upgrade to websocket";
    await upgraded;
    if (socket.transport.name !== "websocket") {
      fail(`transport after upgrade is ${socket.transport.name}`);
    }
  }

  step = "text echo";
  const text = "hello é ✓";
  socket.send(text);
  const gotText = await next();
  if (gotText !== text) fail(`expected ${JSON.stringify(text)}, got ${JSON.stringify(gotText)}`);

  step = "binary echo";
  const bytes = new Uint8Array([1, 2, 3, 4, 255]);
  socket.send(bytes);
  const gotBin = await next();
  const got = asBytes(gotBin);
  if (!got) fail(`expected binary, got ${typeof gotBin} ${JSON.stringify(gotBin)}`);
  if (got.length !== bytes.length || got.some((b, i) => b !== bytes[i])) {
    fail(`expected bytes [${bytes}], got [${got}]`);
  }

  step = "20 ordered echoes";
  for (let i = 0; i < 20; i++) socket.send(`m${i}`);
  for (let i = 0; i < 20; i++) {
    const m = await next();
    if (m !== `m${i}`) fail(`echo #${i}: expected "m${i}", got ${JSON.stringify(m)}`);
  }

  step = "server-side close";
  const closed = new Promise((resolve) => (onClose = resolve));
  const t = setTimeout(() => fail("no 'close' event within 5000 ms"), 5000);
  const finalTransport = socket.transport.name;
  expectClose = true;
  socket.send("close-me");
  const reason = await closed;
  clearTimeout(t);
  if (inbox.length) fail(`server echoed after close-me: ${JSON.stringify(inbox)}`);
  console.error(`close reason: ${reason}`);
  if (reason !== "transport close" && reason !== "forced close") {
    fail(`close reason should be "transport close" or "forced close", got "${reason}"`);
  }

  console.log(`ok ${mode} transport=${finalTransport}`);
  process.exit(0);
}

main().catch((err) => fail(err?.stack ?? String(err)));
