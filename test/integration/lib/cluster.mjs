// Helpers for the cluster tests (cluster_*.test.mjs): start the local cluster
// of compose/run-local.sh (Redis, sio-server nodes, nginx in front, all on
// 127.0.0.1), read what it recorded in its state dir (ports, pids, logs), and
// stop it again, also when a test fails or the test process exits early.
import { execFile, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";

import { freePort, REPO_ROOT } from "./server.mjs";

export const RUN_LOCAL = path.join(REPO_ROOT, "compose/run-local.sh");
export const NGINX_TEMPLATE = path.join(REPO_ROOT, "nginx/sio.conf");

const SANITIZER_MARKERS = ["ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"];

/** Runs compose/run-local.sh CMD...; resolves {code, stdout, stderr} (never rejects on a non-zero exit). */
export function runLocal(args, env = {}, { timeout = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(RUN_LOCAL, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") return reject(new Error(`run-local.sh ${args.join(" ")}: ${err.message}\n${stderr}`));
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

/** Parses KEY=value lines (cluster.env). */
function parseEnv(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

// Clusters not stopped yet, and nginx processes of startNginx(): stopped
// (synchronously) if the test process exits before their after hooks ran.
const running = new Set();
const nginxProcs = new Set();
process.on("exit", () => {
  for (const p of nginxProcs) p.kill("SIGTERM");
  for (const c of running) spawnSync(RUN_LOCAL, ["down"], { env: { ...process.env, ...c.env }, stdio: "ignore", timeout: 30_000 });
});

/**
 * Starts a cluster with `compose/run-local.sh up` on a free nginx port and a
 * state dir of its own. Options: ipHash (default true; false sets IP_HASH=0),
 * app, nodes, nodeArgs (NODE_ARGS), env (more variables for run-local.sh).
 * Returns the cluster: {port, url, stateDir, info (cluster.env), nodes
 * [{name, port, pid, log}], nginxPid, redisPort, accessLog(), nodeLog(name),
 * killNode(name, signal), down()}.
 */
export async function startCluster({ ipHash = true, app = "bench", nodes = 3, nodeArgs = [], env = {} } = {}) {
  const port = await freePort();
  const stateDir = path.join(os.tmpdir(), `sio-cluster-test-${process.pid}-${port}`);
  const runEnv = {
    PORT: String(port),
    COMPOSE_STATE_DIR: stateDir,
    APP: app,
    NODES: String(nodes),
    IP_HASH: ipHash ? "1" : "0",
    NODE_ARGS: nodeArgs.join(" "),
    // run-local.sh stops the cluster by itself once this process is gone,
    // even when it was killed before its after hooks ran.
    WATCH_PID: String(process.pid),
    ...env,
  };
  const cluster = { env: runEnv };
  running.add(cluster);
  const up = await runLocal(["up"], runEnv);
  if (up.code !== 0) {
    await runLocal(["down"], runEnv).catch(() => {});
    running.delete(cluster);
    throw new Error(`run-local.sh up failed (exit ${up.code}):\n${up.stdout}\n${up.stderr}`);
  }
  const info = parseEnv(fs.readFileSync(path.join(stateDir, "cluster.env"), "utf8"));
  const nodeList = [];
  for (let i = 1; i <= Number(info.NODES); i++) {
    nodeList.push({ name: `node${i}`, port: Number(info[`NODE${i}_PORT`]), pid: Number(info[`NODE${i}_PID`]), log: info[`NODE${i}_LOG`] });
  }
  let downed = null;
  Object.assign(cluster, {
    port,
    url: `http://127.0.0.1:${port}`,
    stateDir,
    info,
    upOutput: up.stdout,
    nodes: nodeList,
    nginxPid: Number(info.NGINX_PID),
    redisPort: Number(info.REDIS_PORT),

    /** The node listening on "127.0.0.1:PORT" (an $upstream_addr), or undefined. */
    nodeByAddr(addr) {
      return nodeList.find((n) => `127.0.0.1:${n.port}` === addr);
    },

    /** nginx's access log (nginx/sio.conf's sio_json format), one object per request. */
    accessLog() {
      let text = "";
      try {
        text = fs.readFileSync(info.NGINX_ACCESS_LOG, "utf8");
      } catch {
        return [];
      }
      return text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    },

    errorLog() {
      try {
        return fs.readFileSync(info.NGINX_ERROR_LOG, "utf8");
      } catch {
        return "";
      }
    },

    /** A node's stdout and stderr so far. */
    nodeLog(name) {
      const n = nodeList.find((x) => x.name === name);
      try {
        return fs.readFileSync(n.log, "utf8");
      } catch {
        return "";
      }
    },

    /** Sends `signal` to a node (by its recorded pid) and waits until it is gone. */
    async killNode(name, signal = "SIGKILL") {
      const n = nodeList.find((x) => x.name === name);
      process.kill(n.pid, signal);
      const deadline = Date.now() + 10_000;
      while (isAlive(n.pid)) {
        if (Date.now() > deadline) throw new Error(`${name} (pid ${n.pid}) still alive 10 s after ${signal}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      n.killed = true;
    },

    /**
     * `run-local.sh down`; throws when it fails, when a process is left, or
     * when a node log holds a sanitizer report.
     */
    down() {
      downed ??= (async () => {
        // Reports written before the nodes were stopped; `down` itself fails
        // on those written at exit (LeakSanitizer).
        const logs = Object.fromEntries(nodeList.map((n) => [n.name, cluster.nodeLog(n.name)]));
        const r = await runLocal(["down"], runEnv);
        running.delete(cluster);
        const problems = [];
        if (r.code !== 0) problems.push(`run-local.sh down exited with ${r.code}:\n${r.stderr.slice(-8000)}`);
        for (const pid of [cluster.nginxPid, ...nodeList.map((n) => n.pid)]) if (isAlive(pid)) problems.push(`pid ${pid} still alive after down`);
        if (fs.existsSync(stateDir)) problems.push(`${stateDir} still exists after down`);
        for (const [name, text] of Object.entries(logs)) {
          for (const m of SANITIZER_MARKERS) if (text.includes(m)) problems.push(`${name}: sanitizer report (${m}):\n${text.slice(-4000)}`);
        }
        if (problems.length) throw new Error(problems.join("\n"));
      })();
      return downed;
    },
  });
  return cluster;
}

/** Whether pid is a live process (a zombie counts as gone). */
export function isAlive(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^State:\s+(\S)/m.exec(status);
    return !!m && m[1] !== "Z" && m[1] !== "X";
  } catch {
    return false;
  }
}

/**
 * For a describe() block: starts a cluster before its tests and stops it
 * after them (a failing down() fails the suite). Returns a holder whose
 * `.cluster` is the running cluster.
 */
export function useCluster(opts = {}) {
  const holder = { cluster: null };
  before(async () => {
    holder.cluster = await startCluster(opts);
  });
  after(async () => {
    if (holder.cluster) await holder.cluster.down();
  });
  return holder;
}

/** Counts of the access-log entries per upstream address ("" when nginx answered itself). */
export function upstreamCounts(entries) {
  const counts = {};
  for (const e of entries) counts[e.upstream] = (counts[e.upstream] ?? 0) + 1;
  return counts;
}

/**
 * Writes an nginx config for the given upstream addresses into a new temp dir
 * (`run-local.sh nginx-config`) and runs nginx on it (listening on a free
 * 127.0.0.1 port). Returns {port, url, dir, accessLog(), stop()}; stop() removes the dir.
 */
export async function startNginx(upstreams, { ipHash = true } = {}) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sio-nginx-test-"));
  const env = { PORT: String(port), IP_HASH: ipHash ? "1" : "0" };
  const r = await runLocal(["nginx-config", dir, ...upstreams], env);
  if (r.code !== 0) throw new Error(`run-local.sh nginx-config failed: ${r.stderr}`);
  const conf = path.join(dir, "nginx.conf");
  const errLog = path.join(dir, "logs/nginx-error.log");
  // nginx under a small shell that stops it when SIGTERMed, and also once this
  // process is gone (even killed with SIGKILL, when no exit hook runs).
  const script = `
    nginx -p "$1" -c "$2" -e "$3" -g 'daemon off;' & n=$!
    trap 'kill -TERM $n 2>/dev/null; wait $n; exit 0' TERM INT
    while kill -0 $n 2>/dev/null && [ -d /proc/$4 ] && ! grep -q '^State:[[:space:]]*Z' /proc/$4/status 2>/dev/null; do
      sleep 0.5 & wait $!
    done
    kill -TERM $n 2>/dev/null; wait $n
    [ -d /proc/$4 ] || rm -rf "$1"`;
  const proc = spawn("bash", ["-c", script, "nginx-watch", dir, conf, errLog, String(process.pid)], { stdio: "ignore" });
  nginxProcs.add(proc);
  const exited = new Promise((resolve) => proc.on("exit", resolve));
  proc.on("exit", () => nginxProcs.delete(proc));
  let stopped = null;
  const stop = () =>
    (stopped ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    })());
  // Ready when the port accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) {
      const log = fs.existsSync(errLog) ? fs.readFileSync(errLog, "utf8") : "";
      await stop();
      throw new Error(`nginx exited at start:\n${log}`);
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error("nginx did not listen within 10 s");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    sioConf: () => fs.readFileSync(path.join(dir, "sio.conf"), "utf8"),
    accessLog: () =>
      fs
        .readFileSync(path.join(dir, "logs/sio-access.log"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    stop,
  };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
