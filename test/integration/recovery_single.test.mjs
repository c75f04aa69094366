// Connection state recovery on one node (issue 12, points 1-3): a client cut
// by a transport close or by a TCP reset comes back with the same id, its
// rooms and data, and every room / broadcast / direct event it missed exactly
// once and in order; volatile packets and broadcasts with acks are not
// replayed; an expired window, a client-initiated disconnect or a wrapped log
// give a fresh session. Every expectation is Node socket.io 4.8's with
// connectionStateRecovery (SIO_TEST_TARGET=reference runs this file against
// test/reference/sio-testkit.mjs with the same options).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { io } from "socket.io-client";

import { ask, once, resetProxy, withoutOffset } from "./lib/recovery.mjs";
import { rawSioWebSocket, scrape } from "./lib/reliability.mjs";
import { isReference } from "./lib/server.mjs";
import { eachMode, startSio, until, waitWebSocket } from "./lib/sio.mjs";

const WINDOW = ["--recovery-window", "60000"];

/** A socket.io-client socket on url for the mode, reconnected by the test. */
async function client(t, url, mode, extra = {}) {
  const { transport, ...modeOpts } = mode;
  const s = io(url, { ...modeOpts, reconnection: false, forceNew: true, timeout: 10_000, ...extra });
  t.after(() => s.disconnect());
  s.got = [];
  s.onAny((event, ...args) => s.got.push([event, ...args]));
  await once(s, "connect");
  if (mode.upgrade) await waitWebSocket(s.io, 10_000);
  return s;
}

/** Reconnect a disconnected socket (CONNECT carries auth.pid and auth.offset). */
async function reconnect(s, mode) {
  const p = once(s, "connect");
  s.connect();
  await p;
  if (mode.upgrade) await waitWebSocket(s.io, 10_000);
}

/** What s received from index `from` on, without offsets. */
function since(s, from) {
  return s.got.slice(from).map(([ev, ...args]) => [ev, ...withoutOffset(args)]);
}

/** Sent while the victim is away: what it must get back, in this order. */
async function sendWhileAway(sender, victimId) {
  await ask(sender, "to", "r", "room", 2);
  await ask(sender, "all", 3); // "msg" to everyone
  await ask(sender, "to", victimId, "direct", 4);
  await ask(sender, "volatile-to", "r", "vol", 5); // never replayed
  await ask(sender, "ask-to", "r", "q", 6); // has an ack id: never replayed
  await ask(sender, "to", "other", "room", 99); // not its room
  await ask(sender, "to", "r", "room", 7);
}
const MISSED = [
  ["room", 2],
  ["msg", 3],
  ["direct", 4],
  ["room", 7],
];

describe("connection state recovery, one node", () => {
  eachMode((mode) => {
    for (const cut of ["transport close", "TCP reset"]) {
      test(`cut by ${cut}: same id, rooms, data; missed events once, in order`, async (t) => {
        const server = await startSio(t, "testkit", { args: WINDOW });
        const proxy = await resetProxy(server.port);
        t.after(() => proxy.close());
        const victim = await client(t, cut === "TCP reset" ? proxy.url : server.url, mode);
        const sender = await client(t, server.url, mode);
        assert.equal(victim.recovered, false);
        await ask(victim, "join", "r");
        await ask(victim, "set-data", { user: "ann", n: 1 });
        await ask(sender, "to", "r", "room", 1);
        await until(() => victim.got.length === 1, { timeout: 10_000, what: "first room event" });
        // The offset is the last argument, a string, as Node sends it.
        assert.equal(victim.got[0][0], "room");
        assert.equal(typeof victim.got[0][2], "string");
        const id = victim.id;
        const gone = once(victim, "disconnect");
        if (cut === "TCP reset") proxy.resetAll();
        else victim.io.engine.close();
        const [reason] = await gone;
        // The client names its own engine.close() "forced close"; the server sees a
        // transport close (or error) either way: recoverable.
        assert.ok(["transport close", "transport error", "forced close"].includes(reason), reason);
        const from = victim.got.length;
        await sendWhileAway(sender, id);
        await reconnect(victim, mode);
        assert.equal(victim.recovered, true);
        assert.equal(victim.id, id);
        await until(() => victim.got.length - from >= MISSED.length, { timeout: 10_000, what: "replay" });
        assert.deepEqual(since(victim, from), MISSED);
        assert.deepEqual(await ask(victim, "rooms"), [id, "r"]);
        assert.deepEqual(await ask(victim, "data"), { user: "ann", n: 1 });
        assert.equal(await ask(victim, "recovered"), true);
        // fetchSockets reports the data (Node's socket.data) too.
        const all = await ask(sender, "fetch");
        assert.deepEqual(all.find((x) => x.id === id)?.data, { user: "ann", n: 1 });
        // Live again: a new room event arrives once, nothing is replayed twice.
        await ask(sender, "to", "r", "room", 8);
        await until(() => victim.got.length - from >= MISSED.length + 1, { timeout: 10_000, what: "live event" });
        await ask(victim, "echo", 0); // a round trip: anything late would be here by now
        assert.deepEqual(since(victim, from), [...MISSED, ["room", 8]]);
        // And a second cut recovers again (socket.io #4880 complains it did not).
        const gone2 = once(victim, "disconnect");
        victim.io.engine.close();
        await gone2;
        await ask(sender, "to", "r", "room", 9);
        await reconnect(victim, mode);
        assert.equal(victim.recovered, true);
        assert.equal(victim.id, id);
        await until(() => victim.got.length - from >= MISSED.length + 2, { timeout: 10_000, what: "second replay" });
        assert.deepEqual(since(victim, from), [...MISSED, ["room", 8], ["room", 9]]);
      });
    }
  });

  test("the CONNECT reply carries pid; a recovered CONNECT comes after the missed packets", async (t) => {
    const server = await startSio(t, "testkit", { args: WINDOW });
    const mode = { transports: ["websocket"], upgrade: false };
    const victim = await client(t, server.url, mode);
    const sender = await client(t, server.url, mode);
    const first = [];
    victim.io.on("packet", (p) => first.push(p));
    await ask(victim, "join", "r");
    await ask(sender, "to", "r", "room", 1);
    await until(() => victim.got.length === 1, { timeout: 10_000, what: "first event" });
    const gone = once(victim, "disconnect");
    victim.io.engine.close();
    await gone;
    await ask(sender, "to", "r", "room", 2);
    await ask(sender, "to", "r", "room", 3);
    const seen = [];
    victim.io.on("packet", (p) => seen.push(p));
    await reconnect(victim, mode);
    // socket.io-parser types: the missed EVENTs (2) first, then CONNECT (0):
    // Node sends them from the Socket's constructor, the client buffers them.
    assert.deepEqual(
      seen.map((p) => p.type),
      [2, 2, 0],
    );
    const connect = seen[2].data;
    assert.deepEqual(Object.keys(connect), ["sid", "pid"]);
    assert.equal(connect.pid, first.find((p) => p.type === 0).data.pid, "the pid stays");
    assert.equal(typeof connect.pid, "string");
  });

  test("a direct emit on the socket itself (sio_emit / socket.emit, not to(id)) is logged and replayed", async (t) => {
    // testkit's "echo" without an ack answers with an emit on the socket
    // itself. A raw client chooses the offset it recovers from: the one of
    // the first echo, so the second is what it missed.
    const server = await startSio(t, "testkit", { args: WINDOW });
    const a = await rawSioWebSocket(server);
    t.after(() => a.ws.destroy());
    const { sid, pid } = JSON.parse(a.connectPacket.slice(2));
    assert.equal(typeof pid, "string");
    const echo = async (ws, text) => {
      ws.send(`42${JSON.stringify(["echo", text])}`);
      const m = await ws.nextText(10_000);
      const data = JSON.parse(m.data.slice(2));
      assert.equal(data[0], "echo");
      assert.equal(data[1], text);
      assert.equal(typeof data[2], "string", "the emit carries an offset: it is logged");
      return data;
    };
    const [, , o1] = await echo(a.ws, "e1");
    const [, , o2] = await echo(a.ws, "e2");
    a.ws.destroy(); // the transport closes under the socket: recoverable
    await until(() => server.stdout().includes(`testkit: disconnect / ${sid} transport close`), { timeout: 10_000, what: "the server's disconnect" });
    const b = await rawSioWebSocket(server, { connect: false });
    t.after(() => b.ws.destroy());
    b.ws.send(`40${JSON.stringify({ pid, offset: o1 })}`);
    const replay = await b.ws.nextText(10_000);
    assert.deepEqual(JSON.parse(replay.data.slice(2)), ["echo", "e2", o2], "the missed direct emit, with its offset");
    const connect = await b.ws.nextText(10_000);
    assert.ok(connect.data.startsWith("40{"), connect.data);
    assert.deepEqual(JSON.parse(connect.data.slice(2)), { sid, pid }, "recovered: same id and pid");
  });

  test("the window expires: a fresh session (new id, no rooms, nothing replayed)", async (t) => {
    const server = await startSio(t, "testkit", { args: ["--recovery-window", "1000"] });
    const mode = { transports: ["websocket"], upgrade: false };
    const victim = await client(t, server.url, mode);
    const sender = await client(t, server.url, mode);
    await ask(victim, "join", "r");
    await ask(sender, "to", "r", "room", 1);
    await until(() => victim.got.length === 1, { timeout: 10_000, what: "first event" });
    const id = victim.id;
    const gone = once(victim, "disconnect");
    victim.io.engine.close();
    await gone;
    await ask(sender, "to", "r", "room", 2);
    await new Promise((r) => setTimeout(r, 2500));
    await reconnect(victim, mode);
    assert.equal(victim.recovered, false);
    assert.notEqual(victim.id, id);
    assert.deepEqual(await ask(victim, "rooms"), [victim.id]);
    await ask(victim, "echo", 0);
    assert.deepEqual(since(victim, 1), []);
  });

  test("a client-initiated disconnect is not recovered", async (t) => {
    const server = await startSio(t, "testkit", { args: WINDOW });
    const mode = { transports: ["websocket"], upgrade: false };
    const victim = await client(t, server.url, mode);
    const sender = await client(t, server.url, mode);
    await ask(victim, "join", "r");
    await ask(sender, "to", "r", "room", 1);
    await until(() => victim.got.length === 1, { timeout: 10_000, what: "first event" });
    const id = victim.id;
    victim.disconnect();
    await ask(sender, "to", "r", "room", 2);
    await reconnect(victim, mode);
    assert.equal(victim.recovered, false);
    assert.notEqual(victim.id, id);
    await ask(victim, "echo", 0);
    assert.deepEqual(since(victim, 1), []);
  });

  test("an unknown offset gives a fresh session, never a partial replay", async (t) => {
    const server = await startSio(t, "testkit", { args: WINDOW });
    const mode = { transports: ["websocket"], upgrade: false };
    const victim = await client(t, server.url, mode);
    const sender = await client(t, server.url, mode);
    await ask(victim, "join", "r");
    await ask(sender, "to", "r", "room", 1);
    await until(() => victim.got.length === 1, { timeout: 10_000, what: "first event" });
    const id = victim.id;
    const gone = once(victim, "disconnect");
    victim.io.engine.close();
    await gone;
    await ask(sender, "to", "r", "room", 2);
    victim._lastOffset = "not-an-offset";
    await reconnect(victim, mode);
    assert.equal(victim.recovered, false);
    assert.notEqual(victim.id, id);
  });

  test("a wrapped log (--recovery-log-bytes) gives a fresh session; /metrics counts", { skip: isReference && "sio-server's log bound (Node's log has none)" }, async (t) => {
    const server = await startSio(t, "testkit", { args: [...WINDOW, "--recovery-log-bytes", "4096"] });
    const mode = { transports: ["websocket"], upgrade: false };
    const victim = await client(t, server.url, mode);
    const sender = await client(t, server.url, mode);
    await ask(victim, "join", "r");
    await ask(sender, "to", "r", "room", 1);
    await until(() => victim.got.length === 1, { timeout: 10_000, what: "first event" });
    // One recovery that works, for the counters.
    let gone = once(victim, "disconnect");
    victim.io.engine.close();
    await gone;
    await ask(sender, "to", "r", "room", 2);
    await reconnect(victim, mode);
    assert.equal(victim.recovered, true);
    await until(() => victim.got.length === 2, { timeout: 10_000, what: "replay" });
    const id = victim.id;
    gone = once(victim, "disconnect");
    victim.io.engine.close();
    await gone;
    let m = await scrape(server);
    assert.equal(m.get("sio_recovery_sessions"), 1);
    for (let i = 0; i < 40; i++) await ask(sender, "to", "r", "room", "x".repeat(200));
    m = await scrape(server);
    assert.ok(m.get("sio_recovery_log_bytes") <= 4096 + 1024, `log bytes ${m.get("sio_recovery_log_bytes")}`);
    await reconnect(victim, mode);
    assert.equal(victim.recovered, false);
    assert.notEqual(victim.id, id);
    await ask(victim, "echo", 0);
    assert.equal(victim.got.length, 2); // not one of the 40
    m = await scrape(server);
    assert.equal(m.get('sio_recovery_restores_total{result="recovered"}'), 1);
    assert.equal(m.get('sio_recovery_restores_total{result="fresh"}'), 1);
    assert.equal(m.get("sio_recovery_sessions"), 0);
  });

  test("recovery off (the default of testkit): no pid, no offsets", async (t) => {
    const server = await startSio(t, "testkit");
    const mode = { transports: ["websocket"], upgrade: false };
    const victim = await client(t, server.url, mode);
    const sender = await client(t, server.url, mode);
    await ask(victim, "join", "r");
    await ask(sender, "to", "r", "room", 1);
    await until(() => victim.got.length === 1, { timeout: 10_000, what: "first event" });
    assert.deepEqual(victim.got[0], ["room", 1]);
    assert.equal(victim._pid, undefined);
  });
});
