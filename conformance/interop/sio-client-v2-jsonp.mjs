// Interop check: socket.io-client 2.5 (npm alias "socket.io-client-v2")
// with `forceJSONP: true` in headless Chromium (Debian's `chromium`, or
// CHROMIUM; driven by playwright-core), against `conformance sio-interop`
// (which allows EIO=3 and JSONP).
//
// Usage:
//   npm ci                                   # once, in this folder
//   node sio-client-v2-jsonp.mjs <base-url>
//
// Steps: the client's bundle is put in a blank page, which connects over
// JSONP polling only (script tags for GETs, a hidden form for POSTs);
// every Engine.IO request must carry `j=` and every GET be answered as
// text/javascript; a string with newlines, a literal "\n", "</script>",
// U+2028 / U+2029 and non-ASCII, and a binary, are echoed back equal.
// Prints "ok v2 jsonp" and exits 0 on success; on failure prints
// `FAIL v2 jsonp: <detail>` to stderr and exits 1.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const [baseUrl] = process.argv.slice(2);
if (!baseUrl) {
  console.error("usage: node sio-client-v2-jsonp.mjs <base-url>");
  process.exit(2);
}
const base = baseUrl.replace(/\/+$/, "");
function fail(why) {
  console.error(`FAIL v2 jsonp: ${why}`);
  process.exit(1);
}
setTimeout(() => fail("overall timeout (60 s)"), 60_000).unref();

function browserPath() {
  const name = process.env.CHROMIUM || "chromium";
  if (name.includes("/")) return name;
  for (const dir of (process.env.PATH || "").split(":")) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  fail("no chromium on PATH (run scripts/browser.sh, or set CHROMIUM)");
}

const require = createRequire(import.meta.url);
const bundle = path.join(path.dirname(require.resolve("socket.io-client-v2")), "../dist/socket.io.js");
const browser = await chromium.launch({ executablePath: browserPath(), args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  const seen = [];
  page.on("response", (r) => {
    if (r.url().includes("/socket.io/")) {
      seen.push({ method: r.request().method(), url: r.url(), status: r.status(), type: r.headers()["content-type"] || "" });
    }
  });
  await page.setContent("<html><body></body></html>");
  await page.addScriptTag({ path: bundle });
  const text = "line1\nline2 \\n </script> \u2028 \u2029 é😀";
  const out = await page.evaluate(
    ([base, text]) =>
      new Promise((resolve) => {
        const t = setTimeout(() => resolve({ error: "no echo within 15 s" }), 15000);
        const s = io(base, { forceJSONP: true, transports: ["polling"], upgrade: false });
        const got = [];
        s.on("connect_error", (e) => resolve({ error: "connect_error " + e }));
        s.on("connect", () => {
          s.emit("echo", text);
          s.emit("echo", new Uint8Array([1, 2, 255]).buffer);
        });
        s.on("echo", (d) => {
          got.push(d instanceof ArrayBuffer ? Array.from(new Uint8Array(d)) : d);
          if (got.length === 2) {
            clearTimeout(t);
            resolve({ got, jsonp: s.io.engine.transport.constructor.name, name: s.io.engine.transport.name });
            s.close();
          }
        });
      }),
    [base, text],
  );
  if (out.error) fail(out.error);
  if (out.got[0] !== text) fail(`string echo: expected ${JSON.stringify(text)}, got ${JSON.stringify(out.got[0])}`);
  if (JSON.stringify(out.got[1]) !== "[1,2,255]") fail(`binary echo: got ${JSON.stringify(out.got[1])}`);
  const gets = seen.filter((r) => r.method === "GET");
  const posts = seen.filter((r) => r.method === "POST");
  if (!seen.every((r) => /[?&]j=\d+/.test(r.url))) fail(`a request without j: ${JSON.stringify(seen)}`);
  if (!gets.length || !gets.every((r) => r.status === 200 && r.type.startsWith("text/javascript")))
    fail(`GETs not answered as scripts: ${JSON.stringify(gets)}`);
  if (!posts.length || !posts.every((r) => r.status === 200)) fail(`POSTs: ${JSON.stringify(posts)}`);
  console.log("ok v2 jsonp");
} finally {
  await browser.close();
}
