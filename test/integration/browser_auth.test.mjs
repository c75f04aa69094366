// The demo page against sio-server --jwt-secret, in both modes: a valid
// token connects and its `sub` is the author of the page's messages (also
// across the Socket.IO <-> /ws bridge); expired, wrong-signature, alg "none"
// and missing tokens end in "unauthorized" (Socket.IO: connect_error
// "unauthorized"; /ws: close code 4001) and the page does not retry until the
// token changes; a new token from the token field connects.
// Screenshots: test-output/screenshots/unauthorized-*.png and
// connected-sio-alice.png (with UPDATE_DOCS_SCREENSHOT=1 also copied to
// docs/demo.png, the README's picture).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { makeToken, now } from "./lib/jwt.mjs";
import { DOCS_SCREENSHOT, demoState, openPage, screenshot, send, sioObserver, sioServer, sleep, until, useBrowser, waitDemo, waitMessage, waitState } from "./lib/browser.mjs";

const SECRET = "browser-test-secret";
const valid = (sub) => makeToken({ sub, iat: now(), exp: now() + 3600 }, SECRET);
const BAD = {
  expired: makeToken({ sub: "alice", iat: now() - 7200, exp: now() - 3600 }, SECRET),
  "wrong signature": makeToken({ sub: "alice", exp: now() + 3600 }, "not-the-secret"),
  'alg "none"': makeToken({ sub: "alice", exp: now() + 3600 }, SECRET, { alg: "none" }),
  missing: null,
};

/** The page's connection attempts: Engine.IO handshakes (no sid) and /ws WebSockets. */
const attemptsOf = (page) => page.requested.filter((u) => /\/socket\.io\/\?EIO=4&transport=polling&t=[^&]*$/.test(u) || /^ws:\/\/[^/]+\/ws(\?|$)/.test(u));

describe("browser: token auth (--jwt-secret)", () => {
  const br = useBrowser();
  let srv;
  before(async () => {
    srv = await sioServer({ args: ["--app", "chat", "--jwt-secret", SECRET] });
    await srv.start();
  });
  after(async () => {
    if (srv) await srv.stop();
  });
  const pageUrl = (mode, token, extra = "") => `${srv.url}/?mode=${mode}${token ? `&token=${encodeURIComponent(token)}` : ""}${extra}`;

  test("valid tokens: alice on Socket.IO and bob on /ws chat under their names", async (t) => {
    const alice = await openPage(t, br.browser, pageUrl("sio", valid("alice")));
    const bob = await openPage(t, br.browser, pageUrl("ws", valid("bob")));
    await waitState(alice, "connected");
    await waitState(bob, "connected");
    assert.match(await alice.textContent("#token-info"), /For “alice”, expires in/);

    await send(alice, "hi, I am alice");
    await waitMessage(alice, "Client #alice said: hi, I am alice");
    await waitMessage(bob, "Client #alice said: hi, I am alice");
    assert.equal(await alice.locator("#messages li.self .author").first().textContent(), "Client #alice", "own line marked as such");

    await send(bob, "and I am bob, on /ws");
    await waitMessage(alice, "Client #bob said: and I am bob, on /ws");
    await send(alice, "the bridge works both ways");
    await waitMessage(bob, "Client #alice said: the bridge works both ways");
    await waitMessage(alice, "Client #alice said: the bridge works both ways");
    await waitDemo(alice, "(d) => d.transport === 'websocket'", { what: "upgrade" });
    // The README's picture (docs/demo.png) is this one, taken on request.
    await screenshot(alice, "connected-sio-alice", { also: process.env.UPDATE_DOCS_SCREENSHOT ? DOCS_SCREENSHOT : undefined });
    for (const p of [alice, bob]) assert.deepEqual(p.problems, []);
  });

  for (const mode of ["sio", "ws"]) {
    for (const [what, token] of Object.entries(BAD)) {
      test(`${mode} mode, ${what} token: unauthorized, no retry`, async (t) => {
        // Short delays: a blind retry would come within 120 ms.
        const page = await openPage(t, br.browser, pageUrl(mode, token, "&delay=100&delayMax=400"));
        await waitState(page, "unauthorized");
        const d = await demoState(page);
        if (mode === "ws") {
          assert.equal(d.lastClose?.code, 4001, `close code: ${JSON.stringify(d.lastClose)}`);
          assert.equal(d.lastClose?.reason, "unauthorized");
        } else {
          assert.equal(d.lastError, "unauthorized");
        }
        // (The /ws handshake itself succeeds: 101, then the close.)
        if (mode === "sio") assert.equal(d.connects, 0);
        assert.equal(d.nextRetryAt, null);
        assert.match(await page.textContent("#countdown"), /change the token/);
        assert.equal(await page.isDisabled("#input"), true, "no chatting while unauthorized");
        if (what === "expired") await screenshot(page, `unauthorized-${mode}`);
        // Not a fixed wait for a condition: time for retries that must not come.
        await sleep(600);
        assert.equal(attemptsOf(page).length, 1, `one attempt only: ${attemptsOf(page).join(" ")}`);
        assert.equal(await page.getAttribute("body", "data-state"), "unauthorized");
        assert.deepEqual(page.problems, []);
      });
    }

    test(`${mode} mode: a new token from the token field connects under its sub`, async (t) => {
      const obs = await sioObserver(t, srv.url, { auth: { token: valid("carol") } });
      const page = await openPage(t, br.browser, pageUrl(mode, BAD["wrong signature"]));
      await waitState(page, "unauthorized");
      const dave = valid("dave");
      await page.fill("#token", dave);
      await page.click("#token-apply");
      await waitState(page, "connected");
      // The new token is kept: in the URL (which had one) and in localStorage.
      assert.equal(new URL(page.url()).searchParams.get("token"), dave);
      assert.equal(await page.evaluate(() => localStorage.getItem("sio-demo-token")), dave);
      assert.match(await page.textContent("#token-info"), /For “dave”/);
      await send(page, `dave via ${mode}`);
      await until(() => obs.lines.includes(`Client #dave said: dave via ${mode}`), "dave's message at the observer");
      obs.emit("message", "hello dave");
      await waitMessage(page, "Client #carol said: hello dave");

      // Cleared: back to no token, which the server refuses.
      await page.click("#token-clear");
      await waitState(page, "unauthorized");
      assert.equal(new URL(page.url()).searchParams.get("token"), null);
      assert.deepEqual(page.problems, []);
    });
  }

  test("a reload keeps the token (localStorage) and connects with it", async (t) => {
    const page = await openPage(t, br.browser, pageUrl("ws", null));
    await waitState(page, "unauthorized");
    const erin = valid("erin");
    await page.fill("#token", erin);
    await page.click("#token-apply");
    await waitState(page, "connected");
    assert.equal(new URL(page.url()).searchParams.get("token"), null, "not put into a URL that had none");
    await page.reload();
    await waitState(page, "connected");
    assert.equal(await page.inputValue("#token"), erin);
    assert.equal((await demoState(page)).mode, "ws");
    assert.deepEqual(page.problems, []);
  });
});
