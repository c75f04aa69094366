// The installed product in Chromium (test/install/run.sh runs this with
// SIO_INSTALL_PREFIX set): PREFIX/bin/sio-server --app chat, started from a
// directory that is not the checkout, serves its demo page and the
// socket.io-client bundle from PREFIX/share/sio-server, and the page connects
// and chats. Without the bundle the page says so (state no-client) instead of
// "connecting" forever.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";

import { openPage, sioObserver, send, useBrowser, waitMessage, waitState } from "../integration/lib/browser.mjs";
import { freePort } from "../integration/lib/server.mjs";

const PREFIX = process.env.SIO_INSTALL_PREFIX;

/** PREFIX/bin/sio-server with args, cwd an empty temp dir; resolves once it answers. */
async function startInstalled(t, args = []) {
  const port = await freePort();
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "sio-installed-"));
  const proc = spawn(path.join(PREFIX, "bin/sio-server"), ["--host", "127.0.0.1", "--port", String(port), "--app", "chat", ...args], {
    cwd,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr.setEncoding("utf8");
  proc.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
  t.after(async () => {
    proc.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);
    fs.rmSync(cwd, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`installed sio-server did not answer:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, stderr: () => stderr };
}

describe("installed sio-server in Chromium", { skip: PREFIX ? false : "SIO_INSTALL_PREFIX not set (test/install/run.sh sets it)" }, () => {
  const b = useBrowser();

  test("the installed demo page connects and chats", async (t) => {
    const srv = await startInstalled(t);
    const page = await openPage(t, b.browser, `${srv.url}/`);
    await waitState(page, "connected");
    const observer = await sioObserver(t, srv.url);
    await send(page, "hello from the installed page");
    await waitMessage(page, `Client #${await page.evaluate(() => window.__demo.sid)} said: hello from the installed page`);
    assert.ok(observer.lines.some((l) => l.endsWith("said: hello from the installed page")), JSON.stringify(observer.lines));
    assert.ok(page.requested.some((u) => u.endsWith("/socket.io/socket.io.min.js")), "the page loaded the bundle");
    assert.deepEqual(page.problems, []);
  });

  test("without the client bundle the page says so and the server warns", async (t) => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "sio-no-client-"));
    t.after(() => fs.rmSync(empty, { recursive: true, force: true }));
    const srv = await startInstalled(t, ["--client-dir", empty]);
    assert.match(srv.stderr(), /WARN .*socket\.io-client browser bundle.*--client-dir/);
    const page = await openPage(t, b.browser, `${srv.url}/`);
    await waitState(page, "no-client");
    const text = await page.textContent("#messages");
    assert.match(text, /did not load/);
    assert.equal(await page.textContent("#pill-text"), "client bundle missing");
  });
});
