// Defaults that do not cap users: with no --max-connections, the session cap
// follows the process's open-file limit (raised to the hard limit at start),
// not a round number. 10,000 WebSocket sessions (the C load generator
// sio-bench, Socket.IO CONNECT included) plus 50 long-polling socket.io-client
// clients: all 10,050 connect to a server started with its defaults, and the
// figure it logged says how many it will take.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { closeAll, openMany, scrape, waitFor } from "./lib/reliability.mjs";
import { REPO_ROOT, isReference, startServer } from "./lib/server.mjs";

const WS_SESSIONS = 10_000;
const POLLING = 50;
const BENCH = path.join(REPO_ROOT, "build/sio-bench");

test(`defaults: ${WS_SESSIONS + POLLING} concurrent sessions (WebSocket and polling) all connect`, { timeout: 300_000 }, async (t) => {
  if (isReference) return t.skip("sio-server's open-file default");
  if (!fs.existsSync(BENCH)) return t.skip("build/sio-bench not built");
  const server = await startServer({ args: ["--app", "bench"] });
  let bench = null;
  let polling = [];
  t.after(async () => {
    closeAll(polling);
    if (bench && bench.exitCode === null) bench.kill("SIGKILL");
    await server.stop();
  });

  const m = /open-file limit (\d+): up to (\d+) sessions/.exec(server.stderr());
  assert.ok(m, `the server logs its open-file limit and session cap: ${server.stderr()}`);
  const cap = Number(m[2]);
  assert.ok(cap >= WS_SESSIONS + POLLING, `session cap ${cap} follows the open-file limit ${m[1]}, not 10,000`);

  // The load generator holds its sessions open (--hold) while the polling
  // clients join, then closes them and reports.
  let out = "";
  bench = spawn(
    BENCH,
    ["idle", "--url", server.url, "--server-pid", String(server.proc.pid), "-n", String(WS_SESSIONS), "--sio", "--hold", "20", "--settle", "1", "--timeout", "200"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  bench.stdout.on("data", (d) => (out += d));
  bench.stderr.on("data", (d) => (out += d));
  const benchDone = new Promise((r) => bench.on("exit", (code) => r(code)));

  await waitFor(async () => (await scrape(server)).get('sio_sessions{transport="websocket"}') >= WS_SESSIONS, {
    timeout: 200_000,
    step: 500,
    what: `${WS_SESSIONS} WebSocket sessions`,
  });
  polling = await openMany(server.url, POLLING, { transports: ["polling"] }, { parallel: 10, timeout: 60_000 });
  assert.equal(polling.filter((s) => s.connected).length, POLLING, "every polling client connected");
  const metrics = await scrape(server);
  const total = metrics.get('sio_sessions{transport="websocket"}') + metrics.get('sio_sessions{transport="polling"}');
  assert.ok(total >= WS_SESSIONS + POLLING, `${total} sessions at once`);
  assert.equal(metrics.get('sio_handshake_rejections_total{reason="max_connections"}'), 0, "no handshake refused for capacity");

  const code = await benchDone;
  const result = /RESULT (\{.*\})/.exec(out);
  assert.ok(result, `sio-bench reported: ${out.slice(-2000)}`);
  const r = JSON.parse(result[1]);
  assert.equal(code, 0, `sio-bench passed its checks: ${out.slice(-2000)}`);
  t.diagnostic(`sessions ${r.sessions ?? WS_SESSIONS}, failed ${r.failed ?? 0}, drops ${r.drops ?? 0}`);
});
