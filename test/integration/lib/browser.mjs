// Helpers for the browser tests (browser_*.test.mjs): Debian's headless
// Chromium (/usr/bin/chromium, never a downloaded browser) driven by npm
// playwright-core; a sio-server that can be killed and started again on the
// same port; a counting TCP proxy in front of it (what the server side saw);
// the demo page's state (window.__demo, data-* on <body>); screenshots.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { after, before } from "node:test";

import { chromium } from "playwright-core";
import { io } from "socket.io-client";

import { freePort, REPO_ROOT, serverCommand } from "./server.mjs";

export const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
// As the machine notes say: without the background-networking flags Chromium
// tries to reach Google's hosts, which this closed network refuses.
// playwright adds --headless and a fresh --user-data-dir (a new temp profile
// per launch) itself.
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const SCREENSHOT_DIR = path.join(REPO_ROOT, "test-output/screenshots");
export const DOCS_SCREENSHOT = path.join(REPO_ROOT, "docs/demo.png");
export const VIEWPORT = { width: 900, height: 600 };

const SANITIZER_MARKERS = ["ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"];
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (scripts/install-deps)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** For a describe() block: one browser for its tests. Returns a holder whose `.browser` is it. */
export function useBrowser() {
  const holder = { browser: null };
  before(async () => {
    holder.browser = await launchBrowser();
  });
  after(async () => {
    if (holder.browser) await holder.browser.close();
  });
  return holder;
}

// ------------------------------------------------------------------ server

const live = new Set();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** Whether an HTTP request to port gets any answer (see server.mjs's probe). */
function probe(port) {
  return new Promise((resolve) => {
    const req = http.request(
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
 * A sio-server (build/sio-server or $SIO_SERVER_BIN, like startServer) on
 * 127.0.0.1 and a port that stays the same across kill() and start():
 * {port, url, start(), kill(), stop(), stderr()}. stop() (SIGTERM) throws on a
 * non-zero exit or a sanitizer report; kill() is SIGKILL, the crash under test.
 */
export async function sioServer({ args = [], env = {}, port } = {}) {
  port ??= await freePort();
  let proc = null;
  let exited = null;
  let exit = null;
  let stderr = "";
  const srv = {
    port,
    url: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    get running() {
      return proc !== null && exit === null;
    },
    async start({ timeout = 15_000 } = {}) {
      if (srv.running) throw new Error("server already running");
      const [cmd, argv] = serverCommand(["--host", "127.0.0.1", "--port", String(port), ...args]);
      exit = null;
      proc = spawn(cmd, argv, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
      live.add(proc);
      proc.stderr.setEncoding("utf8");
      proc.stderr.on("data", (d) => (stderr += d));
      const p = proc;
      exited = new Promise((resolve) => {
        p.on("error", (e) => {
          exit = { code: null, signal: null, error: e };
          resolve(exit);
        });
        p.on("exit", (code, signal) => {
          exit = { code, signal };
          live.delete(p);
          resolve(exit);
        });
      });
      const deadline = Date.now() + timeout;
      for (;;) {
        if (exit !== null) throw new Error(`server did not start (${JSON.stringify(exit)}):\n${stderr.slice(-4000)}`);
        if (await probe(port)) return srv;
        // The port may still be taken for a moment after a kill: keep trying.
        if (Date.now() > deadline) {
          p.kill("SIGKILL");
          throw new Error(`server did not answer on port ${port} within ${timeout} ms:\n${stderr.slice(-4000)}`);
        }
        await sleep(25);
      }
    },
    async kill() {
      if (!srv.running) return;
      proc.kill("SIGKILL");
      await exited;
      proc = null; // killed on purpose: stop() does not count its exit status
    },
    async stop() {
      if (proc === null) {
        for (const m of SANITIZER_MARKERS) if (stderr.includes(m)) throw new Error(`sanitizer report (${m})\n--- stderr ---\n${stderr.slice(-8000)}`);
        return;
      }
      if (exit === null) {
        proc.kill("SIGTERM");
        const killer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(killer);
      }
      await new Promise((r) => setImmediate(r));
      const problems = [];
      if (exit.code !== 0) problems.push(`server exited with code ${exit.code} (signal ${exit.signal})`);
      for (const m of SANITIZER_MARKERS) if (stderr.includes(m)) problems.push(`sanitizer report (${m})`);
      proc = null;
      if (problems.length) throw new Error(`${problems.join("; ")}\n--- stderr ---\n${stderr.slice(-8000)}`);
    },
  };
  return srv;
}

// ------------------------------------------------------------------- proxy

const REQUEST_LINE = /(GET|POST|PUT|DELETE|OPTIONS|HEAD) (\S+) HTTP\/1\.[01]\r\n/g;

/**
 * A TCP proxy on a free 127.0.0.1 port in front of 127.0.0.1:targetPort that
 * records every connection {at (performance.now()), upstream (true once the
 * server accepted it, false when it could not be reached), requests
 * [{at, method, url}]} (HTTP request lines the browser sent on it; a
 * request sent to a server that is gone is recorded too). A
 * connection the server cannot take is closed at once, as a refused one
 * would fail. Returns {port, url, connections, requests(since), failed(since),
 * handshakes(since), close()}.
 */
export async function countingProxy(targetPort) {
  const connections = [];
  const sockets = new Set();
  const server = net.createServer((client) => {
    const rec = { at: performance.now(), upstream: null, requests: [] };
    connections.push(rec);
    sockets.add(client);
    let pending = "";
    let upgraded = false;
    client.on("data", (chunk) => {
      if (upgraded) return; // WebSocket frames from here on
      pending += chunk.toString("latin1");
      let m;
      let end = 0;
      REQUEST_LINE.lastIndex = 0;
      while ((m = REQUEST_LINE.exec(pending))) {
        rec.requests.push({ at: performance.now(), method: m[1], url: m[2] });
        end = REQUEST_LINE.lastIndex;
      }
      if (/\r\nupgrade:\s*websocket/i.test(pending)) upgraded = true;
      pending = pending.slice(end);
      if (pending.length > 8192) pending = pending.slice(-8192);
    });
    const up = net.connect(targetPort, "127.0.0.1");
    sockets.add(up);
    up.on("connect", () => (rec.upstream = true));
    up.on("error", () => {
      if (rec.upstream === null) rec.upstream = false;
      client.destroy();
    });
    client.on("error", () => up.destroy());
    client.on("close", () => {
      sockets.delete(client);
      up.destroy();
    });
    up.on("close", () => {
      sockets.delete(up);
      // pipe() ended the client after the last bytes; an abort destroys it.
      if (!client.writableEnded) client.destroy();
    });
    client.pipe(up);
    up.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  const requests = (since = -Infinity) =>
    connections.flatMap((c) => c.requests.map((r) => ({ ...r, reached: c.upstream === true }))).filter((r) => r.at >= since);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections,
    requests,
    /** Connections since `since` that the server could not take. */
    failed: (since = -Infinity) => connections.filter((c) => c.at >= since && c.upstream === false),
    /**
     * Connection attempts: Engine.IO handshakes (no sid) and /ws upgrades,
     * each with `reached` (whether the server was there to take it).
     */
    handshakes: (since = -Infinity) =>
      requests(since).filter((r) => (r.url.startsWith("/socket.io/?") && !/[?&]sid=/.test(r.url)) || r.url.split("?")[0] === "/ws"),
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// -------------------------------------------------------------------- page

/**
 * Opens the demo page at `url` in a new browser context (its own storage) of
 * VIEWPORT size. The page records its console errors and uncaught exceptions
 * (page.problems) and every request it made (page.requested: URLs). Closed
 * after the test `t`.
 */
export async function openPage(t, browser, url, { goto = true, setup } = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  t.after(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.problems = [];
  page.requested = [];
  page.on("pageerror", (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // The browser logs failed connections as errors: expected while the server is down.
    if (m.type() === "error" && !/WebSocket|ERR_|Failed to load resource|net::/.test(m.text())) page.problems.push(`console: ${m.text()}`);
  });
  page.on("request", (r) => page.requested.push(r.url()));
  page.on("websocket", (ws) => page.requested.push(ws.url()));
  if (setup) await setup(page);
  if (goto) await page.goto(url, { waitUntil: "load", timeout: 30_000 });
  return page;
}

/** window.__demo, without its functions (JSON). */
export function demoState(page) {
  return page.evaluate(() => {
    const { plannedDelay, ...rest } = window.__demo;
    return JSON.parse(JSON.stringify(rest));
  });
}

/** Waits until `cond(demo)` (a function source run in the page against window.__demo) is true. */
export async function waitDemo(page, cond, { timeout = 20_000, what = String(cond) } = {}) {
  try {
    // Polled from here with page.evaluate (a DevTools evaluation) rather than
    // page.waitForFunction, which compiles the string inside the page: the
    // demo page's Content-Security-Policy (no 'unsafe-eval') forbids that.
    const deadline = Date.now() + timeout;
    for (;;) {
      let ok = false;
      try {
        ok = await page.evaluate(`(${cond})(window.__demo)`);
      } catch (e) {
        // A navigation in between destroys the context: try again.
        if (page.isClosed() || !/context|navigat/i.test(e.message)) throw e;
      }
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`timeout ${timeout} ms exceeded`);
      await sleep(50);
    }
  } catch (e) {
    let st = "";
    try {
      const d = await demoState(page);
      st = JSON.stringify({ ...d, log: d.log.slice(-25) }, null, 1);
    } catch {
      /* page gone */
    }
    throw new Error(`${what}: not within ${timeout} ms (${e.message.split("\n")[0]})\n__demo: ${st}`);
  }
}

/** Waits until <body data-state> is `state`. */
export function waitState(page, state, { timeout = 20_000 } = {}) {
  return waitDemo(page, `(d) => document.body.dataset.state === ${JSON.stringify(state)}`, { timeout, what: `state ${state}` });
}

/** Waits until the page received the chat line `line`. */
export function waitMessage(page, line, { timeout = 20_000 } = {}) {
  return waitDemo(page, `(d) => d.messages.includes(${JSON.stringify(line)})`, { timeout, what: `message ${JSON.stringify(line)}` });
}

/** Types `text` into the page's input and sends it (the input is enabled once connected). */
export async function send(page, text) {
  await page.fill("#input", text);
  await page.press("#input", "Enter");
  await waitDemo(page, `(d) => d.sent.includes(${JSON.stringify(text)})`, { what: `sent ${JSON.stringify(text)}` });
}

/** Saves a screenshot as test-output/screenshots/NAME.png (and to `also`, when given). */
export async function screenshot(page, name, { also } = {}) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, animations: "disabled", caret: "hide" });
  if (also) {
    fs.mkdirSync(path.dirname(also), { recursive: true });
    fs.copyFileSync(file, also);
  }
  return file;
}

/**
 * A socket.io-client in Node on `url` (WebSocket, no reconnection), to see
 * from outside the browser that chat messages flow: `.lines` collects the
 * `message` lines. `auth` e.g. {token}. Disconnected after the test `t`.
 */
export async function sioObserver(t, url, { auth } = {}) {
  const s = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, ...(auth ? { auth } : {}) });
  t.after(() => s.disconnect());
  s.lines = [];
  s.on("message", (l) => s.lines.push(l));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("observer: not connected within 10 s")), 10_000);
    s.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    s.once("connect_error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  return s;
}

/** Polls until cond() is true; throws after timeout. */
export async function until(cond, what, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout} ms`);
    await sleep(20);
  }
}
