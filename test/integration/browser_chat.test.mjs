// The demo page (js-client/, served at /) in headless Debian Chromium: it
// loads everything from the server's own origin, connects through Socket.IO
// (polling upgraded to WebSocket) and through the plain /ws endpoint, and a
// message crosses the Socket.IO <-> /ws bridge both ways.
// Screenshots: test-output/screenshots/{connecting,connected}-*.png.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { demoState, openPage, screenshot, send, sioServer, useBrowser, waitDemo, waitMessage, waitState } from "./lib/browser.mjs";

describe("browser: demo page", () => {
  const br = useBrowser();
  let srv;
  before(async () => {
    srv = await sioServer({ args: ["--app", "chat"] });
    await srv.start();
  });
  after(async () => {
    if (srv) await srv.stop();
  });

  test("connecting (handshake held back), then connected: everything from the page's own origin", async (t) => {
    let held = null;
    const handshakeHeld = new Promise((resolve) => (held = resolve));
    const routes = [];
    // Hold the Engine.IO handshake, so that the page stays in "connecting".
    const isHandshake = (url) => url.pathname === "/socket.io/" && url.searchParams.get("EIO") === "4" && !url.searchParams.has("sid");
    const hold = (route) => {
      routes.push(route);
      held();
    };
    const page = await openPage(t, br.browser, `${srv.url}/?mode=sio`, { setup: (p) => p.route(isHandshake, hold) });
    await handshakeHeld;
    await waitState(page, "connecting");
    assert.equal(await page.getAttribute("body", "data-attempt"), "0");
    await screenshot(page, "connecting-sio");
    for (const r of routes) await r.continue();
    await page.unroute(isHandshake, hold);
    await waitState(page, "connected");
    await waitDemo(page, "(d) => d.transport === 'websocket' && d.upgradedAfterMs !== null", { what: "upgrade to WebSocket" });
    const d = await demoState(page);
    assert.equal(d.log.find((e) => e.event === "engine open")?.detail, "polling", "starts on polling");
    assert.equal(await page.getAttribute("body", "data-transport"), "websocket");
    assert.match(await page.textContent("#transport"), /upgraded from polling/);
    // No CDN: the page, its CSS and script, the socket.io-client bundle, the
    // Engine.IO requests: all on the page's origin.
    const foreign = page.requested.filter((u) => !u.startsWith(srv.url) && !u.startsWith(srv.url.replace("http:", "ws:")) && !u.startsWith("data:"));
    assert.deepEqual(foreign, []);
    assert.ok(page.requested.includes(`${srv.url}/socket.io/socket.io.min.js`), "loads the served socket.io-client bundle");
    assert.deepEqual(page.problems, []);
  });

  test("both modes: a message is broadcast, and crosses the Socket.IO <-> /ws bridge", async (t) => {
    const sio = await openPage(t, br.browser, `${srv.url}/?mode=sio`);
    const ws = await openPage(t, br.browser, `${srv.url}/?mode=ws`);
    await waitState(sio, "connected");
    await waitState(ws, "connected");
    assert.equal(await ws.getAttribute("body", "data-mode"), "ws");
    assert.equal(await ws.getAttribute("body", "data-transport"), "websocket");
    const sid = (await demoState(sio)).sid;
    assert.match(sid, /^\S+$/);

    // Socket.IO page -> everyone (itself included), and to the /ws page.
    await send(sio, "hello from Socket.IO");
    await waitMessage(sio, `Client #${sid} said: hello from Socket.IO`);
    await waitMessage(ws, `Client #${sid} said: hello from Socket.IO`);

    // /ws page -> the Socket.IO page (the /ws endpoint does not echo to its sender).
    await send(ws, "hello from /ws");
    await waitDemo(sio, "(d) => d.messages.some((m) => /^Client #\\S+ said: hello from \\/ws$/.test(m))", { what: "the /ws message on the Socket.IO page" });
    // The page shows its own /ws message itself.
    assert.match(await ws.textContent("#messages"), /You said: hello from \/ws/);

    // A second /ws page sees the first one's messages too.
    const ws2 = await openPage(t, br.browser, `${srv.url}/?mode=ws`);
    await waitState(ws2, "connected");
    await send(ws, "to every /ws client");
    await waitDemo(ws2, "(d) => d.messages.some((m) => m.endsWith(' said: to every /ws client'))", { what: "the /ws message on the other /ws page" });
    await waitDemo(sio, "(d) => d.messages.some((m) => m.endsWith(' said: to every /ws client'))", { what: "the /ws message on the Socket.IO page" });
    assert.equal((await demoState(ws)).messages.filter((m) => m.endsWith("to every /ws client")).length, 0, "no echo to the sender");

    await send(sio, "and back");
    await waitMessage(ws, `Client #${sid} said: and back`);
    await waitMessage(ws2, `Client #${sid} said: and back`);
    // The user count (Socket.IO clients) is on the Socket.IO page.
    assert.match(await sio.textContent("#users"), /1 on Socket\.IO/);

    await screenshot(sio, "connected-sio");
    await screenshot(ws, "connected-ws");
    for (const p of [sio, ws, ws2]) assert.deepEqual(p.problems, []);
  });

  test("the mode toggle switches between Socket.IO and /ws, and keeps it in the URL", async (t) => {
    const page = await openPage(t, br.browser, `${srv.url}/`);
    await waitState(page, "connected");
    assert.equal(await page.getAttribute("body", "data-mode"), "sio", "Socket.IO by default");
    await page.click("#mode-ws");
    await waitDemo(page, "(d) => d.mode === 'ws' && d.state === 'connected'", { what: "connected over /ws" });
    assert.equal(new URL(page.url()).searchParams.get("mode"), "ws");
    assert.equal(await page.getAttribute("#mode-ws", "aria-pressed"), "true");
    await send(page, "after the switch");
    await page.click("#mode-sio");
    await waitDemo(page, "(d) => d.mode === 'sio' && d.state === 'connected' && d.transport !== ''", { what: "connected over Socket.IO" });
    assert.equal(new URL(page.url()).searchParams.get("mode"), "sio");
    await send(page, "back on Socket.IO");
    await waitDemo(page, "(d) => d.messages.some((m) => m.endsWith(' said: back on Socket.IO'))", { what: "own message" });
    assert.deepEqual(page.problems, []);
  });

  test("the /ws backoff: 1 s, 2 s, 4 s ... capped at 30 s, within ±20 % jitter", async (t) => {
    const page = await openPage(t, br.browser, `${srv.url}/?mode=ws`);
    const table = await page.evaluate(() => {
      const f = window.__demo.plannedDelay;
      const rows = [];
      for (let n = 1; n <= 12; n++) rows.push([n, f(n, 0), f(n, 0.5), f(n, 0.999999)]);
      return rows;
    });
    for (const [n, low, mid, high] of table) {
      const base = Math.min(1000 * 2 ** (n - 1), 30_000);
      assert.equal(mid, base, `attempt ${n}: no jitter in the middle`);
      assert.equal(low, Math.round(base * 0.8), `attempt ${n}: -20 %`);
      assert.equal(high, Math.min(Math.round(base * 1.2), 30_000), `attempt ${n}: +20 %, never above 30 s`);
    }
    // Socket.IO mode: the Manager's options are set explicitly from the same settings.
    const sio = await openPage(t, br.browser, `${srv.url}/?mode=sio&delay=300&delayMax=5000&jitter=0.1`);
    await waitState(sio, "connected");
    const d = await demoState(sio);
    assert.deepEqual(d.config, { delay: 300, delayMax: 5000, jitter: 0.1, connectTimeout: 10_000, path: "/socket.io/", wsPath: "/ws" });
    assert.deepEqual(d.sioOptions, { reconnectionDelay: 300, reconnectionDelayMax: 5000, randomizationFactor: 0.1 });
    // And by default the same schedule as /ws: 1 s doubling to 30 s, ±20 %.
    const def = await openPage(t, br.browser, `${srv.url}/?mode=sio`);
    await waitState(def, "connected");
    assert.deepEqual((await demoState(def)).sioOptions, { reconnectionDelay: 1000, reconnectionDelayMax: 30_000, randomizationFactor: 0.2 });
  });
});
