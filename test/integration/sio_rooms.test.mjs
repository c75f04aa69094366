// Rooms and broadcasts with the real socket.io-client 4.8 (--app testkit):
// join/leave, to (one or several rooms), except, broadcast excluding the
// sender, to all, volatile emits, and 200 clients in one room receiving one
// broadcast exactly once each. Each with both packet formats (--parser default
// and msgpack, the client on socket.io-msgpack-parser for the latter).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { connect, eachMode, eachParser, emitAck, nextEvent, normalize, rawPolling, sleep, useSioServer } from "./lib/sio.mjs";

/** The `msg` payloads (first argument) the socket received so far. */
const msgs = (s, event = "msg") => s.received.filter((e) => e.event === event).map((e) => e.args[0]);

/**
 * `sender` emits `all` with a unique sentinel; resolves once every socket got
 * it. Packets of one connection arrive in order, so anything broadcast before
 * the sentinel has arrived by then.
 */
async function flush(sender, sockets) {
  const tag = `sentinel-${Math.random().toString(36).slice(2)}`;
  const waits = sockets.map(async (s) => {
    for (;;) {
      const [v] = await nextEvent(s, "msg");
      if (v === tag) return;
    }
  });
  await emitAck(sender, "all", tag);
  await Promise.all(waits);
  // Drop the sentinels from the records.
  for (const s of sockets) s.received = s.received.filter((e) => !(e.event === "msg" && e.args[0] === tag));
}

/** Forget what the sockets received so far (records and queues). */
function reset(sockets) {
  for (const s of sockets) {
    s.received = [];
    s.pending.clear();
  }
}

eachParser((parser) => describe("Socket.IO rooms and broadcasts (testkit)", () => {
  const srv = useSioServer("testkit", { parser });

  eachMode((mode) => {
    test("join, leave, to one or several rooms, except, broadcast, all", async (t) => {
      // Each test uses its own dynamic namespace so other tests' sockets never interfere.
      const nsp = `/dyn-rooms-${Math.random().toString(36).slice(2, 8)}`;
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => connect(t, srv.server, mode, { nsp })));
      const all = [a, b, c];
      assert.deepEqual(await emitAck(a, "join", "r1"), ["ok"]);
      assert.deepEqual(await emitAck(b, "join", "r1"), ["ok"]);
      assert.deepEqual(await emitAck(b, "join", "r2"), ["ok"]);
      assert.deepEqual(await emitAck(b, "join", "r2"), ["ok"], "joining twice is harmless");

      // rooms: own id first, then the joined rooms.
      const [roomsB] = await emitAck(b, "rooms");
      assert.equal(roomsB[0], b.id);
      assert.deepEqual([...roomsB].sort(), [b.id, "r1", "r2"].sort());
      assert.deepEqual((await emitAck(c, "rooms"))[0], [c.id]);

      // to r1 from c (not a member): a and b.
      await emitAck(c, "to", "r1", "msg", "to-r1");
      // to [r1, r2] from a: a and b, b only once although it is in both.
      await emitAck(a, "to", ["r1", "r2"], "msg", "to-r1-r2");
      // to a socket's own room (its id): that socket only.
      await emitAck(a, "to", c.id, "msg", "to-c");
      // except r1 from a: only c.
      await emitAck(a, "except", "r1", "not-r1");
      // broadcast from a: b and c, not a.
      await emitAck(a, "broadcast", "from-a");
      // all from c: everyone, c included.
      await emitAck(c, "all", "everyone");
      await flush(c, all);
      assert.deepEqual(msgs(a), ["to-r1", "to-r1-r2", "everyone"]);
      assert.deepEqual(msgs(b), ["to-r1", "to-r1-r2", "from-a", "everyone"]);
      assert.deepEqual(msgs(c), ["to-c", "not-r1", "from-a", "everyone"]);
      reset(all);

      // leave: b leaves r1, a stays.
      assert.deepEqual(await emitAck(b, "leave", "r1"), ["ok"]);
      assert.deepEqual((await emitAck(b, "rooms"))[0].sort(), [b.id, "r2"].sort());
      await emitAck(c, "to", "r1", "msg", "r1-after-leave");
      await emitAck(c, "to", "r2", "msg", "r2-after-leave");
      await emitAck(c, "to", "no-such-room", "msg", "nobody");
      await flush(c, all);
      assert.deepEqual(msgs(a), ["r1-after-leave"]);
      assert.deepEqual(msgs(b), ["r2-after-leave"]);
      assert.deepEqual(msgs(c), []);
    });

    test("a broadcast carries several arguments and binary to every receiver", async (t) => {
      const nsp = `/dyn-bin-${Math.random().toString(36).slice(2, 8)}`;
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => connect(t, srv.server, mode, { nsp })));
      await Promise.all([a, b].map((s) => emitAck(s, "join", "bin")));
      const payload = [Buffer.from([0, 1, 254, 255]), { k: "v", bin: Buffer.from("é") }, 3];
      await emitAck(c, "to", "bin", "data", ...payload);
      for (const s of [a, b]) assert.deepEqual(normalize(await nextEvent(s, "data")), normalize(payload));
      assert.equal(c.received.filter((e) => e.event === "data").length, 0);
    });

    test("rooms of a namespace are left when the socket disconnects", async (t) => {
      const nsp = `/dyn-left-${Math.random().toString(36).slice(2, 8)}`;
      const [a, b] = await Promise.all([0, 1].map(() => connect(t, srv.server, mode, { nsp })));
      await emitAck(a, "join", "gone");
      a.disconnect();
      await sleep(50);
      await emitAck(b, "to", "gone", "msg", "anyone?");
      await flush(b, [b]);
      assert.deepEqual(msgs(b), []);
      assert.deepEqual(msgs(a), []);
    });

    test("a volatile emit arrives when the transport is ready", async (t) => {
      const s = await connect(t, srv.server, mode);
      // Let the polling client's next GET reach the server.
      await sleep(50);
      assert.deepEqual(await emitAck(s, "volatile", "v1", { n: 1 }), ["ok"]);
      // The volatile packet was sent before the ack: it has arrived.
      assert.deepEqual(
        s.received.filter((e) => e.event === "volatile").map((e) => e.args),
        [["v1", { n: 1 }]],
      );
    });

    test("200 clients in one room receive one broadcast exactly once each", async (t) => {
      const nsp = `/dyn-fanout-${Math.random().toString(36).slice(2, 8)}`;
      const sockets = [];
      for (let i = 0; i < 200; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: 50 }, () => connect(t, srv.server, mode, { nsp })),
        );
        await Promise.all(batch.map((s) => emitAck(s, "join", "fan")));
        sockets.push(...batch);
      }
      const outsider = await connect(t, srv.server, mode, { nsp });
      assert.equal(new Set(sockets.map((s) => s.id)).size, 200);
      await emitAck(outsider, "to", "fan", "msg", "fan-out", { big: "x".repeat(1000) });
      await emitAck(outsider, "to", "fan", "msg", "end");
      await Promise.all(
        sockets.map(async (s) => {
          for (;;) {
            const [v] = await nextEvent(s, "msg", 15_000);
            if (v === "end") return;
          }
        }),
      );
      for (const s of sockets) {
        const got = msgs(s);
        assert.deepEqual(got, ["fan-out", "end"], `socket ${s.id}`);
        assert.deepEqual(s.received[0].args[1], { big: "x".repeat(1000) });
      }
      assert.deepEqual(msgs(outsider), []);
    });
  }, parser);
}));

describe("Socket.IO volatile over raw polling", () => {
  const srv = useSioServer("testkit");
  // Needs no socket.io-client: a volatile packet for a polling client with no
  // GET waiting is dropped, and sent when a GET is waiting.
  test("dropped when no GET is pending, delivered when one is", async (t) => {
    const c = await rawPolling(srv.server);
    assert.equal((await c.post("40")).status, 200);
    const first = await c.get();
    assert.match(first.text, /^40\{"sid":"[\w-]+"\}$/);
    // No GET pending: the volatile emit is dropped, the ack is not.
    assert.equal((await c.post('421["volatile","dropped"]')).status, 200);
    const second = await c.get();
    assert.equal(second.text, '431["ok"]');
    // A GET pending: the volatile emit goes out on it.
    const pending = c.get();
    await sleep(100);
    assert.equal((await c.post('422["volatile","delivered"]')).status, 200);
    const third = await pending;
    assert.ok(third.text.startsWith('42["volatile","delivered"]'), JSON.stringify(third.text));
    const rest = third.text.includes("\x1e") ? third.text : (await c.get()).text;
    assert.ok(rest.includes('432["ok"]'), JSON.stringify(rest));
    // Close the session.
    await c.post("1");
  });
});
