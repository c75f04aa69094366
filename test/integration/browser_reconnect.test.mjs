// The demo page when the server dies: sio-server is killed (SIGKILL) under a
// connected page; the page shows "reconnecting" with attempts whose delays
// (measured in the page) grow as specified; the server is started again on
// the same port and the page reconnects by itself within the next retry, and
// chat messages flow again. A counting TCP proxy between the browser and the
// server records what the server side saw: as many connection attempts as the
// page made (no request storm).
//   /ws mode: the page's own backoff at its defaults, 1 s, 2 s, 4 s (±20 %).
//   Socket.IO mode: socket.io-client's backoff with small explicit settings,
//   200 ms doubling, capped at 1 s (±20 %).
// Screenshots: test-output/screenshots/reconnecting-*.png.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { countingProxy, demoState, openPage, screenshot, send, sioObserver, sioServer, until, useBrowser, waitDemo, waitMessage, waitState } from "./lib/browser.mjs";

// Timers on a loaded machine fire late, never early.
const LATE_MS = 600;

const MODES = {
  ws: {
    query: "mode=ws",
    delay: 1000,
    delayMax: 30_000,
    // Restart the server once this many attempts failed: attempts 1 and 2
    // fail (1 s, 2 s), attempt 3 (4 s later) finds the server back.
    failuresBeforeRestart: 2,
  },
  sio: {
    query: "mode=sio&delay=200&delayMax=1000&jitter=0.2",
    delay: 200,
    delayMax: 1000,
    // 200, 400, 800 ms, then capped: 1000, 1000.
    failuresBeforeRestart: 4,
  },
};

/** The backoff's delay before attempt n (1, 2, ...) without jitter. */
const nominal = (m, n) => Math.min(m.delay * 2 ** (n - 1), m.delayMax);

describe("browser: reconnection after the server was killed", () => {
  const br = useBrowser();

  for (const [name, m] of Object.entries(MODES)) {
    test(`${name} mode: reconnecting with growing delays, back by itself after the restart, no request storm`, async (t) => {
      const srv = await sioServer({ args: ["--app", "chat"] });
      t.after(() => srv.stop());
      await srv.start();
      const proxy = await countingProxy(srv.port);
      t.after(() => proxy.close());

      const page = await openPage(t, br.browser, `${proxy.url}/?${m.query}`);
      await waitState(page, "connected");
      if (name === "sio") await waitDemo(page, "(d) => d.transport === 'websocket'", { what: "upgrade" });
      await send(page, "before the crash");

      // The crash.
      const killedAt = performance.now();
      await srv.kill();
      await waitState(page, "reconnecting");
      // Wait until the planned failures happened and the next attempt is scheduled.
      await waitDemo(
        page,
        `(d) => d.state === "reconnecting" && d.history.filter((h) => h.outage === d.history[d.history.length - 1].outage && h.result === "failed").length >= ${m.failuresBeforeRestart} && d.nextRetryAt !== null`,
        { timeout: 30_000, what: `${m.failuresBeforeRestart} failed attempts` },
      );
      // (Read while the page goes on: on a slow machine the next attempt may have started.)
      const during = await demoState(page);
      assert.ok(during.attempt >= m.failuresBeforeRestart, `attempt ${during.attempt}`);
      assert.ok(Number(await page.getAttribute("body", "data-attempt")) >= m.failuresBeforeRestart);
      assert.match(await page.textContent("#countdown"), /^attempt \d+ (in \d+\.\d s|in progress…)$/);
      await screenshot(page, `reconnecting-${name}`);

      // Back on the same port.
      await srv.start();
      const attemptsWhenBack = (await demoState(page)).attempt;
      // The next retry is at most delayMax (+20 % jitter in /ws mode at the
      // cap... which the cap cuts) away; allow for a slow machine.
      await waitState(page, "connected", { timeout: m.delayMax * 1.2 + 15_000 });
      const d = await demoState(page);
      const attempts = d.delays.length;
      assert.ok(attempts <= attemptsWhenBack + 1, `reconnected within the next retry (attempts ${attempts}, ${attemptsWhenBack} when the server was back)`);
      assert.equal(d.attempt, 0, "the attempt count starts over once connected");
      assert.equal(await page.getAttribute("body", "data-attempt"), "0");

      // The delays: as planned by the backoff (within the jitter), measured
      // from the disconnect or the failed attempt to the next attempt.
      assert.equal(d.planned.length, attempts);
      for (let i = 0; i < attempts; i++) {
        const base = nominal(m, i + 1);
        const lo = Math.floor(base * 0.8);
        const hi = Math.min(Math.ceil(base * 1.2), m.delayMax);
        assert.ok(d.planned[i] >= lo && d.planned[i] <= hi, `attempt ${i + 1}: planned ${d.planned[i]} ms not in [${lo}, ${hi}] (${d.planned})`);
        assert.ok(d.delays[i] >= d.planned[i] - 5 && d.delays[i] <= d.planned[i] + LATE_MS, `attempt ${i + 1}: measured ${d.delays[i]} ms, planned ${d.planned[i]} ms`);
      }
      // Growing until the cap: with ±20 % jitter, each doubled delay is
      // longer than the one before.
      for (let i = 1; i < attempts; i++) {
        if (nominal(m, i + 1) < m.delayMax) assert.ok(d.delays[i] > d.delays[i - 1], `delays grow: ${d.delays}`);
        else assert.ok(d.planned[i] <= m.delayMax, `capped at ${m.delayMax}: ${d.planned}`);
      }
      const last = d.history.filter((h) => h.outage === d.history[d.history.length - 1].outage);
      assert.deepEqual(
        last.map((h) => h.result),
        [...Array(attempts - 1).fill("failed"), "connected"],
      );

      // What the server side saw: a refused connection per failed attempt
      // (the request bytes may or may not have arrived before the refusal),
      // and one handshake that reached the restarted server. No storm.
      const refused = proxy.failed(killedAt).length;
      const handshakes = proxy.handshakes(killedAt);
      const reached = handshakes.filter((h) => h.reached);
      t.diagnostic(
        `delays measured ${d.delays.join(", ")} ms; planned ${d.planned.join(", ")} ms; page attempts ${attempts}; ` +
          `proxy: ${refused} refused connections, ${reached.length} handshake(s) reaching the server, ${handshakes.length} handshake requests in all`,
      );
      assert.equal(reached.length, 1, `one handshake reached the restarted server: ${JSON.stringify(handshakes)}`);
      assert.ok(Math.abs(refused + reached.length - attempts) <= 1, `server side: ${refused} refused + ${reached.length} handshake, page: ${attempts} attempts`);
      assert.ok(handshakes.length <= attempts + 1, `${handshakes.length} handshake requests for ${attempts} attempts: ${JSON.stringify(handshakes)}`);

      // Messages flow again, both ways.
      const obs = await sioObserver(t, srv.url);
      await send(page, "after the restart");
      await until(() => obs.lines.some((l) => l.endsWith(" said: after the restart")), "the page's message at the observer");
      obs.emit("message", "welcome back");
      await waitMessage(page, `Client #${obs.id} said: welcome back`);

      // And the next outage starts over at the first delay (in /ws mode once
      // the connection held for demo.stableMs: one dropped sooner keeps the
      // backoff growing).
      if (name === "ws") await waitDemo(page, "(d) => performance.now() - d.connectedAt > d.stableMs + 50", { what: "a stable connection" });
      await srv.kill();
      await waitDemo(page, "(d) => d.state === 'reconnecting' && d.planned.length >= 1", { what: "reconnecting again" });
      const again = await demoState(page);
      assert.ok(again.planned[0] <= Math.ceil(m.delay * 1.2), `backoff reset after the reconnect: first delay ${again.planned[0]} ms`);
      assert.deepEqual(page.problems, []);
    });
  }

  test("ws mode: connections dropped right after they opened do not reset the backoff", async (t) => {
    const srv = await sioServer({ args: ["--app", "chat"] });
    t.after(() => srv.stop());
    await srv.start();
    // Every /ws connection opens, then closes at once (1011), like a server
    // that accepts and drops. (Closed within the route handler itself, the
    // page's WebSocket would fail without opening: hence the 30 ms.)
    const page = await openPage(t, br.browser, `${srv.url}/?mode=ws&delay=100&delayMax=800`, {
      setup: (p) => p.routeWebSocket(/\/ws(\?|$)/, (ws) => setTimeout(() => ws.close({ code: 1011, reason: "try again later" }), 30)),
    });
    await waitDemo(page, "(d) => d.history.length >= 4 && d.planned.length >= 5", { what: "4 dropped attempts" });
    const d = await demoState(page);
    t.diagnostic(`planned ${d.planned.join(", ")} ms; history ${d.history.map((h) => `#${h.attempt} ${h.result}`).join(", ")}`);
    assert.deepEqual(
      d.history.slice(0, 4).map((h) => [h.outage, h.attempt, h.result]),
      [1, 2, 3, 4].map((n) => [1, n, "dropped"]),
      "one outage, numbered on",
    );
    const m = { delay: 100, delayMax: 800 };
    for (let i = 0; i < 5; i++) {
      const base = nominal(m, i + 1);
      assert.ok(d.planned[i] >= Math.floor(base * 0.8) && d.planned[i] <= Math.min(Math.ceil(base * 1.2), 800), `planned ${d.planned} (attempt ${i + 1})`);
    }
    assert.equal(d.lastClose.code, 1011);
    assert.ok(d.connects >= 4);
  });
});
