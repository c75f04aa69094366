// Starts and stops the server under test for the integration tests.
//
// The server is `build/sio-server` (or $SIO_SERVER_BIN, relative to the repo
// root); the test-only apps (--app testkit, clusterkit: test/apps/) run from
// sio-test-server next to it (or $SIO_TEST_SERVER_BIN), the same main with
// those apps added, which the product never ships. With
// SIO_TEST_TARGET=reference it is the Node.js reference script for the
// app named by `--app` in the arguments (REFERENCE_SCRIPTS; default
// `test/reference/eio-echo.mjs`, npm engine.io), which takes the same options.
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { closeSessions } from "./eio.mjs";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const TARGET = process.env.SIO_TEST_TARGET === "reference" ? "reference" : "sio-server";
export const isReference = TARGET === "reference";

const SANITIZER_MARKERS = ["ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"];
const READY_TIMEOUT_MS = 10_000;
const KILL_AFTER_MS = 5_000;

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/* A free port for a server that starts only later (a Redis brought up
 * after its clients): taken outside the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range, 32768-60999 here), where every outgoing
 * connection and every listen(0) of the machine's other processes may land
 * on it in the meantime. */
export async function laterPort() {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const ok = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.unref();
      srv.on("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  return freePort();
}

function probe(port) {
  return new Promise((resolve) => {
    const req = http.request(
      // An unknown sid: answered (400) without opening a session, so the probe
      // leaves no idle polling session behind for the shutdown to wait on.
      { host: "127.0.0.1", port, method: "GET", path: "/socket.io/?EIO=4&transport=polling&sid=readiness-probe", agent: false, timeout: 1000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(true));
        res.on("error", () => resolve(true));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

/**
 * The reference script for each app (repo-relative). Apps not listed (and
 * arguments without --app) run test/reference/eio-echo.mjs.
 */
export const REFERENCE_SCRIPTS = {
  "eio-echo": "test/reference/eio-echo.mjs",
  testkit: "test/reference/sio-testkit.mjs",
  chat: "test/reference/sio-testkit.mjs",
  bench: "test/reference/sio-testkit.mjs",
  conformance: "test/reference/sio-testkit.mjs",
};

/** The app named by --app in args, or null. */
export function appOf(args = []) {
  let app = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--app" && i + 1 < args.length) app = args[i + 1];
    else if (typeof args[i] === "string" && args[i].startsWith("--app=")) app = args[i].slice(6);
  }
  return app;
}

/** The reference script that serves the app named by --app in args. */
export function referenceScript(args = []) {
  return REFERENCE_SCRIPTS[appOf(args)] ?? REFERENCE_SCRIPTS["eio-echo"];
}

/** Apps of sio-test-server only (test/apps/registry.c), not of the product. */
export const TEST_ONLY_APPS = new Set(["testkit", "clusterkit", "adapterkit"]);

/** The product binary: $SIO_SERVER_BIN (repo-relative) or build/sio-server. */
export function serverBin() {
  return path.resolve(REPO_ROOT, process.env.SIO_SERVER_BIN || "build/sio-server");
}

/** The test binary: $SIO_TEST_SERVER_BIN, else sio-test-server next to `bin`. */
export function testServerBin(bin = serverBin()) {
  if (process.env.SIO_TEST_SERVER_BIN) return path.resolve(REPO_ROOT, process.env.SIO_TEST_SERVER_BIN);
  return path.join(path.dirname(bin), "sio-test-server");
}

/**
 * [command, argv] that runs the server under test with the given arguments:
 * the product, or sio-test-server for a test-only app.
 * `reference` (repo-relative script) overrides the reference script chosen from --app.
 */
export function serverCommand(args = [], { reference } = {}) {
  if (isReference) return [process.execPath, [path.join(REPO_ROOT, reference ?? referenceScript(args)), ...args]];
  return [TEST_ONLY_APPS.has(appOf(args)) ? testServerBin() : serverBin(), args];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns the server on 127.0.0.1 and a free port, and waits until
 * GET /socket.io/?EIO=4&transport=polling&sid=readiness-probe answers (any status).
 * `reference` overrides the reference script (see serverCommand).
 * Returns {port, url, proc, stderr(), stop()}. stop() throws when the server did
 * not exit with code 0 or printed a sanitizer report on stderr.
 */
export async function startServer({ args = [], env = {}, reference } = {}) {
  const port = await freePort();
  const [cmd, argv] = serverCommand(["--host", "127.0.0.1", "--port", String(port), ...args], { reference });
  const proc = spawn(cmd, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  proc.stderr.setEncoding("utf8");
  proc.stderr.on("data", (d) => (stderr += d));
  proc.stdout.setEncoding("utf8");
  proc.stdout.on("data", (d) => (stdout += d));
  let exit = null;
  let spawnError = null;
  const exited = new Promise((resolve) => {
    proc.on("error", (e) => {
      spawnError = e;
      exit = { code: null, signal: null };
      resolve(exit);
    });
    proc.on("exit", (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });

  const describe = () =>
    `${path.basename(cmd)} ${argv.join(" ")}` +
    (exit ? ` (exit code ${exit.code}, signal ${exit.signal})` : "") +
    (spawnError ? `: ${spawnError.message}` : "") +
    (stderr ? `\n--- server stderr ---\n${stderr.slice(-8000)}` : "");

  let stopped = null;
  async function stop() {
    if (!stopped) {
      stopped = (async () => {
        if (exit === null) {
          proc.kill("SIGTERM");
          const killer = setTimeout(() => proc.kill("SIGKILL"), KILL_AFTER_MS);
          await exited;
          clearTimeout(killer);
        }
        // Let the last stderr bytes arrive.
        await new Promise((r) => setImmediate(r));
        const problems = [];
        if (exit.code !== 0) problems.push(`server exited with code ${exit.code} (signal ${exit.signal})`);
        for (const m of SANITIZER_MARKERS) if (stderr.includes(m)) problems.push(`sanitizer report (${m}) on stderr`);
        if (problems.length) throw new Error(`${problems.join("; ")}: ${describe()}`);
      })();
    }
    return stopped;
  }

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exit !== null) throw new Error(`server did not start: ${describe()}`);
    if (await probe(port)) break;
    if (Date.now() > deadline) {
      await stop().catch(() => {});
      throw new Error(`server did not answer within ${READY_TIMEOUT_MS} ms: ${describe()}`);
    }
    await sleep(50);
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    proc,
    stderr: () => stderr,
    stdout: () => stdout,
    stop,
  };
}

/**
 * Starts the Engine.IO echo app (`--app eio-echo`) with the given extra options,
 * and registers its stop() with the test context's after hook, so a failing
 * stop() (bad exit code, sanitizer report) fails that test.
 */
export async function startEcho(t, { args = [], env = {} } = {}) {
  const server = await startServer({ args: ["--app", "eio-echo", ...args], env });
  t.after(async () => {
    await closeSessions(server);
    await server.stop();
  });
  return server;
}

/**
 * For a describe() block: starts one echo server before its tests and stops it
 * after them (a failing stop() fails the suite). Returns a holder whose
 * `.server` is the running server. Call at describe() level.
 */
export function useEchoServer({ args = [], env = {} } = {}) {
  const holder = { server: null };
  before(async () => {
    holder.server = await startServer({ args: ["--app", "eio-echo", ...args], env });
  });
  after(async () => {
    if (!holder.server) return;
    // Tests clean up after themselves: end the polling sessions they left open.
    await closeSessions(holder.server);
    await holder.server.stop();
  });
  return holder;
}
