// Helpers for the Redis adapter tests (cluster_redis*.test.mjs): a private
// Debian `redis-server` on a free 127.0.0.1 port with its own directory (never
// the system service), which can be killed and restarted on the same port; a
// tiny RESP client for checks (PUBSUB NUMSUB); cluster nodes, C
// (`sio-test-server --app clusterkit` or `sio-server --app bench`, --redis URL) or Node.js
// (test/reference/cluster-node.mjs, socket.io 4.8 + @socket.io/redis-adapter);
// and a process's resident memory.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";

import { REPO_ROOT, freePort, isReference, startServer } from "./server.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const READY_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------
// A minimal RESP client: one command per connection, enough for checks.

function encodeCommand(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const b = Buffer.from(String(a));
    out += `$${b.length}\r\n${b.toString("latin1")}\r\n`;
  }
  return Buffer.from(out, "latin1");
}

/** Parses one RESP value from buf at offset: [value, nextOffset] or null when incomplete. */
function parseResp(buf, off = 0) {
  const eol = buf.indexOf("\r\n", off);
  if (eol < 0) return null;
  const kind = String.fromCharCode(buf[off]);
  const line = buf.toString("latin1", off + 1, eol);
  const next = eol + 2;
  switch (kind) {
    case "+":
      return [line, next];
    case "-":
      return [new Error(line), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.toString("utf8", next, next + n), next + n + 2];
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return [null, next];
      const arr = [];
      let o = next;
      for (let i = 0; i < n; i++) {
        const r = parseResp(buf, o);
        if (!r) return null;
        arr.push(r[0]);
        o = r[1];
      }
      return [arr, o];
    }
    default:
      throw new Error(`bad RESP type ${JSON.stringify(kind)}`);
  }
}

/** Sends one command to 127.0.0.1:port and resolves with the reply (rejects on error or timeout). */
export function redisCommand(port, ...args) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis ${args[0]}: no reply within 2000 ms`));
    }, 2000);
    const done = (err, v) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(v);
    };
    sock.on("error", (e) => done(e));
    sock.on("connect", () => sock.write(encodeCommand(args)));
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      let r;
      try {
        r = parseResp(buf);
      } catch (e) {
        done(e);
        return;
      }
      if (!r) return;
      if (r[0] instanceof Error) done(r[0]);
      else done(null, r[0]);
    });
  });
}

/** Subscribers of each channel (PUBSUB NUMSUB), as {channel: count}. */
export async function numsub(port, ...channels) {
  const r = await redisCommand(port, "PUBSUB", "NUMSUB", ...channels);
  const out = {};
  for (let i = 0; i < r.length; i += 2) out[r[i]] = Number(r[i + 1]);
  return out;
}

/**
 * Waits until `count` nodes subscribe to the request channel of each
 * namespace (key "socket.io"): a sign that they listen to the broadcasts too
 * (each node subscribes to its broadcast pattern first, on the same connection).
 */
export async function waitSubscribers(port, count, { nsps = ["/"], key = "socket.io", timeout = 10_000 } = {}) {
  const channels = nsps.map((n) => `${key}-request#${n}#`);
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    try {
      last = await numsub(port, ...channels);
      if (channels.every((c) => last[c] === count)) return;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`expected ${count} subscribers on ${channels.join(", ")}, have ${JSON.stringify(last)}`);
    await sleep(25);
  }
}

/**
 * For the Redis Streams adapter (ours and @socket.io/redis-streams-adapter
 * 0.3): waits until `count` nodes subscribe to the public channel of each
 * namespace (`<prefix>#<nsp>#`) and at least `count` connections are blocked
 * in XREAD (each node's reader: its "$" is fixed once XREAD runs, so an entry
 * added afterwards reaches it).
 */
export async function waitStreamsReady(port, count, { nsps = ["/"], prefix = "socket.io", timeout = 10_000 } = {}) {
  const channels = nsps.map((n) => `${prefix}#${n}#`);
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    try {
      const subs = await numsub(port, ...channels);
      const readers = String(await redisCommand(port, "CLIENT", "LIST"))
        .split("\n")
        .filter((l) => / cmd=xread\b/.test(l)).length;
      last = { subs, readers };
      if (channels.every((c) => subs[c] === count) && readers >= count) return;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`expected ${count} streams nodes ready, have ${JSON.stringify(last)}`);
    await sleep(25);
  }
}

// ---------------------------------------------------------------------------
// redis-server

/**
 * Starts Debian's redis-server on 127.0.0.1 and a free port (or `port`), with
 * its own temporary directory, no persistence. Resolves
 * {port, url, dir, pid(), log(), kill(), restart(), stop()}:
 *   kill()    SIGKILL, resolves once it exited
 *   restart() starts it again on the same port and waits until it answers PING
 *   stop()    ends it and removes its directory (idempotent)
 */
export async function startRedis({ port } = {}) {
  port ??= await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sio-redis-"));
  let proc = null;
  let exited = null;
  let log = "";

  async function launch() {
    proc = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    const p = proc;
    p.stdout.setEncoding("utf8");
    p.stderr.setEncoding("utf8");
    p.stdout.on("data", (d) => (log = (log + d).slice(-20000)));
    p.stderr.on("data", (d) => (log = (log + d).slice(-20000)));
    exited = new Promise((resolve) => {
      p.on("exit", (code, signal) => resolve({ code, signal }));
      p.on("error", (e) => resolve({ code: null, signal: null, error: e }));
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let gone = false;
    exited.then(() => (gone = true));
    for (;;) {
      try {
        if ((await redisCommand(port, "PING")) === "PONG") return;
      } catch {}
      if (gone) throw new Error(`redis-server exited at start on port ${port}:\n${log}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within ${READY_TIMEOUT_MS} ms:\n${log}`);
      await sleep(20);
    }
  }

  async function kill() {
    if (!proc) return;
    const p = proc;
    const e = exited;
    proc = null;
    if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await e;
  }

  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    if (proc) {
      const p = proc;
      const e = exited;
      proc = null;
      if (p.exitCode === null && p.signalCode === null) {
        p.kill("SIGTERM");
        const killer = setTimeout(() => p.kill("SIGKILL"), 3000);
        await e;
        clearTimeout(killer);
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    pid: () => proc?.pid ?? null,
    log: () => log,
    kill,
    async restart() {
      if (proc) await kill();
      await launch();
    },
    stop,
  };
}

// ---------------------------------------------------------------------------
// Cluster nodes

export const CLUSTER_NODE_SCRIPT = "test/reference/cluster-node.mjs";

/**
 * A C node: `sio-server --app APP --redis URL` (APP clusterkit by default, which
 * runs from sio-test-server: lib/server.mjs serverCommand), or
 * with SIO_TEST_TARGET=reference the Node.js cluster node, which runs the same
 * events. Same shape as server.mjs startServer(): {port, url, proc, stop(), ...};
 * stop() fails on a bad exit or a sanitizer report.
 */
export function startCNode(redisUrl, { app = "clusterkit", args = [], env = {} } = {}) {
  return startServer({ args: ["--app", app, "--redis", redisUrl, ...args], env, reference: CLUSTER_NODE_SCRIPT });
}

/**
 * A Node.js node: test/reference/cluster-node.mjs (socket.io 4.8 +
 * @socket.io/redis-adapter 8.x) on 127.0.0.1 and a free port, whatever the
 * test target. Resolves {port, url, proc, stderr(), stdout(), stop()}.
 */
export async function startNodeNode(redisUrl, { args = [] } = {}) {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(REPO_ROOT, CLUSTER_NODE_SCRIPT), "--host", "127.0.0.1", "--port", String(port), "--redis", redisUrl, ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.setEncoding("utf8");
  proc.stderr.setEncoding("utf8");
  proc.stdout.on("data", (d) => (stdout += d));
  proc.stderr.on("data", (d) => (stderr += d));
  let exit = null;
  const exited = new Promise((resolve) => {
    proc.on("exit", (code, signal) => resolve((exit = { code, signal })));
    proc.on("error", (e) => resolve((exit = { code: null, signal: null, error: e })));
  });
  const describe = () => `cluster-node.mjs on port ${port}` + (exit ? ` (exit ${exit.code}, signal ${exit.signal})` : "") + (stderr ? `\n--- stderr ---\n${stderr.slice(-4000)}` : "");
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!stdout.includes("listening on")) {
    if (exit) throw new Error(`Node.js cluster node did not start: ${describe()}`);
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`Node.js cluster node not ready within ${READY_TIMEOUT_MS} ms: ${describe()}`);
    }
    await sleep(20);
  }
  let stopped = null;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    proc,
    stdout: () => stdout,
    stderr: () => stderr,
    stop() {
      stopped ??= (async () => {
        if (!exit) {
          proc.kill("SIGTERM");
          const killer = setTimeout(() => proc.kill("SIGKILL"), 5000);
          await exited;
          clearTimeout(killer);
        }
        if (exit.code !== 0) throw new Error(`Node.js cluster node exited badly: ${describe()}`);
      })();
      return stopped;
    },
  };
}

/** Resident memory of a process in KiB (VmRSS of /proc/PID/status). */
export function rssKiB(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

export { isReference };

/**
 * For a describe() block: before its tests, a private Redis, `cNodes` C nodes
 * (startCNode, --app `app`) and `nodeNodes` Node.js nodes (startNodeNode), all
 * on that Redis, ready once each subscribed to the request channel of every
 * namespace in `nsps`; after them, every process is stopped (a C node's bad
 * exit or sanitizer report fails the suite). Returns a holder
 * {redis, c: [...], node: [...]} filled by the before hook.
 */
export function useRedisCluster({ cNodes = 3, nodeNodes = 0, app = "clusterkit", nsps = ["/", "/admin"], env = {}, args = [], streams = false } = {}) {
  // streams: every node on the Redis Streams adapter (ours, and
  // @socket.io/redis-streams-adapter on the Node.js nodes); args go to both kinds.
  const nodeArgs = [...(streams ? ["--adapter", "redis-streams"] : []), ...args];
  const h = { redis: null, c: [], node: [] };
  before(async () => {
    h.redis = await startRedis();
    const settle = async (n, start) => {
      const r = await Promise.allSettled(Array.from({ length: n }, start));
      const ok = r.filter((x) => x.status === "fulfilled").map((x) => x.value);
      const bad = r.find((x) => x.status === "rejected");
      return [ok, bad];
    };
    const [c, badC] = await settle(cNodes, () => startCNode(h.redis.url, { app, env, args: nodeArgs }));
    h.c = c;
    const [node, badN] = await settle(nodeNodes, () => startNodeNode(h.redis.url, { args: nodeArgs }));
    h.node = node;
    if (badC) throw badC.reason;
    if (badN) throw badN.reason;
    if (streams) await waitStreamsReady(h.redis.port, cNodes + nodeNodes, { nsps });
    else await waitSubscribers(h.redis.port, cNodes + nodeNodes, { nsps });
  });
  after(async () => {
    const r = await Promise.allSettled([...h.c, ...h.node].map((n) => n.stop()));
    if (h.redis) await h.redis.stop();
    const bad = r.find((x) => x.status === "rejected");
    if (bad) throw bad.reason;
  });
  return h;
}
