// The dashboard in headless Chromium (Debian's `chromium`, driven by
// playwright-core): the page loads without a key and without console or
// CSP errors, refuses a wrong key, signs in with the admin key, shows the
// numbers the server's JSON reports, updates when a socket.io-client
// connects, and its test actions (send to a user, broadcast, emit the
// online-user list) reach that client. A screenshot is written to SHOT.
// With LOGIN (`username:password` of [admin_ui]) the page signs in with the
// username and password form instead (a wrong password first), and signs
// out at the end (the token is revoked).
//
// Usage: node dashboard.mjs BASE_URL ADMIN_KEY USER_TOKEN USER_ID SHOT [LOGIN]
// (run by server/tests/dashboard.rs). Prints progress lines; exits 0 when
// every check passed, 1 with the reason otherwise. Bounded: every wait has
// a timeout and the whole run stops after 120 s.
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";

const [base, adminKey, userToken, userId, shot, login] = process.argv.slice(2);
if (!shot) {
  console.error("usage: node dashboard.mjs BASE_URL ADMIN_KEY USER_TOKEN USER_ID SHOT");
  process.exit(2);
}
const WAIT = 30_000;
const log = (m) => console.log("dashboard.mjs: " + m);
setTimeout(() => {
  console.error("dashboard.mjs: gave up after 120 s");
  process.exit(1);
}, 120_000).unref();

// The browser: CHROMIUM, else `chromium` found on PATH.
function browserPath() {
  const name = process.env.CHROMIUM || "chromium";
  if (name.includes("/")) return name;
  for (const dir of (process.env.PATH || "").split(":")) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  throw new Error("no chromium on PATH (run scripts/browser.sh, or set CHROMIUM)");
}

async function overview() {
  const r = await fetch(base + "/api/dashboard/overview", { headers: { "X-API-Key": adminKey } });
  if (!r.ok) throw new Error("overview answered " + r.status);
  return r.json();
}

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

// Waits until the element `sel`'s text is `want` (a string or a predicate).
async function textIs(page, sel, want, what) {
  const ok = typeof want === "function" ? want : (t) => t === want;
  const deadline = Date.now() + WAIT;
  let last = null;
  while (Date.now() < deadline) {
    last = (await page.textContent(sel))?.trim();
    if (ok(last)) return last;
    await page.waitForTimeout(200);
  }
  throw new Error(`${what}: ${sel} shows ${JSON.stringify(last)}`);
}

// The next `event` the client receives, within WAIT.
function nextEvent(socket, event) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no " + event + " reached the client")), WAIT);
    socket.once(event, (data) => {
      clearTimeout(t);
      resolve(data);
    });
  });
}

// The refused request is the one error the console may show.
function dropRefusal(problems, status) {
  const refused = problems.findIndex((p) => p.includes("status of " + status));
  if (refused >= 0) problems.splice(refused, 1);
}

// A wrong key is refused, the admin key signs in.
async function signInWithKey(page, problems) {
  await page.fill("#key", "not-the-key");
  await page.click("#login button[type=submit]");
  await textIs(page, "#login-error", (t) => t.length > 0, "a wrong key is refused");
  dropRefusal(problems, 401);
  check(await page.isHidden("#board"), "a wrong key shows no data");
  log("wrong key refused: " + (await page.textContent("#login-error")));

  await page.fill("#key", adminKey);
  await page.click("#login button[type=submit]");
  await page.waitForSelector("#board", { state: "visible", timeout: WAIT });
  log("signed in");
}

// The username and password tab: a wrong password is refused, the right
// one signs in with a bearer token kept in sessionStorage.
async function signInWithPassword(page, problems, login) {
  const [username, password] = [login.slice(0, login.indexOf(":")), login.slice(login.indexOf(":") + 1)];
  const tab = "#login-methods button[data-method=adminUi]";
  await page.waitForSelector(tab, { state: "visible", timeout: WAIT });
  await page.click(tab);
  check(await page.isVisible("#username"), "the username field is shown");
  check(await page.isHidden("#key"), "the key field is hidden");
  await page.fill("#username", username);
  await page.fill("#password", password + "-wrong");
  await page.click("#login button[type=submit]");
  await textIs(page, "#login-error", (t) => t.includes("Invalid username or password"), "a wrong password is refused");
  dropRefusal(problems, 401);
  check(await page.isHidden("#board"), "a wrong password shows no data");
  log("wrong password refused");

  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.click("#login button[type=submit]");
  await page.waitForSelector("#board", { state: "visible", timeout: WAIT });
  const stored = await page.evaluate(() => Object.values(sessionStorage).join(" "));
  check(stored.includes("Bearer "), "a bearer token in sessionStorage");
  check(!stored.includes(password), "no password in sessionStorage");
  log("signed in with the username and password");
}

async function run(browser) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push("console: " + m.text());
  });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));

  const res = await page.goto(base + "/dashboard", { waitUntil: "load" });
  check(res.status() === 200, "GET /dashboard answers 200");
  check(await page.isVisible("#login"), "the sign-in form is shown");
  check(await page.isHidden("#board"), "no data before signing in");
  log("page loaded");

  if (login) {
    await signInWithPassword(page, problems, login);
  } else {
    await signInWithKey(page, problems);
  }

  // The numbers the server reports.
  const before = await overview();
  await textIs(page, "#stat-sockets", String(before.connections.sockets), "sockets as the JSON says");
  await textIs(page, "#stat-engine", String(before.connections.engine), "connections as the JSON says");
  await textIs(page, "#stat-cluster", "single node", "no adapter: single node");
  log(`shows ${before.connections.sockets} sockets, as /api/dashboard/overview says`);

  // A client connects: the page follows without a reload.
  const client = io(base, { transports: ["websocket"], auth: { token: userToken }, reconnection: false });
  await new Promise((resolve, reject) => {
    client.once("connect", resolve);
    client.once("connect_error", reject);
  });
  client.emit("join-room", "browser-room");
  const want = String(before.connections.sockets + 1);
  await textIs(page, "#stat-sockets", want, "the new socket counted");
  await textIs(page, "#stat-websocket", (t) => Number(t) >= 1, "the WebSocket connection counted");
  await textIs(page, "#rooms", (t) => t.includes("browser-room"), "the room listed");
  await textIs(page, "#events", (t) => t.includes(client.id), "the connect in the event log");
  const after = await overview();
  check(after.connections.sockets === before.connections.sockets + 1, "the JSON agrees");
  log("updated when the client connected: " + want + " sockets");

  // Test action: send to the user.
  await page.selectOption("#test-action", "sendToUser");
  await page.fill("#test-user", userId);
  await page.fill("#test-message", "hello from the dashboard test");
  let got = nextEvent(client, "testMessage");
  await page.click("#test-send");
  let data = await got;
  check(data.message === "hello from the dashboard test", "sendToUser's message: " + JSON.stringify(data));
  await textIs(page, "#test-result", (t) => t.startsWith("Sent testMessage to 1 socket"), "the action's result");
  log("sendToUser reached the client");

  // Test action: broadcast.
  await page.selectOption("#test-action", "broadcast");
  await page.fill("#test-message", "broadcast from the dashboard test");
  got = nextEvent(client, "testMessage");
  await page.click("#test-send");
  data = await got;
  check(data.message === "broadcast from the dashboard test", "broadcast's message");
  await textIs(page, "#events", (t) => t.includes("testMessage"), "the emit in the event log");
  log("broadcast reached the client");

  // Test action: emit the online-user list (the signed-in user is on it).
  await page.selectOption("#test-action", "emitOnlineUsers");
  got = nextEvent(client, "getOnlineUsers");
  await page.click("#test-send");
  data = await got;
  check(Array.isArray(data) && data.includes(userId), "getOnlineUsers lists the user: " + JSON.stringify(data));
  log("emitOnlineUsers reached the client");

  // The plots have been drawn (some pixels in a series colour).
  await page.waitForTimeout(2500);
  const drawn = await page.evaluate(() => {
    const c = document.getElementById("plot-connections");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 1] > 150 && d[i] < 120) n++;
    return n;
  });
  check(drawn > 50, "the connections plot shows a line (" + drawn + " pixels)");

  fs.mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  log("screenshot " + shot);
  client.close();
  if (login) {
    const token = await page.evaluate(() => JSON.parse(Object.values(sessionStorage)[0]).Authorization);
    await page.click("#logout");
    await page.waitForSelector("#login-view", { state: "visible", timeout: WAIT });
    // The sign-out revokes the token on the server.
    const deadline = Date.now() + WAIT;
    let status = 0;
    while (Date.now() < deadline) {
      const r = await fetch(base + "/api/dashboard/overview", { headers: { Authorization: token } });
      status = r.status;
      if (status === 401) break;
      await new Promise((ok) => setTimeout(ok, 200));
    }
    check(status === 401, "the token is revoked after signing out (got " + status + ")");
    log("signed out: the token is revoked");
  }
  check(problems.length === 0, "no console or CSP errors: " + problems.join("; "));
}

const browser = await chromium.launch({
  executablePath: browserPath(),
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  await run(browser);
  log("ok");
} catch (e) {
  console.error("dashboard.mjs: " + (e && e.stack ? e.stack : e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
process.exit(process.exitCode || 0);
