// A typed socket.io-client against socketio-server's built-in events: tsc
// checks it against events.d.ts (generated from the server's event table).
// Compiled with `tsc --noEmit` only; never run.
import { io, Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents, UserId } from "./events";

const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io("http://localhost:8080", {
  auth: { token: "<jwt>" },
});

socket.on("connected", ({ userId, socketId }) => {
  const id: UserId | null = userId;
  console.log(id, socketId.length);
});
socket.on("user:online", ({ userId, status }) => console.log(userId, status.toUpperCase()));
socket.on("message:new", (m) => console.log(m.conversationId, m.senderId, m.timestamp));
socket.on("error", ({ event, code }) => console.log(event, code));

// Document 001's notification room, with and without the ack.
socket.emit("join-room", "user-42");
socket.emit("join-room", "user-42", (answer) => {
  if (answer.success) {
    console.log(answer.room);
  } else {
    console.log(answer.code, answer.error);
  }
});
socket.emit("message:send", { conversationId: "c1", content: "hi" }, (a) => {
  if (a.success) console.log(a.messageId);
});
socket.emit("authenticate", { token: "<jwt>" }, (a) => {
  if (a.success) console.log(a.role, a.userId);
  else console.log(a.message);
});
socket.emit("ping", { timestamp: Date.now() }, () => {});
socket.emit("getOnlineUsers", (a) => {
  if (a.success) console.log(a.users.length);
});
socket.emit("client:event", { type: "order:update", data: { id: 1 } }, (a) => {
  if (a.success) console.log(a.data.forwarded);
});

// Mistakes tsc must catch (each line would fail to compile without the
// directive, which itself fails when the line compiles).
// @ts-expect-error: join-room takes a room name.
socket.emit("join-room", 42);
// @ts-expect-error: an event the server does not answer.
socket.emit("no-such-event");
// @ts-expect-error: message:send needs a conversation.
socket.emit("message:send", { content: "hi" });
// @ts-expect-error: user:online carries an object.
socket.on("user:online", (s: string) => console.log(s));
