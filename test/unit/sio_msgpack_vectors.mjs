// Prints the vectors of test_sio_packet_msgpack.c from the real socket.io-msgpack-parser 3.0.2
// (notepack.io 2.2 underneath), which test/package.json installs:
//   node test/unit/sio_msgpack_vectors.mjs
// "enc" lines: what the parser's Encoder makes of a packet built as Node's socket.io 4.8 server
// builds it (the key order of each object literal below is the server's; checked by capturing
// what it sends). "dec" lines: whether the parser's Decoder accepts a message, and the packet
// it gives (JSON.stringify, binary as {bin: hex}), or the error it throws. Run by hand when the
// parser changes; the C test carries the output as constants.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Encoder, Decoder } = require("../node_modules/socket.io-msgpack-parser");

const hex = (buf) => Buffer.from(buf).toString("hex").replace(/(..)/g, "\\x$1");
const enc = (name, packet, headOnly = 0) => {
  const b = new Encoder().encode(packet)[0];
  console.log(`enc ${name}: len ${b.length} "${hex(headOnly ? b.subarray(0, headOnly) : b)}"`);
};

const show = (v) =>
  JSON.stringify(v, (k, x) =>
    x && x.type === "Buffer" && Array.isArray(x.data)
      ? { bin: Buffer.from(x.data).toString("hex") }
      : x instanceof ArrayBuffer
        ? { bin: Buffer.from(x).toString("hex") }
        : x,
  );
const dec = (name, bytes) => {
  const d = new Decoder();
  let out;
  d.on("decoded", (p) => (out = p));
  try {
    d.add(Buffer.from(bytes));
    console.log(`dec ${name}: ok ${show(out)}`);
  } catch (e) {
    console.log(`dec ${name}: error ${e.message}`);
  }
};

console.log("--- server packets (socket.io 4.8 key order)");
// Socket#emit: {type, data}, then id when an ack is asked, then nsp (Socket#packet).
enc("event", { type: 2, data: ["hello", "w", 1.5, Buffer.from([1, 2]), { a: 1, 1: 2 }], nsp: "/" });
enc("event with ack", { type: 2, data: ["withack", 1], id: 0, nsp: "/" });
enc("event in /chat", { type: 2, data: ["m", null, true, false, -1, 300, ""], nsp: "/chat" });
// Socket#ack: {id, type, data}, then nsp.
enc("ack", { id: 7, type: 3, data: [1, Buffer.from([7])], nsp: "/" });
enc("ack empty", { id: 0, type: 3, data: [], nsp: "/" });
enc("ack big id", { id: 999999999999999, type: 3, data: [], nsp: "/" });
// Socket#_onconnect: {type, data: {sid, pid}} (pid undefined without connection state recovery).
enc("connect", { type: 0, data: { sid: "SsTbK68cmNb2cCrBAAAA" }, nsp: "/" });
// Client#connect, unknown namespace: {type, nsp, data}.
enc("connect_error invalid namespace", { type: 4, nsp: "/nope", data: { message: "Invalid namespace" } });
// Socket#_error (a middleware refused): {type, data}, then nsp.
enc("connect_error refused", { type: 4, data: { message: "nope", data: { why: 1 } }, nsp: "/refuse" });
// Socket#_onclose / disconnect(): {type}, then nsp.
enc("disconnect", { type: 1, nsp: "/admin" });
enc("event long (head)", { type: 2, data: ["x".repeat(40), Buffer.alloc(300, 0xab)], nsp: "/" }, 15);
enc("event nested binary", { type: 2, data: ["e", { b: Buffer.from("hi"), l: [Buffer.alloc(0)] }], nsp: "/" });

console.log("--- client packets (socket.io-client 4.8 key order) and hand-made ones");
const e = (p) => new Encoder().encode(p)[0];
dec("client connect", e({ type: 0, data: undefined, nsp: "/" }));
dec("client connect auth", e({ type: 0, data: { token: "t" }, nsp: "/admin" }));
dec("client event", e({ type: 2, data: ["e", 1, Buffer.from([5])], options: { compress: true }, id: 3, nsp: "/" }));
dec("client event arraybuffer", e({ type: 2, data: ["e", Uint8Array.of(1, 2).buffer], nsp: "/" }));
dec("client ack", e({ type: 3, id: 0, data: ["r", Buffer.from([9])], nsp: "/" }));
dec("client disconnect", e({ type: 1, nsp: "/" }));
dec("event undefined arg", e({ type: 2, data: ["e", undefined, { u: undefined, d: 1 }], nsp: "/" }));
dec("event no name", e({ type: 2, data: [], nsp: "/" }));
dec("event reserved name", e({ type: 2, data: ["disconnect"], nsp: "/" }));
// notepack writes integral numbers as integers: float64 forms are made by hand.
const h = (s) => Buffer.from(s.replace(/ /g, ""), "hex");
dec("type float64 2", h("83 a474797065 cb4000000000000000 a464617461 91a165 a36e7370 a12f"));
dec("id float64 3", h("84 a474797065 02 a464617461 91a165 a26964 cb4008000000000000 a36e7370 a12f"));
dec("type 2.5", e({ type: 2.5, data: ["e"], nsp: "/" }));
dec("type 5", e({ type: 5, data: ["e"], nsp: "/" }));
dec("type -1", e({ type: -1, data: ["e"], nsp: "/" }));
dec("type string", e({ type: "2", data: ["e"], nsp: "/" }));
dec("no type", e({ data: ["e"], nsp: "/" }));
dec("no nsp", e({ type: 2, data: ["e"] }));
dec("nsp number", e({ type: 2, data: ["e"], nsp: 1 }));
dec("event data object", e({ type: 2, data: { a: 1 }, nsp: "/" }));
dec("event no data", e({ type: 2, nsp: "/" }));
dec("ack no data", e({ type: 3, id: 1, nsp: "/" }));
dec("connect data array", e({ type: 0, data: [], nsp: "/" }));
dec("connect data null", e({ type: 0, data: null, nsp: "/" }));
dec("connect data buffer", e({ type: 0, data: Buffer.from([1]), nsp: "/" }));
dec("disconnect data", e({ type: 1, data: {}, nsp: "/" }));
dec("connect_error string", e({ type: 4, data: "x", nsp: "/" }));
dec("connect_error none", e({ type: 4, nsp: "/" }));
dec("id float", e({ type: 2, data: ["e"], id: 1.5, nsp: "/" }));
dec("id string", e({ type: 2, data: ["e"], id: "1", nsp: "/" }));
dec("id null", e({ type: 2, data: ["e"], id: null, nsp: "/" }));
dec("duplicate type", h("84 a474797065 01 a474797065 02 a464617461 91a165 a36e7370 a12f"));
dec("id negative", e({ type: 2, data: ["e"], id: -1, nsp: "/" }));
dec("nsp with NUL", e({ type: 0, nsp: "/a\u0000" }));
dec("trailing byte", Buffer.concat([e({ type: 2, data: ["e"], nsp: "/" }), Buffer.from([0xc0])]));
dec("truncated", e({ type: 2, data: ["e"], nsp: "/" }).subarray(0, 10));
dec("top array", e([2, ["e"], "/"]));
dec("top nil", e(null));
dec("empty", Buffer.alloc(0));
