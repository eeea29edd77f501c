// The official Admin UI (its built files from @socket.io/admin-ui) in
// headless Chromium against a running socketio-server.
// Env: SERVER_URL (http://127.0.0.1:PORT), ADMIN_USER, ADMIN_PASSWORD,
// SERVER_ID (what the Servers view must show),
// UI_PORT (where the UI is served), OUT_DIR (screenshots), CHROMIUM
// (browser path, default `chromium`).
// Prints one JSON line {ok, steps, error?} and exits 0 only when ok.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, "node_modules/@socket.io/admin-ui/ui/dist");
const { SERVER_URL, ADMIN_USER, ADMIN_PASSWORD } = process.env;
const out = process.env.OUT_DIR || path.join(here, "shots");
fs.mkdirSync(out, { recursive: true });
const steps = [];
const step = (s) => steps.push(s);

const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };
function serveUi() {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = path.normalize(path.join(dist, rel));
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      file = path.join(dist, "index.html");
    }
    res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  const port = Number(process.env.UI_PORT || 0);
  return new Promise((ok) => server.listen(port, "127.0.0.1", () => ok(server)));
}

// playwright wants a path, not a command name: look the name up on PATH.
function browserPath() {
  const name = process.env.CHROMIUM || "chromium";
  if (name.includes("/")) return name;
  for (const dir of (process.env.PATH || "").split(":")) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  throw new Error(`${name} not found on PATH (run scripts/browser.sh)`);
}

const until = async (what, f, ms = 30000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

let browser, ui, client, page;
try {
  ui = await serveUi();
  const uiUrl = `http://127.0.0.1:${ui.address().port}`;
  client = io(SERVER_URL, { transports: ["websocket"], reconnection: false });
  let disconnected = null;
  client.on("disconnect", (reason) => (disconnected = reason));
  await until("the client to connect", () => client.connected);
  step(`client ${client.id} connected`);

  browser = await chromium.launch({
    executablePath: browserPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu"],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("console", (m) => m.type() === "error" && step(`console: ${m.text()}`));
  await page.goto(uiUrl + "/");
  await page.getByLabel("Server URL").fill(SERVER_URL);
  await page.getByLabel("Username").fill(ADMIN_USER);
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.screenshot({ path: path.join(out, "admin-login.png") });
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByLabel("Server URL").waitFor({ state: "hidden", timeout: 30000 });
  step("logged in");

  await page.goto(uiUrl + "/#/sockets/");
  await page.getByText(client.id).first().waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(out, "admin-sockets.png") });
  step("socket list shows the client");

  client.emit("join-room", "lobby");
  await page.goto(uiUrl + "/#/rooms/");
  await page.getByText("lobby").first().waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(out, "admin-rooms.png") });
  step("rooms list shows the client's room");

  await page.goto(uiUrl + "/#/servers/");
  await page.getByText(process.env.SERVER_ID || "", { exact: false }).first().waitFor({ timeout: 30000 });
  await until("a server stats report", async () => (await page.locator("tbody tr").count()) > 0);
  await page.screenshot({ path: path.join(out, "admin-servers.png") });
  step("server stats shown");

  // The socket's page: join a room through the UI's form (room_joined
  // comes back and the room is listed).
  await page.goto(uiUrl + `/#/n/${encodeURIComponent("/")}/sockets/${client.id}`);
  await page.getByLabel("Join a room").fill("vip");
  await page.locator("button:has(i.mdi-tag-plus-outline)").click();
  await page.getByText("vip").first().waitFor({ timeout: 30000 });
  step("the UI made the socket join a room");

  // The 0.5 UI has no emit form (a TODO in SocketRooms.vue): its `emit`
  // command goes over the admin namespace with the UI's own session id.
  const sessionId = await page.evaluate(() => localStorage.getItem("session_id"));
  let hello = null;
  client.on("hello", (...args) => (hello = args));
  const admin = io(SERVER_URL + "/admin", { transports: ["websocket"], auth: { sessionId }, reconnection: false });
  await until("the session id to log in", () => admin.connected);
  admin.emit("emit", "/", client.id, "hello", "from the admin UI");
  await until("the emitted event", () => hello !== null);
  admin.close();
  step(`emit reached the client: ${JSON.stringify(hello)}`);

  const logout = page.locator("button:has(i.mdi-logout)").last();
  await logout.waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(out, "admin-socket.png") });
  await logout.click();
  await until("the client to be disconnected", () => disconnected !== null);
  step(`client disconnected by the UI: ${disconnected}`);
  console.log(JSON.stringify({ ok: disconnected === "io server disconnect", steps }));
  process.exitCode = disconnected === "io server disconnect" ? 0 : 1;
} catch (e) {
  await page?.screenshot({ path: path.join(out, "admin-failure.png") }).catch(() => {});
  console.log(JSON.stringify({ ok: false, steps, error: String(e && e.stack || e) }));
  process.exitCode = 1;
} finally {
  client?.close();
  await browser?.close();
  ui?.close();
}
