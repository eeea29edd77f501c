// The `ws` client with permessage-deflate against the sio-interop server
// (which turns the extension on): Socket.IO spoken by hand over one raw
// WebSocket per client, so the bytes on the wire can be counted.
//   node deflate-client.mjs http://127.0.0.1:PORT
// Checks: the extension is negotiated (no context takeover on either side,
// as the server's default asks); a large repetitive event sent by the
// client (compressed by `ws`) is inflated by the server and echoed back
// compressed; a large broadcast reaches the other client compressed; a
// message below the threshold goes uncompressed. Prints "ok deflate ..."
// with the byte counts, exits 1 on failure.
import WebSocket from "ws";

const base = process.argv[2];
const url = base.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket";
const timer = setTimeout(() => fail("timed out"), 30000);

function fail(why) {
  console.error("FAIL " + why);
  process.exit(1);
}

// A Socket.IO client over one WebSocket: answers pings, collects events.
function connect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: { threshold: 1024 } });
    const client = { ws, events: [], waiters: [], ext: "" };
    ws.on("upgrade", (res) => (client.ext = res.headers["sec-websocket-extensions"] || ""));
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      if (text[0] === "0") ws.send("40");
      else if (text === "2") ws.send("3");
      else if (text.startsWith("40")) resolve(client);
      else if (text.startsWith("42")) {
        client.events.push(JSON.parse(text.slice(2)));
        client.waiters.splice(0).forEach((w) => w());
      }
    });
    ws.on("error", reject);
    ws.on("close", (code) => fail("closed early: " + code));
  });
}

// The next event named `name`, and the bytes read from the socket meanwhile.
async function next(client, name) {
  for (;;) {
    const i = client.events.findIndex((e) => e[0] === name);
    if (i >= 0) return client.events.splice(i, 1)[0];
    await new Promise((r) => client.waiters.push(r));
  }
}

const read = (c) => c.ws._socket.bytesRead;
const written = (c) => c.ws._socket.bytesWritten;

const a = await connect();
const b = await connect();
const ext = a.ext;
if (!ext.startsWith("permessage-deflate")) fail("not negotiated: '" + ext + "'");
if (!ext.includes("server_no_context_takeover") || !ext.includes("client_no_context_takeover")) {
  fail("expected no context takeover: " + ext);
}

const big = "the quick brown fox jumps over the lazy dog ".repeat(5000); // 220 KB
// Client to server, and back: both directions compressed.
let [r0, w0] = [read(a), written(a)];
a.ws.send(`42["echo",${JSON.stringify(big)}]`);
const echoed = await next(a, "echo");
if (echoed[1] !== big) fail("echo differs");
const up = written(a) - w0;
const down = read(a) - r0;
if (up > big.length / 20) fail(`client's frame not compressed: ${up} bytes`);
if (down > big.length / 20) fail(`server's echo not compressed: ${down} bytes`);

// A broadcast from a reaches b compressed.
r0 = read(b);
a.ws.send(`42["broadcast",${JSON.stringify(big)}]`);
const got = await next(b, "broadcast");
if (got[1] !== big) fail("broadcast differs");
const bcast = read(b) - r0;
if (bcast > big.length / 20) fail(`broadcast not compressed: ${bcast} bytes`);

// Below the threshold: as it is.
r0 = read(a);
a.ws.send(`42["echo","${"z".repeat(200)}"]`);
await next(a, "echo");
const small = read(a) - r0;
if (small < 200) fail(`a small message was compressed: ${small} bytes`);

console.log(`ok deflate ext="${ext}" up=${up} down=${down} broadcast=${bcast} small=${small} of ${big.length}`);
clearTimeout(timer);
a.ws.removeAllListeners("close");
b.ws.removeAllListeners("close");
a.ws.close();
b.ws.close();
