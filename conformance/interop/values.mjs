// Shared by the Socket.IO interop scripts: how they show and compare the
// values a client receives.

// A value as JSON, binary shown as its bytes.
export const show = (v) =>
  JSON.stringify(v, (_k, x) => {
    if (x && x.type === "Buffer" && Array.isArray(x.data)) return { Buffer: x.data };
    if (x instanceof ArrayBuffer) return { ArrayBuffer: [...new Uint8Array(x)] };
    if (ArrayBuffer.isView(x)) return { [x.constructor.name]: [...new Uint8Array(x.buffer, x.byteOffset, x.byteLength)] };
    if (x === undefined) return "<undefined>";
    if (typeof x === "function") return "<function>";
    return x;
  });

// Binary (Buffer, typed array, ArrayBuffer) is compared by its bytes only.
export function norm(v) {
  if (v instanceof ArrayBuffer) return { "<bytes>": [...new Uint8Array(v)] };
  if (ArrayBuffer.isView(v)) return { "<bytes>": [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}
