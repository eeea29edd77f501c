// The socketio-server dashboard: signs in, polls the admin routes under
// /api/dashboard/ every POLL_MS and draws what they report. Plain
// JavaScript, no libraries; every value from the server is written with
// textContent (event names and room names come from clients).
"use strict";

(function () {
  const POLL_MS = 2000;
  const STORE = "socketio-dashboard-login";
  const MAX_LOG_ROWS = 500;

  // The ways to sign in. Each turns the form into the headers every request
  // carries; `available(info)` says whether the server offers it
  // (`info` is GET /api/dashboard/login's answer, null when unreadable).
  const LOGIN_METHODS = [
    {
      id: "apiKey",
      label: "API key",
      available: () => true,
      headers(form) {
        const key = form.elements.key.value.trim();
        return key ? Promise.resolve({ "X-API-Key": key }) : Promise.reject(new Error("Enter an admin API key"));
      },
    },
    {
      // The [admin_ui] username and password, exchanged for a short-lived
      // token sent as a bearer token; when it expires the server answers
      // 401 and the page goes back to this form.
      id: "adminUi",
      label: "Admin UI login",
      available: (info) => Boolean(info && info.available),
      async headers(form) {
        const username = form.elements.username.value;
        const password = form.elements.password.value;
        if (!username || !password) throw new Error("Enter the username and the password");
        const r = await api("/api/dashboard/login", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ username, password }),
        });
        return { Authorization: "Bearer " + r.token };
      },
    },
  ];

  const $ = (id) => document.getElementById(id);
  let auth = null; // headers of the signed-in session
  let methods = LOGIN_METHODS.slice(0, 1);
  let method = methods[0];
  let timer = null;
  let nextSeq = 0;
  let logCapacity = MAX_LOG_ROWS;

  // ---- requests -----------------------------------------------------------

  class ApiFailure extends Error {
    constructor(status, body) {
      super((body && body.error) || "HTTP " + status);
      this.status = status;
      this.code = body && body.code;
      this.retryAfter = body && body.retryAfter;
    }
  }

  async function api(path, init) {
    const opts = Object.assign({ cache: "no-store", credentials: "omit" }, init || {});
    opts.headers = Object.assign({}, auth, opts.headers || {});
    const res = await fetch(path, opts);
    let body = null;
    try {
      body = await res.json();
    } catch (_) {
      body = null;
    }
    if (!res.ok) {
      throw new ApiFailure(res.status, body);
    }
    return body;
  }

  function explain(err) {
    if (err.status === 401) return "Not accepted: " + err.message;
    if (err.status === 403) return err.message && err.message !== "HTTP 403" ? err.message : "This key is not an admin key (api.admin_keys)";
    if (err.status === 429) return "Rate limited: try again shortly";
    if (err.status === 404) return err.message;
    return err.message || String(err);
  }

  // ---- sign in / out ------------------------------------------------------

  function buildMethods(info) {
    methods = LOGIN_METHODS.filter((m) => m.available(info));
    const tabs = $("login-methods");
    tabs.textContent = "";
    tabs.hidden = methods.length < 2;
    for (const m of methods) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "tab";
      b.textContent = m.label;
      b.setAttribute("role", "tab");
      b.addEventListener("click", () => selectMethod(m));
      b.dataset.method = m.id;
      tabs.appendChild(b);
    }
    selectMethod(methods.includes(method) ? method : methods[0]);
  }

  // Which methods the server offers (the API key always).
  async function loginInfo() {
    try {
      const res = await fetch("/api/dashboard/login", { cache: "no-store", credentials: "omit" });
      return res.ok ? await res.json() : null;
    } catch (_) {
      return null;
    }
  }

  function selectMethod(m) {
    method = m;
    for (const b of $("login-methods").children) {
      b.setAttribute("aria-selected", String(b.dataset.method === m.id));
    }
    for (const el of document.querySelectorAll(".method")) {
      el.hidden = el.dataset.method !== m.id;
    }
  }

  async function signIn(headers) {
    auth = headers;
    const first = await api("/api/dashboard/overview");
    sessionStorage.setItem(STORE, JSON.stringify(headers));
    $("login-view").hidden = true;
    $("board").hidden = false;
    $("logout").hidden = false;
    nextSeq = 0;
    $("events").textContent = "";
    renderOverview(first);
    await loadAll();
    timer = setTimeout(poll, POLL_MS);
  }

  // `revoke`: the user signed out, so a login token is revoked on the
  // server too (a key has nothing to revoke; an expired token neither).
  function signOut(message, revoke) {
    if (revoke && auth && auth.Authorization) {
      fetch("/api/dashboard/logout", { method: "POST", headers: auth, cache: "no-store", credentials: "omit" }).catch(() => {});
    }
    auth = null;
    sessionStorage.removeItem(STORE);
    clearTimeout(timer);
    timer = null;
    $("board").hidden = true;
    $("logout").hidden = true;
    $("login-view").hidden = false;
    $("login-error").textContent = message || "";
    setStatus("signed out", "pill-off");
    $("updated").textContent = "";
  }

  function setStatus(text, cls) {
    const s = $("status");
    s.textContent = text;
    s.className = "pill " + cls;
  }

  // ---- polling ------------------------------------------------------------

  // At sign-in the whole history and log are read once; after that one
  // request per POLL_MS (the overview, with the samples and log entries
  // newer than those already shown) keeps the page current, so the page
  // spends about 30 of the key's api_requests_per_minute.
  let samples = [];
  let historyCapacity = 300;

  async function loadAll() {
    const [history, events] = await Promise.all([
      api("/api/dashboard/history"),
      api("/api/dashboard/events?limit=" + MAX_LOG_ROWS),
    ]);
    samples = history.samples;
    historyCapacity = history.capacity;
    renderHistory();
    renderEvents(events.events, events.nextSeq);
  }

  let inFlight = false;

  async function poll() {
    if (inFlight || !auth) return;
    clearTimeout(timer);
    inFlight = true;
    let wait = POLL_MS;
    try {
      const since = samples.length ? samples[samples.length - 1].timestamp : 0;
      const o = await api("/api/dashboard/overview?since=" + since + "&after=" + nextSeq);
      renderOverview(o);
      samples = samples.concat(o.samples);
      if (samples.length > historyCapacity) samples = samples.slice(samples.length - historyCapacity);
      renderHistory();
      renderEvents(o.logEntries, nextSeq);
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    } catch (err) {
      if (err.status === 401 || err.status === 403) {
        signOut(explain(err));
        return;
      }
      if (err.status === 429 && err.retryAfter) wait = Math.max(POLL_MS, err.retryAfter * 1000);
      setStatus(err.status === 429 ? "rate limited" : "unreachable", "pill-warn");
      $("updated").textContent = explain(err);
    } finally {
      inFlight = false;
    }
    if (auth) timer = setTimeout(poll, wait);
  }

  // ---- rendering ----------------------------------------------------------

  const fmt = new Intl.NumberFormat();

  function text(id, value) {
    $(id).textContent = value;
  }

  function row(cells, classes) {
    const tr = document.createElement("tr");
    cells.forEach((c, i) => {
      const td = document.createElement("td");
      if (c instanceof Node) td.appendChild(c);
      else td.textContent = c;
      if (classes && classes[i]) td.className = classes[i];
      if (typeof c === "string") td.title = c;
      tr.appendChild(td);
    });
    return tr;
  }

  function fill(id, rows, width, emptyText) {
    const body = $(id);
    body.textContent = "";
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = width;
      td.className = "empty";
      td.textContent = emptyText;
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    for (const r of rows) body.appendChild(r);
  }

  function renderOverview(o) {
    setStatus(o.status === "ok" ? "live" : o.status, o.status === "ok" ? "pill-ok" : "pill-warn");
    const c = o.connections;
    text("stat-engine", fmt.format(c.engine));
    text("stat-sockets", fmt.format(c.sockets));
    text("stat-websocket", fmt.format(c.websocket));
    text("stat-polling", fmt.format(c.polling));
    text("stat-rooms", fmt.format(o.roomsTotal));
    text("stat-in", o.events.inPerSecond.toFixed(1));
    text("stat-out", o.events.outPerSecond.toFixed(1));
    text("stat-in-total", fmt.format(o.events.received) + " received");
    text("stat-out-total", fmt.format(o.events.sent) + " sent");
    const r = o.rejections;
    text("stat-limited", fmt.format(r.rateLimitedTotal));
    text("stat-auth", fmt.format(r.authTotal));
    text("stat-ip", fmt.format(r.ipRefused) + " refused by IP lists");
    renderCluster(o.cluster);

    fill("namespaces", o.namespaces.map((n) => row([n.name, fmt.format(n.sockets)], [null, "num"])), 2, "no namespaces");
    fill(
      "rooms",
      o.rooms.map((x) => row([x.namespace, x.name, fmt.format(x.members)], [null, null, "num"])),
      3,
      "no rooms"
    );
    text("rooms-note", o.roomsTotal > o.rooms.length ? "(busiest " + o.rooms.length + " of " + o.roomsTotal + ")" : "");

    const rej = [];
    for (const [k, v] of Object.entries(r.rateLimited)) rej.push(row(["rate limit", k, fmt.format(v)], [null, null, "num"]));
    for (const [k, v] of Object.entries(r.auth)) rej.push(row(["authentication", k, fmt.format(v)], [null, null, "num"]));
    if (r.ipRefused > 0) rej.push(row(["IP lists", "refused", fmt.format(r.ipRefused)], [null, null, "num"]));
    fill("rejections", rej, 3, "none so far");
    logCapacity = Math.min(o.eventLog.capacity, MAX_LOG_ROWS);
    text("log-note", "(newest first, last " + fmt.format(o.eventLog.capacity) + " kept by the server)");
  }

  function renderCluster(cl) {
    const dl = $("cluster");
    dl.textContent = "";
    const fact = (k, v) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      dl.appendChild(dt);
      dl.appendChild(dd);
    };
    $("nodes-box").hidden = !Array.isArray(cl.nodeList);
    if (cl.mode === "single") {
      text("stat-cluster", "single node");
      text("stat-cluster-sub", "no adapter");
      fact("Mode", "single node (no cluster adapter)");
      return;
    }
    text("stat-cluster", cl.nodes === null ? "?" : fmt.format(cl.nodes) + (cl.nodes === 1 ? " node" : " nodes"));
    text("stat-cluster-sub", cl.mode + (cl.connected === false ? " (disconnected)" : ""));
    fact("Adapter", cl.mode);
    fact("Nodes", cl.nodes === null ? "unknown: " + (cl.nodesError || "") : String(cl.nodes));
    if (cl.serverId) fact("This node", cl.serverId);
    if (cl.connected !== undefined) fact("Connection", cl.connected ? "connected" : "disconnected");
    if (cl.notAnswering > 0) fact("Not answering", fmt.format(cl.notAnswering) + " of the counted nodes");
    renderNodes(cl.nodeList || []);
  }

  function uptime(secs) {
    if (typeof secs !== "number") return "?";
    const d = Math.floor(secs / 86400), h = Math.floor(secs / 3600) % 24, m = Math.floor(secs / 60) % 60;
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + m + "m";
    return m + "m " + (secs % 60) + "s";
  }

  function renderNodes(list) {
    const rows = list.map((n) => {
      const sockets = (n.namespaces || []).map((x) => x.name + " " + fmt.format(x.sockets)).join(", ");
      const last = n.self ? "this node" : (n.answering ? "" : "not answering, last ") +
        new Date(n.lastAnswered).toLocaleTimeString();
      const tr = row([String(n.id), String(n.hostname), String(n.pid), uptime(n.uptime),
        typeof n.connections === "number" ? fmt.format(n.connections) : "?", sockets, last],
        [null, null, "num", "num", "num", null, null]);
      tr.className = n.answering ? "node" : "node silent";
      return tr;
    });
    fill("nodes", rows, 7, "no node answered");
  }

  function renderHistory() {
    const s = samples;
    drawPlot($("plot-events"), s, [
      { key: "inPerSecond", label: "in / s", color: "#4f9cff" },
      { key: "outPerSecond", label: "out / s", color: "#f5a524" },
    ]);
    drawPlot($("plot-connections"), s, [
      { key: "sockets", label: "sockets", color: "#3fd18a" },
      { key: "websocket", label: "websocket", color: "#4f9cff" },
      { key: "polling", label: "polling", color: "#f5a524" },
    ]);
  }

  function kindBadge(kind) {
    const span = document.createElement("span");
    span.className = "kind kind-" + kind;
    span.textContent = kind;
    return span;
  }

  // Adds `entries` (oldest first) on top of the log table; without entries
  // `next` (the number the server gives its next entry) is where to go on.
  function renderEvents(entries, next) {
    const body = $("events");
    const empty = body.querySelector("td.empty");
    if (empty) body.textContent = "";
    for (const x of entries) {
      const when = new Date(x.timestamp).toLocaleTimeString();
      const who = x.socketId || (x.recipients !== undefined ? "→ " + x.recipients + " sockets" : "");
      body.insertBefore(
        row([when, kindBadge(x.kind), x.event, x.namespace, who, fmt.format(x.bytes)], [null, null, null, null, null, "num"]),
        body.firstChild
      );
    }
    nextSeq = entries.length ? entries[entries.length - 1].seq + 1 : Math.max(nextSeq, next);
    while (body.children.length > logCapacity) body.removeChild(body.lastChild);
    if (body.children.length === 0) fill("events", [], 6, "no events yet");
  }

  // ---- the plot -----------------------------------------------------------

  // A line plot of `series` over `samples` (each sample has `timestamp`),
  // with a grid, a y axis from 0 and a legend.
  function drawPlot(canvas, samples, series) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || canvas.width;
    const h = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
    }
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const pad = { left: 44, right: 12, top: 26, bottom: 24 };
    const pw = w - pad.left - pad.right;
    const ph = h - pad.top - pad.bottom;
    let max = 0;
    for (const s of samples) for (const d of series) max = Math.max(max, s[d.key]);
    const top = niceMax(max);
    g.font = "11px system-ui, sans-serif";
    g.strokeStyle = "#2a3550";
    g.fillStyle = "#8d99b3";
    g.lineWidth = 1;
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (let i = 0; i <= 4; i++) {
      const y = pad.top + ph - (ph * i) / 4;
      g.beginPath();
      g.moveTo(pad.left, Math.round(y) + 0.5);
      g.lineTo(pad.left + pw, Math.round(y) + 0.5);
      g.stroke();
      g.fillText(label(top * i / 4), pad.left - 6, y);
    }
    if (samples.length > 0) {
      const t0 = samples[0].timestamp;
      const t1 = samples[samples.length - 1].timestamp;
      const span = Math.max(t1 - t0, 1);
      const x = (t) => pad.left + (samples.length === 1 ? pw : ((t - t0) / span) * pw);
      const y = (v) => pad.top + ph - (v / top) * ph;
      g.textAlign = "left";
      g.textBaseline = "alphabetic";
      g.fillText(new Date(t0).toLocaleTimeString(), pad.left, h - 6);
      g.textAlign = "right";
      g.fillText(new Date(t1).toLocaleTimeString(), pad.left + pw, h - 6);
      // Earlier series are drawn wider, so that equal values stay visible.
      series.forEach((d, k) => {
        g.strokeStyle = d.color;
        g.lineWidth = 2 + (series.length - 1 - k) * 1.5;
        g.beginPath();
        samples.forEach((s, i) => {
          if (i === 0) g.moveTo(x(s.timestamp), y(s[d.key]));
          else g.lineTo(x(s.timestamp), y(s[d.key]));
        });
        g.stroke();
      });
    } else {
      g.textAlign = "center";
      g.fillText("waiting for the first sample…", pad.left + pw / 2, pad.top + ph / 2);
    }
    // Legend, with each series' latest value.
    let lx = pad.left;
    g.textAlign = "left";
    g.textBaseline = "middle";
    const last = samples[samples.length - 1];
    for (const d of series) {
      g.fillStyle = d.color;
      g.fillRect(lx, 9, 10, 10);
      g.fillStyle = "#e6ebf5";
      const t = d.label + (last ? " " + label(last[d.key]) : "");
      g.fillText(t, lx + 14, 14);
      lx += g.measureText(t).width + 30;
    }
  }

  // The smallest of 1, 2, 5 × 10^n at or above `v` (at least 1).
  function niceMax(v) {
    if (v <= 1) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function label(v) {
    if (v >= 1000) return fmt.format(Math.round(v));
    return String(Math.round(v * 100) / 100);
  }

  // ---- test actions -------------------------------------------------------

  function updateTestForm() {
    $("test-user-field").hidden = $("test-action").value !== "sendToUser";
  }

  async function sendTest(ev) {
    ev.preventDefault();
    const f = ev.target;
    const body = { action: f.elements.action.value, namespace: f.elements.namespace.value || "/" };
    if (body.action === "sendToUser") body.targetUserId = f.elements.targetUserId.value.trim();
    if (body.action !== "emitOnlineUsers") {
      if (f.elements.event.value.trim()) body.event = f.elements.event.value.trim();
      body.message = f.elements.message.value;
    }
    const out = $("test-result");
    $("test-send").disabled = true;
    try {
      const r = await api("/api/socket-test", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      out.className = "result";
      out.textContent = "Sent " + r.event + " to " + r.recipients + " socket(s)\n" + JSON.stringify(r, null, 2);
    } catch (err) {
      out.className = "result failed";
      out.textContent = "Refused: " + explain(err);
    } finally {
      $("test-send").disabled = false;
      poll();
    }
  }

  // ---- start --------------------------------------------------------------

  async function start() {
    buildMethods(await loginInfo());
    $("login").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("login-error").textContent = "";
      try {
        await signIn(await method.headers(ev.target));
        ev.target.reset();
      } catch (err) {
        auth = null;
        $("login-error").textContent = explain(err);
      }
    });
    $("logout").addEventListener("click", () => signOut("", true));
    $("test-action").addEventListener("change", updateTestForm);
    $("test-form").addEventListener("submit", sendTest);
    updateTestForm();
    const saved = sessionStorage.getItem(STORE);
    if (saved) {
      signIn(JSON.parse(saved)).catch((err) => signOut(explain(err)));
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
