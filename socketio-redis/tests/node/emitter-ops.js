// The one operation an emitter runs, for socketio-redis's emitter.js
// (@socket.io/redis-emitter) and socketio-postgres's (@socket.io/postgres-emitter),
// whose emitters have the same operators. See emitter.js for the fields.

import { argsOf } from "./values.js";

export function runOp(emitter, cmd) {
  const args = argsOf(cmd);
  let op = emitter.to(cmd.rooms || []).except(cmd.except || []);
  if (cmd.volatile) op = op.volatile;
  switch (cmd.op) {
    case "emit":
      op.emit(cmd.event, ...args);
      break;
    case "socketsJoin":
      op.socketsJoin(cmd.join || []);
      break;
    case "socketsLeave":
      op.socketsLeave(cmd.leave || []);
      break;
    case "disconnectSockets":
      op.disconnectSockets(!!cmd.close);
      break;
    case "serverSideEmit":
      emitter.serverSideEmit(cmd.event, ...args);
      break;
    default:
      console.error(`emitter.js: unknown op ${cmd.op}`);
      process.exit(2);
  }
}
