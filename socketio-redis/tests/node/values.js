// JSON <-> JS values with binary, shared by server.js and emitter.js:
// {"bin":[bytes]} stands for a Buffer, and `"binary":true` in a command
// turns every top-level string argument into a Buffer of its UTF-8 bytes.

export function toJs(v) {
  if (Array.isArray(v)) return v.map(toJs);
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "bin" && Array.isArray(v.bin)) {
      return Buffer.from(v.bin);
    }
    return Object.fromEntries(keys.map((k) => [k, toJs(v[k])]));
  }
  return v;
}

// A command's arguments as JS values.
export function argsOf(cmd) {
  const args = toJs(cmd.args || []);
  return cmd.binary
    ? args.map((a) => (typeof a === "string" ? Buffer.from(a, "utf8") : a))
    : args;
}
