// A socket.io-client 4.8 with connection state recovery, for the recovery
// tests (socketio-redis/tests/recovery_streams.rs): connected to server A,
// it loses its transport when told, then reconnects to server B.
//
// Environment: A_URL, B_URL (http://127.0.0.1:port), AUTH (JSON, optional).
// stdin, one command a line: "drop" (switch the manager to B_URL, close the
// transport; no automatic reconnection), "reconnect" (connect again, to B).
// stdout, one JSON line each: {"event":"connect","id","recovered"},
// {"event":"disconnect","reason"}, {"event":"msg","args":[...]} for every
// `m` event (its offset included, as the client gets it).

import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const auth = process.env.AUTH ? JSON.parse(process.env.AUTH) : {};
const socket = io(process.env.A_URL, {
  auth,
  transports: ["websocket"],
  reconnection: false,
});
socket.on("connect", () => print({ event: "connect", id: socket.id, recovered: socket.recovered }));
socket.on("disconnect", (reason) => print({ event: "disconnect", reason }));
socket.on("connect_error", (e) => print({ event: "connect_error", message: e.message }));
socket.on("m", (...args) => print({ event: "msg", args }));

for await (const line of createInterface({ input: process.stdin })) {
  if (line === "drop") {
    socket.io.uri = process.env.B_URL;
    socket.io.engine.close();
  } else if (line === "reconnect") {
    socket.connect();
  }
}
socket.close();
