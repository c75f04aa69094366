// The demo page with connection state recovery (on by default in the chat
// app): Chromium loads the page through a TCP proxy; the proxy resets the
// connection and keeps the network down while another client sends two chat
// messages; when the network is back the page reconnects by itself and shows
// that its session was recovered and that the 2 missed messages were
// replayed (the Session field, a system line, body data-recovered).
// Screenshot: test-output/screenshots/recovered.png.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { demoState, openPage, screenshot, sioObserver, sioServer, useBrowser, waitDemo, waitState } from "./lib/browser.mjs";
import { resetProxy } from "./lib/recovery.mjs";

describe("browser: connection state recovery on the demo page", () => {
  const br = useBrowser();

  test("after a cut the page shows the session recovered and the missed messages replayed", async (t) => {
    const srv = await sioServer({ args: ["--app", "chat"] });
    t.after(() => srv.stop());
    await srv.start();
    const proxy = await resetProxy(srv.port);
    t.after(() => proxy.close());
    const page = await openPage(t, br.browser, `${proxy.url}/?mode=sio&delay=200&delayMax=1000`);
    await waitState(page, "connected");
    await waitDemo(page, "(d) => d.transport === 'websocket'", { what: "upgrade" });
    const observer = await sioObserver(t, srv.url);
    observer.emit("message", "before the cut");
    await waitDemo(page, "(d) => d.messages.some((m) => m.endsWith('before the cut'))", { what: "first message" });
    const sid = (await demoState(page)).sid;

    proxy.pause();
    proxy.resetAll();
    await waitState(page, "reconnecting");
    observer.emit("message", "while away 1");
    observer.emit("message", "while away 2");
    const deadline = Date.now() + 10_000;
    while (observer.lines.filter((l) => l.includes("while away")).length < 2) {
      if (Date.now() > deadline) throw new Error("the observer did not see its messages");
      await new Promise((r) => setTimeout(r, 20));
    }
    proxy.resume();

    await waitState(page, "connected", { timeout: 30_000 });
    await waitDemo(page, "(d) => d.recovered !== null", { what: "reconnect noted" });
    const d = await demoState(page);
    assert.equal(d.recovered, true);
    assert.equal(d.replayed, 2);
    assert.equal(d.sid, sid, "same Socket.IO id");
    const lines = d.messages.filter((m) => m.includes("while away"));
    assert.equal(lines.length, 2);
    assert.ok(lines[0].endsWith("while away 1") && lines[1].endsWith("while away 2"));
    assert.equal(await page.evaluate(() => document.body.dataset.recovered), "true");
    assert.equal(await page.evaluate(() => document.getElementById("session").textContent), "recovered (2 replayed)");
    const system = await page.evaluate(() => [...document.querySelectorAll("li.system")].map((li) => li.textContent));
    assert.ok(system.includes("Session recovered: 2 missed messages replayed."), system.join(" | "));
    await screenshot(page, "recovered");
    assert.deepEqual(page.problems, []);
  });
});
