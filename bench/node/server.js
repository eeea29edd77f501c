// The benchmark's server on Node's socket.io: the same handlers as
// bench/src/bin/bench-server.rs (see there).
const { createServer } = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 3000);
const httpServer = createServer();
const io = new Server(httpServer, { path: "/socket.io/", pingInterval: 25000, pingTimeout: 20000 });
io.on("connection", (socket) => {
  const room = socket.handshake.query.room;
  if (typeof room === "string") socket.join(room);
  socket.on("echo", (arg, ack) => {
    if (typeof ack === "function") ack(arg);
    else socket.emit("echo", arg);
  });
  socket.on("broadcast", (arg) => io.emit("broadcast", arg));
  socket.on("broadcast-room", (room, arg) => io.to(room).emit("broadcast", arg));
});
httpServer.listen(port, "127.0.0.1", () => console.error(`node socket.io listening on 127.0.0.1:${port}`));
