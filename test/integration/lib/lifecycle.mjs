// Helpers for the lifecycle race tests (reliability_lifecycle.test.mjs):
// a seeded random source, raw requests written byte by byte on a TCP socket
// so a test can reset the connection at any point of a request, polling
// sessions ready to hold a GET, a /healthz prober and an fd-count settle.
import crypto from "node:crypto";

import { eioPath, request } from "./eio.mjs";
import { fdCount, httpGet, rawTcp, sleep } from "./reliability.mjs";

/** A deterministic random source (mulberry32): rnd() in [0,1), int(n), pick(list), chance(p). */
export function seededRandom(seed) {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  rnd.int = (n) => Math.floor(rnd() * n);
  rnd.pick = (list) => list[rnd.int(list.length)];
  rnd.chance = (p) => rnd() < p;
  return rnd;
}

/** The head of an HTTP/1.1 request as a string (headers: name -> value). */
export function httpHead(method, path, headers = {}) {
  let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  return head + "\r\n";
}

/** The head of a WebSocket upgrade request for path. */
export function upgradeHead(path) {
  return httpHead("GET", path, {
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": crypto.randomBytes(16).toString("base64"),
    "Sec-WebSocket-Version": "13",
  });
}

/** A raw POST of an Engine.IO payload to a polling session (whole request, as a string). */
export function postRequest(sid, body) {
  return httpHead("POST", eioPath({ sid }), { "Content-Type": "text/plain;charset=UTF-8", "Content-Length": Buffer.byteLength(body) }) + body;
}

/** Resets the TCP connection (RST, not FIN) unless it is gone already. */
export function reset(sock) {
  if (sock.destroyed) return;
  try {
    sock.resetAndDestroy();
  } catch {
    sock.destroy();
  }
}

/**
 * A polling session joined to namespace "/" whose queue was drained by one
 * GET, so the next GET is held: resolves its sid, or null when the server
 * refused or dropped one of the three requests.
 */
export async function drainedSession(server) {
  try {
    const h = await request(server, { path: eioPath() });
    if (h.status !== 200 || h.text[0] !== "0") return null;
    const sid = JSON.parse(h.text.split("\x1e")[0].slice(1)).sid;
    const p = await request(server, { method: "POST", path: eioPath({ sid }), headers: { "Content-Type": "text/plain;charset=UTF-8" }, body: "40" });
    if (p.status !== 200) return null;
    const g = await request(server, { path: eioPath({ sid }) });
    return g.status === 200 ? sid : null;
  } catch {
    return null;
  }
}

/** A raw GET on a polling session, held by the server until it has something (rawTcp connection). */
export async function holdGet(server, sid) {
  const conn = await rawTcp(server.port);
  conn.sock.write(httpHead("GET", eioPath({ sid })));
  return conn;
}

/**
 * Probes GET /healthz every `interval` ms, each with `timeout`, until stop():
 * resolves {probes, slowest (ms), failures: [{after (ms since the start), error}]}.
 */
export function healthProber(server, { interval = 500, timeout = 5000 } = {}) {
  let stopped = false;
  const failures = [];
  let probes = 0;
  let slowest = 0;
  const start = Date.now();
  const loop = (async () => {
    while (!stopped) {
      const t0 = Date.now();
      try {
        const r = await httpGet(server, "/healthz", { timeout });
        if (r.status !== 200) failures.push({ after: t0 - start, error: `status ${r.status}` });
      } catch (e) {
        failures.push({ after: t0 - start, error: e.message });
      }
      slowest = Math.max(slowest, Date.now() - t0);
      probes++;
      const rest = interval - (Date.now() - t0);
      if (rest > 0) await sleep(rest);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { probes, slowest, failures };
    },
  };
}

/**
 * Polls the process's open fd count until it is at most `target` (for
 * `stableFor` ms in a row) or `timeout` passes; resolves {settled, count, ms}.
 */
export async function fdSettle(pid, target, { timeout = 15_000, stableFor = 500, step = 100 } = {}) {
  const t0 = Date.now();
  let since = null;
  let count = fdCount(pid);
  for (;;) {
    count = fdCount(pid);
    if (count <= target) {
      since ??= Date.now();
      if (Date.now() - since >= stableFor) return { settled: true, count, ms: Date.now() - t0 };
    } else since = null;
    if (Date.now() - t0 > timeout) return { settled: false, count, ms: Date.now() - t0 };
    await sleep(step);
  }
}

/** The fd count once it stopped changing (the same for `stableFor` ms). */
export async function steadyFdCount(pid, { stableFor = 1000, timeout = 10_000, step = 100 } = {}) {
  const t0 = Date.now();
  let last = fdCount(pid);
  let since = Date.now();
  while (Date.now() - t0 < timeout) {
    await sleep(step);
    const n = fdCount(pid);
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (Date.now() - since >= stableFor) break;
  }
  return last;
}
