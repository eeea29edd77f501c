// The command harness of the mixed-cluster tests' Node servers, whatever
// their adapter: socketio-redis's server.js and socketio-postgres's. Node
// builtins and values.js only, so that a script in another folder (with its
// own node_modules) can import it. See server.js for the line protocol.
//
//   serve({ io, httpServer, port, adapter, namespaces, ready, close })
// sets up the namespaces, listens on 127.0.0.1:port, awaits `ready()` (the
// adapter's subscriptions), prints the ready line, then runs the commands
// of stdin until it closes, when `close()` runs and the process exits.

import { createInterface } from "node:readline";
import { argsOf } from "./values.js";

// ---- JSON <-> JS values with binary ----------------------------------------

function replacer(key, value) {
  const orig = this[key];
  if (orig instanceof ArrayBuffer) return { bin: [...new Uint8Array(orig)] };
  if (ArrayBuffer.isView(orig)) {
    return { bin: [...new Uint8Array(orig.buffer, orig.byteOffset, orig.byteLength)] };
  }
  if (orig instanceof Set) return [...orig];
  return value;
}

export function print(obj) {
  process.stdout.write(JSON.stringify(obj, replacer) + "\n");
}

export async function serve({ io, httpServer, port, adapter, namespaces, ready, close }) {
  const PORT = port;
  const ADAPTER = adapter;
  const NAMESPACES = namespaces;
  for (const name of NAMESPACES) {
    const nsp = io.of(name);
    nsp.on("connection", (socket) => {
      const auth = socket.handshake.auth || {};
      if (Array.isArray(auth.rooms)) socket.join(auth.rooms);
      if (auth.data !== undefined) socket.data = auth.data;
      socket.on("echo", (x, ack) => typeof ack === "function" && ack(x));
    });
    // Every server-side event, whatever its name (a listener per name would
    // need the names in advance). An ack, when asked for, gets {port, name}.
    const orig = nsp._onServerSideEmit.bind(nsp);
    nsp._onServerSideEmit = (args) => {
      const [ev, ...rest] = args;
      const ack = typeof rest[rest.length - 1] === "function" ? rest.pop() : null;
      print({ event: "serverSide", nsp: name, name: ev, args: rest, ack: !!ack });
      if (ack) ack({ port: PORT, name: ev });
      orig([ev, ...rest]);
    };
  }

  await new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(PORT, "127.0.0.1", resolve);
  });

  await ready();
  await Promise.all(NAMESPACES.map((n) => io.of(n).adapter.serverCount()));
  print({ event: "ready", port: PORT, adapter: ADAPTER, uid: io.of("/").adapter.uid });

  // ---- commands ---------------------------------------------------------------

  function target(cmd) {
    return io
      .of(cmd.nsp || "/")
      .to(cmd.rooms || [])
      .except(cmd.except || []);
  }

  function describe(s) {
    return {
      id: s.id,
      rooms: [...s.rooms].sort(),
      data: s.data,
      handshake: {
        auth: s.handshake.auth,
        url: s.handshake.url,
        address: s.handshake.address,
      },
      local: typeof s.conn === "object" && s.conn !== null,
    };
  }

  const ops = {
    emit(cmd) {
      const op = cmd.volatile ? target(cmd).volatile : target(cmd);
      op.emit(cmd.event, ...argsOf(cmd));
      return null;
    },
    emitWithAck(cmd) {
      // The callback form, so that a timeout still reports the partial acks.
      const op = cmd.volatile ? target(cmd).volatile : target(cmd);
      return new Promise((resolve, reject) => {
        op.timeout(cmd.timeout ?? 2000).emit(cmd.event, ...argsOf(cmd), (err, acks) => {
          if (err) reject(Object.assign(err, { partial: acks }));
          else resolve(acks);
        });
      });
    },
    socketsJoin(cmd) {
      target(cmd).socketsJoin(cmd.join || []);
      return null;
    },
    socketsLeave(cmd) {
      target(cmd).socketsLeave(cmd.leave || []);
      return null;
    },
    disconnectSockets(cmd) {
      target(cmd).disconnectSockets(!!cmd.close);
      return null;
    },
    async fetchSockets(cmd) {
      const sockets = await target(cmd).fetchSockets();
      return sockets.map(describe).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
    serverSideEmit(cmd) {
      io.of(cmd.nsp || "/").serverSideEmit(cmd.event, ...argsOf(cmd));
      return null;
    },
    serverSideEmitWithAck(cmd) {
      // No per-call timeout: the adapter's own applies (classic requestsTimeout, sharded 5 s).
      return io.of(cmd.nsp || "/").serverSideEmitWithAck(cmd.event, ...argsOf(cmd));
    },
    serverCount(cmd) {
      return io.of(cmd.nsp || "/").adapter.serverCount();
    },
    async allRooms(cmd) {
      const adapter = io.of(cmd.nsp || "/").adapter;
      if (typeof adapter.allRooms !== "function") {
        throw new Error(`allRooms is not supported by the ${ADAPTER} adapter`);
      }
      return [...(await adapter.allRooms())].sort();
    },
    sockets(cmd) {
      return [...io.of(cmd.nsp || "/").sockets.keys()].sort();
    },
  };

  async function run(line) {
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (e) {
      console.error(`server.js: bad command line: ${line}`);
      return;
    }
    const id = cmd.id ?? null;
    const op = ops[cmd.op];
    if (!op) return print({ id, ok: false, error: `unknown op ${cmd.op}` });
    try {
      const result = await op(cmd);
      print({ id, ok: true, result: result ?? null });
    } catch (e) {
      const out = { id, ok: false, error: e && e.message ? e.message : String(e) };
      if (e && e.partial !== undefined) out.result = e.partial;
      print(out);
    }
  }

  const rl = createInterface({ input: process.stdin, terminal: false });
  rl.on("line", (line) => {
    if (line.trim()) run(line);
  });
  rl.on("close", async () => {
    setTimeout(() => process.exit(0), 2000).unref();
    try {
      io.close();
      await close();
    } finally {
      process.exit(0);
    }
  });

}
