// Raw HTTP and raw WebSocket helpers for speaking Engine.IO v4 by hand.
import crypto from "node:crypto";
import http from "node:http";
import net from "node:net";
import zlib from "node:zlib";

export const SEP = "\x1e";
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Builds an Engine.IO request path: eioPath({transport:"polling", sid}) etc. EIO=4 unless given (null drops it). */
export function eioPath(query = {}, base = "/socket.io/") {
  const q = { EIO: "4", transport: "polling", ...query };
  const parts = [];
  for (const [k, v] of Object.entries(q)) if (v !== null && v !== undefined) parts.push(`${k}=${encodeURIComponent(v)}`);
  return `${base}?${parts.join("&")}`;
}

/**
 * One HTTP request on its own connection (no keep-alive pool).
 * Resolves {status, headers, body (Buffer), text}. Returns the promise with
 * a `.req` property (the http.ClientRequest), so a test can abort it.
 */
export function request(server, { method = "GET", path = eioPath(), headers = {}, body, timeout = 10_000 } = {}) {
  let req;
  const p = new Promise((resolve, reject) => {
    req = http.request({ host: "127.0.0.1", port: server.port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body: buf, text: buf.toString("utf8") });
      });
      res.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${path} got no answer within ${timeout} ms`));
    }, timeout);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
  p.req = req;
  return p;
}

/** Parses a JSON error body {"code":N,"message":"..."}. */
export function jsonBody(res) {
  try {
    return JSON.parse(res.text);
  } catch {
    throw new Error(`expected a JSON body, got status ${res.status} ${JSON.stringify(res.text)}`);
  }
}

/** Splits a polling payload into its packets. */
export function decodePayload(text) {
  return text.split(SEP);
}

/**
 * Polling handshake: returns {sid, open (parsed JSON), res}. The sid is
 * remembered on the server object, so that closeSessions() can end the
 * sessions a test left open before the server is stopped.
 */
export async function handshake(server, { query = {}, headers = {} } = {}) {
  const res = await request(server, { path: eioPath(query), headers });
  if (res.status !== 200 || res.text[0] !== "0") {
    throw new Error(`handshake failed: ${res.status} ${JSON.stringify(res.text)}`);
  }
  const open = JSON.parse(decodePayload(res.text)[0].slice(1));
  trackSid(server, open.sid);
  return { sid: open.sid, open, res };
}

/** Remembers a sid opened without handshake(), for closeSessions(). */
export function trackSid(server, sid) {
  (server.pollingSids ??= new Set()).add(sid);
}

/**
 * Ends every polling session handshake() opened on this server that may still
 * be open, with the close packet (errors ignored: most are gone already).
 */
export async function closeSessions(server) {
  const sids = [...(server.pollingSids ?? [])];
  server.pollingSids?.clear();
  await Promise.all(sids.map((sid) => post(server, sid, "1", { timeout: 3000 }).catch(() => {})));
}

export function poll(server, sid, { headers = {}, timeout } = {}) {
  return request(server, { path: eioPath({ sid }), headers, timeout });
}

export function post(server, sid, body, { headers = {}, timeout } = {}) {
  return request(server, {
    method: "POST",
    path: eioPath({ sid }),
    headers: { "Content-Type": "text/plain;charset=UTF-8", ...headers },
    body,
    timeout,
  });
}

// ---------------------------------------------------------------------------
// A minimal WebSocket client over net (RFC 6455: masked client frames,
// fragmentation, control frames), enough to drive Engine.IO by hand.

/**
 * Sends an HTTP Upgrade request. `headers` replaces the defaults where a key is
 * given (a value of null drops that header). Resolves either
 *   {status: 101, headers, ws: WsConn}
 * or, when the server refuses, {status, headers, text} (read until the server
 * closes or Content-Length bytes arrived).
 * `deflate: true` offers permessage-deflate as npm `ws` does; when the 101
 * accepts it, ws.deflate is set (compressed messages are inflated, and come
 * with compressed: true).
 */
export function wsConnect(server, path, { headers = {}, timeout = 10_000, deflate = false } = {}) {
  const key = crypto.randomBytes(16).toString("base64");
  const defaults = {
    Host: `127.0.0.1:${server.port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": key,
    "Sec-WebSocket-Version": "13",
    ...(deflate ? { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" } : {}),
  };
  const all = { ...defaults, ...headers };
  let head = `GET ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(all)) if (v !== null && v !== undefined) head += `${k}: ${v}\r\n`;
  head += "\r\n";

  return new Promise((resolve, reject) => {
    const sock = net.connect(server.port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    let parsed = null;
    let done = false;
    const timer = setTimeout(() => finish(new Error(`upgrade ${path}: no answer within ${timeout} ms`)), timeout);
    function finish(err, value) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.removeListener("data", onData);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve(value);
    }
    function tryResponse(ended) {
      if (!parsed) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) {
          if (ended) finish(new Error(`upgrade ${path}: connection closed before a response (${JSON.stringify(buf.toString())})`));
          return;
        }
        const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
        if (!m) return finish(new Error(`bad status line ${JSON.stringify(lines[0])}`));
        const hdrs = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(":");
          if (i > 0) hdrs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        parsed = { status: Number(m[1]), headers: hdrs, rest: buf.subarray(end + 4) };
        if (parsed.status === 101) {
          const expect = crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
          if (hdrs["sec-websocket-accept"] !== expect) return finish(new Error(`bad Sec-WebSocket-Accept ${hdrs["sec-websocket-accept"]}, want ${expect}`));
          const ext = hdrs["sec-websocket-extensions"] ?? "";
          const ws = new WsConn(sock, parsed.rest, {
            deflate: /^permessage-deflate\b/.test(ext),
            contextTakeover: !/\bserver_no_context_takeover\b/.test(ext),
          });
          return finish(null, { status: 101, headers: hdrs, ws });
        }
      }
      if (parsed && parsed.status !== 101) {
        const body = buf.subarray(buf.indexOf("\r\n\r\n") + 4);
        const len = parsed.headers["content-length"];
        if (ended || (len !== undefined && body.length >= Number(len))) {
          sock.destroy();
          finish(null, { status: parsed.status, headers: parsed.headers, text: body.toString("utf8") });
        }
      }
    }
    function onData(d) {
      buf = Buffer.concat([buf, d]);
      tryResponse(false);
    }
    sock.on("data", onData);
    sock.on("end", () => tryResponse(true));
    sock.on("close", () => tryResponse(true));
    sock.on("error", (e) => {
      // A refused upgrade may be answered and then reset: keep what arrived.
      if (parsed || buf.length) tryResponse(true);
      else finish(e);
    });
    sock.write(head);
  });
}

export class WsConn {
  constructor(sock, initial, { deflate = false, contextTakeover = false } = {}) {
    this.sock = sock;
    this.deflate = deflate;
    // Without server_no_context_takeover a server message may refer back to
    // earlier ones: the last 32 KiB inflated serve as the next dictionary.
    this.window = contextTakeover ? Buffer.alloc(0) : null;
    this.frameLog = []; // {opcode, rsv, len} of every frame received
    this.buf = Buffer.alloc(0);
    this.messages = [];
    this.waiters = [];
    this.closed = false;
    this.closeCode = null;
    this.fragments = null;
    sock.on("data", (d) => this._onData(d));
    sock.on("close", () => this._onClose());
    sock.on("error", () => {});
    if (initial && initial.length) this._onData(initial);
  }

  _onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0];
      const b1 = this.buf[1];
      const fin = (b0 & 0x80) !== 0;
      const rsv = b0 & 0x70;
      const opcode = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      let mask = null;
      if (masked) {
        if (this.buf.length < off + 4) return;
        mask = this.buf.subarray(off, off + 4);
        off += 4;
      }
      if (this.buf.length < off + len) return;
      let payload = Buffer.from(this.buf.subarray(off, off + len));
      this.buf = this.buf.subarray(off + len);
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      this._onFrame(fin, opcode, payload, masked, rsv);
    }
  }

  _onFrame(fin, opcode, payload, masked, rsv = 0) {
    this.frameLog.push({ opcode, rsv, len: payload.length });
    if (masked) this.protocolError = "server sent a masked frame";
    if (rsv & ~(this.deflate && opcode < 8 ? 0x40 : 0)) this.protocolError = `unexpected RSV bits ${rsv}`;
    if (opcode === 0x9) return this._writeFrame(0xa, payload); // ping -> pong
    if (opcode === 0xa) return;
    if (opcode === 0x8) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (!this.closeSent) this._writeFrame(0x8, payload.subarray(0, 2));
      this.closeSent = true;
      this.sock.end();
      return;
    }
    if (opcode === 0x0) {
      if (!this.fragments) return;
      this.fragments.parts.push(payload);
    } else {
      this.fragments = { opcode, parts: [payload], compressed: (rsv & 0x40) !== 0 };
    }
    if (!fin) return;
    const { opcode: op, parts, compressed } = this.fragments;
    this.fragments = null;
    let data = Buffer.concat(parts);
    if (compressed) {
      const opts = { finishFlush: zlib.constants.Z_SYNC_FLUSH, ...(this.window?.length ? { dictionary: this.window } : {}) };
      data = zlib.inflateRawSync(Buffer.concat([data, Buffer.from([0, 0, 0xff, 0xff])]), opts);
    }
    if (this.window && this.deflate) this.window = Buffer.concat([this.window, data]).subarray(-32768);
    const extra = compressed ? { compressed: true } : {};
    this._push(op === 0x1 ? { binary: false, data: data.toString("utf8"), ...extra } : { binary: true, data, ...extra });
  }

  _push(msg) {
    const w = this.waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.resolve(msg);
    } else this.messages.push(msg);
  }

  _onClose() {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(null);
    }
  }

  _writeFrame(opcode, payload, fin = true, rsv = 0) {
    if (this.sock.destroyed || !this.sock.writable) return;
    const len = payload.length;
    let header;
    if (len < 126) {
      header = Buffer.alloc(2);
      header[1] = 0x80 | len;
    } else if (len < 65536) {
      header = Buffer.alloc(4);
      header[1] = 0x80 | 126;
      header.writeUInt16BE(len, 2);
    } else {
      header = Buffer.alloc(10);
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    header[0] = (fin ? 0x80 : 0) | rsv | opcode;
    const mask = crypto.randomBytes(4);
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
    this.sock.write(Buffer.concat([header, mask, masked]));
  }

  /** Sends a text frame (string) or a binary frame (Buffer/Uint8Array). */
  send(data) {
    if (typeof data === "string") this._writeFrame(0x1, Buffer.from(data, "utf8"));
    else this._writeFrame(0x2, Buffer.from(data));
  }

  /** Sends a message compressed (RSV1; permessage-deflate), or `raw` bytes as if they were. */
  sendCompressed(data, { raw } = {}) {
    const b = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data);
    let z = raw ?? zlib.deflateRawSync(b, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    if (!raw && z.length >= 4 && z.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff]))) z = z.subarray(0, -4);
    this._writeFrame(typeof data === "string" ? 0x1 : 0x2, z, true, 0x40);
  }

  /** Sends one text message split over several frames. */
  sendFragmented(text, pieces = 2) {
    const b = Buffer.from(text, "utf8");
    const step = Math.ceil(b.length / pieces);
    for (let i = 0, first = true; i < b.length; i += step, first = false) {
      this._writeFrame(first ? 0x1 : 0x0, b.subarray(i, i + step), i + step >= b.length);
    }
  }

  /** Next message {binary, data}, or null when the connection closed first. Rejects on timeout. */
  next(timeout = 5000) {
    if (this.messages.length) return Promise.resolve(this.messages.shift());
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const w = { resolve, timer: null };
      w.timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no WebSocket message within ${timeout} ms`));
      }, timeout);
      this.waiters.push(w);
    });
  }

  /** Next text message, skipping server pings ("2") and answering them with "3" when answerPings. */
  async nextText(timeout = 5000, { answerPings = true } = {}) {
    for (;;) {
      const m = await this.next(timeout);
      if (m === null) return null;
      if (!m.binary && m.data === "2") {
        if (answerPings) this.send("3");
        continue;
      }
      return m;
    }
  }

  /** Resolves when the TCP connection is closed (true), or false after timeout. */
  waitClosed(timeout = 5000) {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeout);
      this.sock.once("close", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Sends a close frame and ends the connection. */
  close(code = 1000) {
    if (!this.closeSent) {
      const p = Buffer.alloc(2);
      p.writeUInt16BE(code);
      this._writeFrame(0x8, p);
      this.closeSent = true;
    }
    this.sock.end();
    setTimeout(() => this.sock.destroy(), 200).unref();
  }

  destroy() {
    this.sock.destroy();
  }
}
