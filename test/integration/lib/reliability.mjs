// Helpers for the reliability tests (reliability_*.test.mjs): process
// statistics from /proc, /metrics scraping, raw TCP and WebSocket frames,
// and many socket.io-client clients at once.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { Manager } from "socket.io-client";

import { eioPath, wsConnect } from "./eio.mjs";
import { REPO_ROOT, serverBin, startServer } from "./server.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// Binaries

/** Whether the binary was built with AddressSanitizer (its RSS is meaningless). */
export function isSanitized(bin) {
  try {
    return fs.readFileSync(bin).includes("__asan_init");
  } catch {
    return false;
  }
}

/** The server binary the other tests use ($SIO_SERVER_BIN or build/sio-server). */
export function defaultBin() {
  return serverBin();
}

/**
 * A binary without sanitizers for RSS measurements: $SIO_RELEASE_BIN, else
 * build-rel-release/sio-server (a Release build), else the test binary or
 * build/sio-server when not sanitized. null when none.
 */
export function releaseBin() {
  const candidates = [];
  if (process.env.SIO_RELEASE_BIN) candidates.push(path.resolve(REPO_ROOT, process.env.SIO_RELEASE_BIN));
  candidates.push(path.join(REPO_ROOT, "build-rel-release/sio-server"), defaultBin(), path.join(REPO_ROOT, "build/sio-server"));
  for (const c of candidates) if (fs.existsSync(c) && !isSanitized(c)) return c;
  return null;
}

/**
 * startServer() (lib/server.mjs) with another binary: serverCommand() reads
 * $SIO_SERVER_BIN when it spawns, so it is swapped around the call (and
 * $SIO_TEST_SERVER_BIN unset: a test-only app runs from the sio-test-server
 * next to `bin`, e.g. the release build's for an RSS measurement).
 */
export async function startServerWith(bin, opts) {
  if (!bin) return startServer(opts);
  const saved = { SIO_SERVER_BIN: process.env.SIO_SERVER_BIN, SIO_TEST_SERVER_BIN: process.env.SIO_TEST_SERVER_BIN };
  process.env.SIO_SERVER_BIN = bin;
  delete process.env.SIO_TEST_SERVER_BIN;
  try {
    return await startServer(opts);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

// ---------------------------------------------------------------------------
// /proc

/** VmRSS of a process in bytes. */
export function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Open file descriptors of a process. */
export function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** The open fds of a process that are sockets. */
export function socketFdCount(pid) {
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

const TCP_STATES = {
  "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
  "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
};

/**
 * The kernel state of the TCP socket 127.0.0.1:localPort -> 127.0.0.1:remotePort
 * (from /proc/net/tcp), or null when there is none. For the server's side of
 * a client connection: tcpState(serverPort, clientLocalPort).
 */
export function tcpState(localPort, remotePort) {
  const hex = (p) => p.toString(16).toUpperCase().padStart(4, "0");
  const local = `0100007F:${hex(localPort)}`;
  const remote = `0100007F:${hex(remotePort)}`;
  for (const line of fs.readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[2] === remote) return TCP_STATES[f[3]] ?? f[3];
  }
  return null;
}

/**
 * The socket inodes of the TCP connections to 127.0.0.1:localPort, by remote
 * port, from one read of /proc/net/tcp (which can be large on a shared box:
 * read it once, then follow the inodes with socketInodes()).
 */
export function tcpInodes(localPort) {
  const local = `0100007F:${localPort.toString(16).toUpperCase().padStart(4, "0")}`;
  const out = new Map();
  for (const line of fs.readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[2]?.startsWith("0100007F:")) out.set(parseInt(f[2].slice(9), 16), f[9]);
  }
  return out;
}

/** The inodes of the sockets a process holds open (cheap: /proc/<pid>/fd only). */
export function socketInodes(pid) {
  const out = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Polls until cond() holds; returns the elapsed ms, or throws after timeout. */
export async function waitFor(cond, { timeout = 10_000, step = 50, what = "condition" } = {}) {
  const start = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - start;
    if (Date.now() - start > timeout) throw new Error(`${what}: not met within ${timeout} ms`);
    await sleep(step);
  }
}

// ---------------------------------------------------------------------------
// HTTP and /metrics

/** GET a path on its own connection: {status, headers, text}. */
export function httpGet(server, p, { timeout = 5000, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port: server.port, path: p, agent: false, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text }));
      res.on("error", reject);
    });
    req.setTimeout(timeout, () => req.destroy(new Error(`GET ${p}: no answer within ${timeout} ms`)));
    req.on("error", reject);
  });
}

/**
 * Parses Prometheus text exposition 0.0.4 into a Map from `name` or
 * `name{label="v",...}` (as written) to a number. Throws on a malformed line.
 */
export function parseMetrics(text) {
  const values = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed metrics line ${JSON.stringify(line)}`);
    const v = Number(m[2]);
    if (Number.isNaN(v) && m[2] !== "NaN") throw new Error(`bad value in ${JSON.stringify(line)}`);
    values.set(m[1], v);
  }
  return values;
}

/** GET /metrics: {status, headers, text, values (Map), get(key)}. */
export async function scrape(server) {
  const r = await httpGet(server, "/metrics");
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  const values = parseMetrics(r.text);
  return {
    ...r,
    values,
    get(key) {
      if (!values.has(key)) throw new Error(`no metric ${key} in /metrics`);
      return values.get(key);
    },
  };
}

// ---------------------------------------------------------------------------
// Raw TCP

/**
 * A raw TCP connection that records what it receives and when it closes:
 * {sock, data() (Buffer so far), closed (bool), waitClosed(ms) -> bool,
 *  waitData(pred, ms) -> bool}.
 */
export function rawTcp(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks = [];
    const conn = {
      sock,
      closed: false,
      closedAt: null,
      error: null,
      data: () => Buffer.concat(chunks),
      waitClosed(timeout) {
        if (conn.closed) return Promise.resolve(true);
        return new Promise((res) => {
          const timer = setTimeout(() => res(false), timeout);
          sock.once("close", () => {
            clearTimeout(timer);
            res(true);
          });
        });
      },
      async waitData(pred, timeout = 5000) {
        const start = Date.now();
        while (!pred(conn.data())) {
          if (conn.closed || Date.now() - start > timeout) return pred(conn.data());
          await sleep(10);
        }
        return true;
      },
    };
    sock.on("data", (d) => chunks.push(d));
    sock.on("error", (e) => (conn.error = e));
    sock.on("close", () => {
      conn.closed = true;
      conn.closedAt = Date.now();
    });
    // A refused connect: sock.connecting is already false when "error" comes.
    let connected = false;
    sock.once("connect", () => {
      connected = true;
      resolve(conn);
    });
    sock.once("error", (e) => {
      if (!connected) reject(e);
    });
  });
}

/**
 * One WebSocket frame as a client would send it, or deliberately not:
 * {opcode, payload (Buffer|string), fin=true, rsv=0 (3 bits), mask=true, len (override the length field)}.
 */
export function wsFrame({ opcode, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true }) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, "utf8");
  const len = data.length;
  let head;
  if (len < 126) {
    head = Buffer.from([0, len]);
  } else if (len < 65536) {
    head = Buffer.alloc(4);
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  head[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  if (!mask) return Buffer.concat([head, data]);
  head[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const body = Buffer.from(data);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([head, key, body]);
}

/**
 * A raw Engine.IO WebSocket session connected to the Socket.IO namespace "/":
 * {ws (eio.mjs WsConn), sid (Engine.IO), open, socketId, connectPacket}. Pings are answered by
 * the caller (ws.nextText does it).
 */
export async function rawSioWebSocket(server, { connect = true } = {}) {
  const r = await wsConnect(server, eioPath({ transport: "websocket" }));
  if (r.status !== 101) throw new Error(`WebSocket upgrade refused: ${r.status} ${r.text}`);
  const ws = r.ws;
  const first = await ws.next();
  if (!first || first.binary || first.data[0] !== "0") throw new Error(`expected an open packet, got ${JSON.stringify(first)}`);
  const open = JSON.parse(first.data.slice(1));
  let socketId = null;
  let connectPacket = null;
  if (connect) {
    ws.send("40");
    const m = await ws.nextText();
    if (!m || !m.data.startsWith("40{")) throw new Error(`unexpected CONNECT answer ${JSON.stringify(m)}`);
    connectPacket = m.data;
    socketId = JSON.parse(m.data.slice(2)).sid;
  }
  return { ws, sid: open.sid, open, socketId, connectPacket };
}

// ---------------------------------------------------------------------------
// Many socket.io-client clients

/**
 * Opens a socket.io-client socket on its own Manager and resolves once it is
 * connected (rejects on connect_error or after timeout unless reconnection
 * is on, in which case it waits for the eventual connect).
 * The socket gets .errors (connect_error and engine error messages),
 * .disconnects (reasons) and .manager.
 */
export function openSio(url, opts = {}, { timeout = 10_000 } = {}) {
  const manager = new Manager(url, { reconnection: false, timeout: 10_000, ...opts });
  const socket = manager.socket("/");
  socket.manager = manager;
  socket.errors = [];
  socket.disconnects = [];
  socket.on("disconnect", (reason) => socket.disconnects.push(reason));
  socket.on("connect_error", (e) => socket.errors.push(`connect_error: ${e.message}`));
  manager.on("error", (e) => socket.errors.push(`manager error: ${e?.message ?? e}`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.disconnect();
      reject(new Error(`not connected within ${timeout} ms (${socket.errors.slice(-1)[0] ?? "no error"})`));
    }, timeout);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    if (!opts.reconnection) {
      socket.once("connect_error", (e) => {
        clearTimeout(timer);
        socket.disconnect();
        reject(new Error(`connect_error: ${e.message}`));
      });
    }
  });
}

/** Opens n clients, at most `parallel` handshakes at a time; opts(i) gives each one's options. */
export async function openMany(url, n, opts, { parallel = 50, timeout = 15_000 } = {}) {
  const sockets = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      sockets[i] = await openSio(url, typeof opts === "function" ? opts(i) : opts, { timeout });
    }
  };
  const workers = [];
  for (let k = 0; k < Math.min(parallel, n); k++) workers.push(worker());
  const results = await Promise.allSettled(workers);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) {
    closeAll(sockets.filter(Boolean));
    throw failed.reason;
  }
  return sockets;
}

/** Disconnects every client (DISCONNECT packet, then the Engine.IO close). */
export function closeAll(sockets) {
  for (const s of sockets) {
    if (!s) continue;
    try {
      s.disconnect();
      s.manager.disconnect();
    } catch {
      // already gone
    }
  }
}

/** Emits with an ack: resolves with the ack's arguments, rejects after timeout. */
export function ack(socket, event, args = [], timeout = 10_000) {
  return new Promise((resolve, reject) => {
    socket.timeout(timeout).emit(event, ...args, (err, ...res) => (err ? reject(new Error(`no ack for "${event}": ${err.message}`)) : resolve(res)));
  });
}

/** The testkit's last disconnect reasons ({id, reason}), asked through `socket`. */
export async function reasons(socket) {
  const [list] = await ack(socket, "reasons");
  return list;
}
