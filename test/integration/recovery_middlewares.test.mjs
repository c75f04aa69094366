// Middlewares on a recovered connect (--recovery-run-middlewares, Node's
// connectionStateRecovery.skipMiddlewares: false). By default a recovered
// connect skips the namespace's middlewares: a client whose auth would now be
// refused is recovered all the same. With the option the middlewares run: one
// that accepts leaves the recovery intact, one that refuses gives the client
// connect_error with the middleware's message and data, and the session stays
// (Node's in-memory adapter does not consume a session it restores): the
// client's next attempt, accepted, is recovered. testkit's "/" middlewares: auth.refuse ->
// refused with {reason:"by-test"}; auth.slow -> accepted from a timer. Checked
// against Node socket.io 4.8 with SIO_TEST_TARGET=reference.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { io } from "socket.io-client";

import { ask, once } from "./lib/recovery.mjs";
import { startSio, until } from "./lib/sio.mjs";

const WINDOW = ["--recovery-window", "60000"];

/**
 * A connected socket.io-client socket (WebSocket, no automatic reconnection)
 * in room "r", that got one event with an offset (a client recovers from the
 * last offset it saw: without one it has nothing to recover from).
 */
async function member(t, server) {
  const s = io(server.url, { transports: ["websocket"], reconnection: false, forceNew: true, timeout: 10_000, auth: {} });
  t.after(() => s.disconnect());
  await once(s, "connect");
  await ask(s, "join", "r");
  const echoed = once(s, "echo");
  s.emit("echo", "hi");
  const [, offset] = await echoed;
  assert.equal(typeof offset, "string", "the event's offset");
  return s;
}

/** Cut the transport and wait until the server kept the session. */
async function cut(server, s) {
  const id = s.id;
  const gone = once(s, "disconnect");
  s.io.engine.close();
  await gone;
  await until(() => server.stdout().includes(`testkit: disconnect / ${id} transport close`), { timeout: 10_000, what: "the server's disconnect" });
}

async function reconnect(s) {
  const p = once(s, "connect");
  s.connect();
  await p;
}

describe("connection state recovery and middlewares", () => {
  test("default: a recovered connect skips the middlewares", async (t) => {
    const server = await startSio(t, "testkit", { args: WINDOW });
    const s = await member(t, server);
    const id = s.id;
    await cut(server, s);
    s.auth = { refuse: "not now" }; // the middleware would refuse a fresh connect
    await reconnect(s);
    assert.equal(s.recovered, true);
    assert.equal(s.id, id);
    assert.ok((await ask(s, "rooms")).includes("r"), "room kept");
  });

  test("--recovery-run-middlewares: an accepting middleware keeps the recovery", async (t) => {
    const server = await startSio(t, "testkit", { args: [...WINDOW, "--recovery-run-middlewares"] });
    const s = await member(t, server);
    const id = s.id;
    await cut(server, s);
    s.auth = { slow: 50 }; // the asynchronous middleware runs, then accepts
    await reconnect(s);
    assert.equal(s.recovered, true);
    assert.equal(s.id, id);
    assert.ok((await ask(s, "rooms")).includes("r"), "room kept");
  });

  test("--recovery-run-middlewares: a refusing middleware gives connect_error; the session stays", async (t) => {
    const server = await startSio(t, "testkit", { args: [...WINDOW, "--recovery-run-middlewares"] });
    const s = await member(t, server);
    const id = s.id;
    await cut(server, s);
    s.auth = { refuse: "not now" };
    const err = once(s, "connect_error");
    s.connect();
    const [e] = await err;
    assert.equal(e.message, "not now");
    assert.deepEqual(e.data, { reason: "by-test" });
    assert.equal(s.connected, false);
    // The session survives the refusal: the next attempt, accepted, recovers it.
    s.auth = {};
    await reconnect(s);
    assert.equal(s.recovered, true);
    assert.equal(s.id, id);
    assert.ok((await ask(s, "rooms")).includes("r"), "room kept");
  });
});
