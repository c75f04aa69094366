// Operations: --log-file with SIGHUP reopening it (log rotation), and one
// log line per event.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startServer, isReference } from "./lib/server.mjs";

const waitFor = async (cond, ms = 5000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
};

test("SIGHUP reopens --log-file after rotation", { skip: isReference && "sio-server only" }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sio-log-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "server.log");
  const srv = await startServer({ args: ["--app", "eio-echo", "--log-file", file] });
  t.after(() => srv.stop());
  assert.ok(await waitFor(() => fs.existsSync(file) && /listening on/.test(fs.readFileSync(file, "utf8"))));
  // Every line is one event: timestamp, level, message.
  for (const line of fs.readFileSync(file, "utf8").trim().split("\n"))
    assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARN|ERROR) \S/);
  fs.renameSync(file, file + ".1");
  srv.proc.kill("SIGHUP");
  assert.ok(await waitFor(() => fs.existsSync(file) && /log file reopened/.test(fs.readFileSync(file, "utf8"))));
  assert.doesNotMatch(fs.readFileSync(file + ".1", "utf8"), /log file reopened/);
  // The server still serves after the signal.
  const res = await fetch(`${srv.url}/healthz`);
  assert.equal(res.status, 200);
});
