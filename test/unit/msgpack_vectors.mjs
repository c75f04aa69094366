// Prints the MessagePack bytes that notepack.io 3.0.1 (the codec of @socket.io/redis-adapter 8.x
// and @socket.io/redis-emitter 5.x) produces for the values test_msgpack.c checks, and what it
// decodes some hand-made inputs to. The C test carries the output as constants: this script is
// only for regenerating or re-checking them and never runs in CI (it needs notepack.io, which
// test/package.json does not install). Usage, from any scratch directory:
//   npm install --no-save notepack.io@3.0.1 && node /path/to/test/unit/msgpack_vectors.mjs
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.cwd(), "noop.js"));
const { encode, decode } = require("notepack.io");

const hex = (buf) => Buffer.from(buf).toString("hex").replace(/(..)/g, "\\x$1");
const show = (name, value, headOnly = 0) => {
  const b = encode(value);
  console.log(`${name}: len ${b.length} "${hex(headOnly ? b.subarray(0, headOnly) : b)}"`);
};

console.log("--- scalars");
show("null", null);
show("undefined", undefined);
show("false", false);
show("true", true);
for (const v of [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53,
                 2 ** 63, 2 ** 64 - 2048, 2 ** 64, 1e20, -1, -32, -33, -128, -129, -32768, -32769,
                 -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1, -(2 ** 63), -(2 ** 64), 1.5, -0, 0.1,
                 -1.5, NaN, Infinity, -Infinity, 5e-324])
  show(Object.is(v, -0) ? "-0" : String(v), v);

console.log("--- strings (header only for long ones)");
show("str ''", "");
show("str a", "a");
show("str é€😀", "é€😀");
for (const n of [31, 32, 255, 256, 65535, 65536]) show(`str x*${n}`, "x".repeat(n), 5);

console.log("--- binary");
for (const n of [0, 255, 256, 65536]) show(`bin ${n}`, Buffer.alloc(n, 0xab), 5);
show("Uint8Array [1,2,3]", Uint8Array.of(1, 2, 3));
show("ArrayBuffer [1,2,3]", Uint8Array.of(1, 2, 3).buffer);

console.log("--- containers");
const seq = (n) => Array.from({ length: n }, (_, i) => i);
const obj = (n) => Object.fromEntries(seq(n).map((i) => ["k" + i, i]));
show("[]", []);
show("[0..14]", seq(15));
show("[0..15]", seq(16));
show("{}", {});
show("{k0..k14}", obj(15));
show("{k0..k15}", obj(16));
show("nested", { a: [1, { b: [] }], c: {} });
show("index keys first", { b: 1, 2: 2, 1: 3, x: 4 });
show("undefined members", { a: undefined, b: 1, c: [undefined, null] });

console.log("--- dates");
for (const d of ["1970-01-01T00:00:00.000Z", "2000-06-13T00:00:00.000Z", "1970-01-01T00:00:00.001Z",
                 "1969-12-31T23:59:59.999Z", "2514-05-30T01:53:04.000Z", "+275760-09-13T00:00:00.000Z",
                 "-271821-04-20T00:00:00.000Z", "0000-01-01T00:00:00.000Z"])
  show(`Date ${d}`, new Date(d));

console.log("--- socket.io");
show("broadcast", ["aBc123", { type: 2, data: ["event", { a: 1 }, Buffer.from([1, 2])], nsp: "/" },
                   { rooms: ["r"], except: [], flags: {} }]);

console.log("--- decode");
const dec = (name, h) => {
  let r;
  try { r = JSON.stringify(decode(Buffer.from(h, "hex"))); } catch (e) { r = "throws " + e.message; }
  console.log(`${name} ${h} -> ${r}`);
};
for (const h of ["d40000", "d40007", "92d40000c0", "82a161d40000a16201", "c70300010203", "c80003000102",
                 "c90000000300010203", "d6ff00000000", "d6ffffffffff", "d7ff0000000100000000",
                 "d7fffffffffc00000003", "d7ffee6b28000000000f", "c70cff000000000000000000000000",
                 "c70cff3b9ac9ffffffffffffffffff", "c70cff00000000ffff0000000000000000",
                 "d7000000000000000001", "d700fffffffffffffffe", "cfffffffffffffffff",
                 "cf0020000000000001", "d38000000000000000", "d3ffdfffffffffffff",
                 "ca3fc00000", "ca7f800000", "d5000102", "c1", "81c0c0", "8101c0", "82a161c0a16102"])
  dec("", h);
console.log("--- utf8 (JS string re-encoded as UTF-8)");
for (const h of ["ff", "c080", "c3", "e08080", "eda080", "f09f98", "f4908080", "61e282", "e28241",
                 "f09f9880", "efbbbf61", "80bf", "f880808080", "e0a0", "c2c2a9"]) {
  const n = h.length / 2;
  const s = decode(Buffer.concat([Buffer.from([0xa0 | n]), Buffer.from(h, "hex")]));
  console.log(`utf8 ${h} -> ${Buffer.from(s, "utf8").toString("hex")}`);
}
