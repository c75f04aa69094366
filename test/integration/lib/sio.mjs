// Helpers around the real npm socket.io-client 4.8 for the Socket.IO tests
// (sio_*.test.mjs, app_*.test.mjs), and raw-protocol helpers on top of eio.mjs.
import { createRequire } from "node:module";
import { after, before, describe } from "node:test";
import { Manager } from "socket.io-client";

import { eioPath, request, wsConnect } from "./eio.mjs";
import { startServer } from "./server.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The three ways a client reaches the server. `transport` is the transport the
 * connection must be on once connect() resolved.
 */
export const SIO_MODES = {
  "polling only": { transports: ["polling"], upgrade: false, transport: "polling" },
  "WebSocket only": { transports: ["websocket"], upgrade: false, transport: "websocket" },
  "polling upgraded to WebSocket": { transports: ["polling", "websocket"], upgrade: true, transport: "websocket" },
};

const require = createRequire(import.meta.url);
const msgpackParser = require("socket.io-msgpack-parser");

/**
 * The two Socket.IO packet formats (sio-server --parser, the reference's
 * `parser` option): `args` for the server, `client` for socket.io-client's
 * Manager, and `roundTrip(values)`, the values a client gets back when the
 * server echoes what it sent: the codec's own view of them. The tests' values
 * survive JSON unchanged; notepack.io 2.2 (under socket.io-msgpack-parser)
 * turns integers of 2^64 or more into other integers, and the reference and
 * sio-server both echo what it decoded.
 */
export const SIO_PARSERS = {
  default: { name: "default", args: [], client: {}, roundTrip: (values) => values },
  msgpack: {
    name: "msgpack",
    args: ["--parser", "msgpack"],
    client: { parser: msgpackParser },
    roundTrip(values) {
      const enc = new msgpackParser.Encoder();
      const dec = new msgpackParser.Decoder();
      let out;
      dec.on("decoded", (p) => (out = p.data));
      dec.add(enc.encode({ type: 2, data: values, nsp: "/" })[0]);
      return out;
    },
  },
};

/** describe(`${name} parser`, () => fn(parser, name)) for each packet format. */
export function eachParser(fn) {
  for (const [name, parser] of Object.entries(SIO_PARSERS)) describe(`${name} parser`, () => fn(parser, name));
}

/**
 * describe(modeName, () => fn(mode, modeName)) for each mode; with `parser`
 * (SIO_PARSERS), the modes' clients use that packet format.
 */
export function eachMode(fn, parser = SIO_PARSERS.default) {
  for (const [name, mode] of Object.entries(SIO_MODES)) describe(name, () => fn({ ...mode, ...parser.client }, name));
}

/**
 * For a describe() block: starts the server before its tests and stops it
 * after them (a bad exit or a sanitizer report fails the suite). `app` is the
 * --app name; `parser` (SIO_PARSERS) the packet format it is started with.
 * Returns a holder whose `.server` is the running server.
 */
export function useSioServer(app, { args = [], env = {}, parser = SIO_PARSERS.default } = {}) {
  const holder = { server: null };
  before(async () => {
    holder.server = await startServer({ args: ["--app", app, ...parser.args, ...args], env });
  });
  after(async () => {
    if (holder.server) await holder.server.stop();
  });
  return holder;
}

/** Starts a server for one test; the test's after hook stops it. */
export async function startSio(t, app, { args = [], env = {} } = {}) {
  const server = await startServer({ args: ["--app", app, ...args], env });
  t.after(() => server.stop());
  return server;
}

/**
 * A socket.io-client Manager (one Engine.IO connection) for the mode, without
 * reconnection; closed after the test.
 */
export function newManager(t, server, mode, opts = {}) {
  const { transport, ...modeOpts } = mode;
  const m = new Manager(server.url, { ...modeOpts, reconnection: false, timeout: 5000, ...opts });
  // Like an application: disconnect the sockets (DISCONNECT packets), then close.
  t.after(() => {
    for (const s of Object.values(m.nsps)) s.disconnect();
    m.disconnect();
  });
  return m;
}

/**
 * Records every event a socket receives: socket.received is the list of
 * {event, args} in arrival order; nextEvent() consumes them per event name.
 */
export function record(socket) {
  socket.received = [];
  socket.pending = new Map(); // event -> unconsumed args lists
  socket.waiters = new Map(); // event -> [{resolve, timer}]
  socket.onAny((event, ...args) => {
    socket.received.push({ event, args });
    const ws = socket.waiters.get(event);
    if (ws && ws.length) {
      const w = ws.shift();
      clearTimeout(w.timer);
      w.resolve(args);
      return;
    }
    if (!socket.pending.has(event)) socket.pending.set(event, []);
    socket.pending.get(event).push(args);
  });
  return socket;
}

/** The arguments of the next `event` the socket receives (see record()). */
export function nextEvent(socket, event, timeout = 5000) {
  const q = socket.pending.get(event);
  if (q && q.length) return Promise.resolve(q.shift());
  return new Promise((resolve, reject) => {
    const w = { resolve, timer: null };
    w.timer = setTimeout(() => {
      const ws = socket.waiters.get(event);
      ws.splice(ws.indexOf(w), 1);
      reject(new Error(`no "${event}" event within ${timeout} ms (socket ${socket.nsp}, connected ${socket.connected})`));
    }, timeout);
    if (!socket.waiters.has(event)) socket.waiters.set(event, []);
    socket.waiters.get(event).push(w);
  });
}

/** Resolves once the manager's Engine.IO connection is on WebSocket. */
export function waitWebSocket(manager, timeout = 5000) {
  const engine = manager.engine;
  if (engine.transport?.name === "websocket") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no upgrade within ${timeout} ms`)), timeout);
    engine.once("upgrade", () => {
      clearTimeout(timer);
      resolve();
    });
    engine.once("upgradeError", (e) => {
      clearTimeout(timer);
      reject(new Error(`upgrade failed: ${e?.message ?? e}`));
    });
  });
}

function openSocket(t, server, mode, { nsp = "/", auth, manager, query, extraHeaders } = {}) {
  const mopts = {};
  if (query) mopts.query = query;
  if (extraHeaders) mopts.extraHeaders = extraHeaders;
  const m = manager ?? newManager(t, server, mode, mopts);
  const socket = record(m.socket(nsp, auth !== undefined ? { auth } : {}));
  t.after(() => socket.disconnect());
  socket.disconnects = [];
  socket.on("disconnect", (reason) => socket.disconnects.push(reason));
  return socket;
}

/**
 * Connects a socket.io-client socket to namespace `nsp` (a new Manager unless
 * `manager` is given) and resolves once it is connected, and in the upgrade
 * mode once the connection is on WebSocket. Rejects on connect_error.
 */
export async function connect(t, server, mode, opts = {}) {
  const socket = openSocket(t, server, mode, opts);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${opts.nsp ?? "/"}: not connected within 5000 ms`)), 5000);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (e) => {
      clearTimeout(timer);
      reject(new Error(`connect_error on ${opts.nsp ?? "/"}: ${e.message}`));
    });
  });
  if (mode.upgrade) await waitWebSocket(socket.io);
  return socket;
}

/** Like connect(), but expects a connect_error and resolves with it (and the socket as err.socket). */
export async function connectError(t, server, mode, opts = {}) {
  const socket = openSocket(t, server, mode, opts);
  const err = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no connect_error within 5000 ms")), 5000);
    socket.once("connect", () => {
      clearTimeout(timer);
      reject(new Error(`${opts.nsp ?? "/"}: connected although a connect_error was expected`));
    });
    socket.once("connect_error", (e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
  err.socket = socket;
  return err;
}

/** Emits with an ack and resolves with all the ack's arguments (rejects after timeout). */
export function emitAck(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (err, ...res) => (err ? reject(new Error(`no ack for "${event}": ${err.message}`)) : resolve(res)));
  });
}

/** Resolves with the socket's next disconnect reason. */
export function waitDisconnect(socket, timeout = 5000) {
  if (socket.disconnects.length) return Promise.resolve(socket.disconnects.shift());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still connected after ${timeout} ms`)), timeout);
    socket.once("disconnect", (reason) => {
      clearTimeout(timer);
      socket.disconnects.shift();
      resolve(reason);
    });
  });
}

/** Resolves when the manager's Engine.IO connection closed, with its reason. */
export function waitEngineClose(manager, timeout = 5000) {
  const engine = manager.engine;
  if (!engine || engine.readyState === "closed") return Promise.resolve("closed");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Engine.IO connection still ${engine.readyState} after ${timeout} ms`)), timeout);
    engine.once("close", (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

/** A Buffer from what socket.io-client hands out for binary (Buffer, ArrayBuffer, typed array). */
export function toBuffer(x) {
  if (Buffer.isBuffer(x)) return x;
  if (x instanceof ArrayBuffer) return Buffer.from(x);
  if (ArrayBuffer.isView(x)) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  throw new Error(`not binary: ${Object.prototype.toString.call(x)}`);
}

/** Replaces binary values (any depth) by {bin: hex} so trees compare with deepStrictEqual. */
export function normalize(v) {
  if (v === null || typeof v !== "object") return v;
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return { bin: toBuffer(v).toString("hex") };
  if (Array.isArray(v)) return v.map(normalize);
  const o = {};
  for (const [k, x] of Object.entries(v)) o[k] = normalize(x);
  return o;
}

/** Polls until cond() is true (or throws after timeout). */
export async function until(cond, { timeout = 5000, step = 10, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeout} ms`);
    await sleep(step);
  }
}

// ---------------------------------------------------------------------------
// Raw protocol

/**
 * Opens a raw WebSocket Engine.IO connection (eio.mjs WsConn), reads the open
 * packet, and when `nsp` is given connects to it ("40" / "40/nsp,").
 * Resolves {ws, open (handshake JSON), sid (Socket.IO id or null), connectPacket}.
 * Destroyed after the test.
 */
export async function rawWs(t, server, { nsp = "/" } = {}) {
  const r = await wsConnect(server, eioPath({ transport: "websocket" }));
  if (r.status !== 101) throw new Error(`WebSocket upgrade refused: ${r.status} ${r.text}`);
  const ws = r.ws;
  t.after(() => ws.destroy());
  const first = await ws.next();
  if (!first || first.binary || first.data[0] !== "0") throw new Error(`expected an open packet, got ${JSON.stringify(first)}`);
  const open = JSON.parse(first.data.slice(1));
  let sid = null;
  let connectPacket = null;
  if (nsp !== null) {
    ws.send(nsp === "/" ? "40" : `40${nsp},`);
    const m = await ws.nextText();
    if (!m) throw new Error("connection closed before the CONNECT answer");
    connectPacket = m.data;
    const prefix = nsp === "/" ? "40" : `40${nsp},`;
    if (!connectPacket.startsWith(prefix + "{")) throw new Error(`unexpected CONNECT answer ${JSON.stringify(connectPacket)}`);
    sid = JSON.parse(connectPacket.slice(prefix.length)).sid;
  }
  return { ws, open, sid, connectPacket };
}

/** Raw long-polling: handshake; returns {sid, open, get(), post(body)}. */
export async function rawPolling(server) {
  const res = await request(server, { path: eioPath() });
  if (res.status !== 200 || res.text[0] !== "0") throw new Error(`handshake failed: ${res.status} ${res.text}`);
  const open = JSON.parse(res.text.split("\x1e")[0].slice(1));
  const sid = open.sid;
  return {
    sid,
    open,
    get: (opts = {}) => request(server, { path: eioPath({ sid }), ...opts }),
    post: (body) =>
      request(server, {
        method: "POST",
        path: eioPath({ sid }),
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body,
      }),
  };
}
