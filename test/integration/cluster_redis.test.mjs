// Three sio-test-server nodes (--app clusterkit, test/apps/clusterkit.c) on one
// private Redis (--redis): room broadcasts, except, to-all and
// broadcast-excluding-sender across nodes, each delivered exactly once;
// fetchSockets / socketsJoin / socketsLeave / disconnectSockets, server-side
// emit with acks and broadcast with acks driven from a C node; and the
// cross-node broadcast latency (p50/p99) and deliveries/s, printed as test
// diagnostics. With SIO_TEST_TARGET=reference the nodes are Node.js servers
// (test/reference/cluster-node.mjs), for comparison.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { useRedisCluster } from "./lib/redis.mjs";
import { SIO_MODES, connect, emitAck, nextEvent, normalize, sleep, until, waitDisconnect } from "./lib/sio.mjs";

const WS = SIO_MODES["WebSocket only"];
const uniq = (p) => `${p}-${Math.random().toString(36).slice(2, 8)}`;
const msgs = (s) => s.received.filter((e) => e.event === "msg").map((e) => normalize(e.args));
const bin = (...bytes) => Buffer.from(bytes);

/** Waits until each socket received `n` "msg" events, then a while more, and returns them. */
async function settle(sockets, counts, { quiet = 300 } = {}) {
  await until(() => sockets.every((s, i) => msgs(s).length >= counts[i]), { timeout: 5000, what: `msg counts ${counts}` }).catch((e) => {
    throw new Error(`${e.message}; got ${JSON.stringify(sockets.map(msgs))}`);
  });
  await sleep(quiet);
  return sockets.map(msgs);
}

const sortJson = (list) => [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe("Redis adapter: three sio-server nodes", () => {
  const cl = useRedisCluster({ cNodes: 3 });

  /** One connected client per node (WebSocket). */
  const onEach = (t, opts) => Promise.all(cl.c.map((n) => connect(t, n, WS, opts)));

  test("an emit to room r from any node reaches the members on all three nodes exactly once", async (t) => {
    const r = uniq("r");
    const cs = await onEach(t);
    const outsider = await connect(t, cl.c[1], WS);
    for (const c of cs) assert.deepEqual(await emitAck(c, "join", r), ["ok"]);
    const expected = [];
    for (let i = 0; i < cs.length; i++) {
      const payload = [`from-${i}`, bin(i, 0, 255), { nested: [bin(7, i)] }];
      expected.push(normalize(payload));
      assert.deepEqual(await emitAck(cs[i], "to", r, ...payload), ["ok"]);
    }
    const got = await settle(cs, [3, 3, 3]);
    for (let i = 0; i < cs.length; i++) assert.deepEqual(sortJson(got[i]), sortJson(expected), `client on node ${i}`);
    assert.deepEqual(msgs(outsider), [], "a socket outside the room got nothing");
  });

  test("except, to-all and broadcast-excluding-sender across nodes", async (t) => {
    const x = uniq("x");
    const members = await onEach(t);
    const others = await onEach(t);
    for (const m of members) await emitAck(m, "join", x);
    const everyone = [...members, ...others];

    // except x from node 0 (sender a non-member): the three non-members only.
    await emitAck(others[0], "except", x, "except-x", bin(1, 2, 3));
    await settle(others, [1, 1, 1]);
    for (const s of others) assert.deepEqual(msgs(s), [["except-x", { bin: "010203" }]]);
    for (const s of members) assert.deepEqual(msgs(s), [], "members of x got the except broadcast");

    // to-all from node 1: all six, once each.
    await emitAck(members[1], "all", "to-all", bin(9));
    await settle(everyone, everyone.map((s) => (members.includes(s) ? 1 : 2)));
    for (const s of others) assert.deepEqual(msgs(s).slice(1), [["to-all", { bin: "09" }]]);
    for (const s of members) assert.deepEqual(msgs(s), [["to-all", { bin: "09" }]]);

    // broadcast from node 2: everyone but the sender.
    const sender = others[2];
    await emitAck(sender, "broadcast", "bcast", { b: bin(4, 4) });
    const rest = everyone.filter((s) => s !== sender);
    await settle(rest, rest.map((s) => (members.includes(s) ? 2 : 3)));
    for (const s of rest) assert.deepEqual(msgs(s).at(-1), ["bcast", { b: { bin: "0404" } }]);
    assert.equal(msgs(sender).length, 2, "the sender got its own broadcast");
  });

  test("fetch sockets across nodes (from a C node)", async (t) => {
    const f = uniq("f");
    const cs = await onEach(t);
    const outsider = await connect(t, cl.c[2], WS);
    for (const c of cs) await emitAck(c, "join", f);
    const t0 = Date.now();
    const [sockets, status] = await emitAck(outsider, "fetch", f);
    assert.equal(status, "ok");
    assert.ok(Date.now() - t0 < 2000, `fetch took ${Date.now() - t0} ms`);
    assert.deepEqual(
      sortJson(sockets.map((s) => ({ id: s.id, rooms: [...s.rooms].sort() }))),
      sortJson(cs.map((c) => ({ id: c.id, rooms: [c.id, f].sort() }))),
    );
    // Every socket (null selector) includes the outsider; an empty room gives [].
    const [all] = await emitAck(cs[0], "fetch", null);
    const ids = new Set(all.map((s) => s.id));
    for (const c of [...cs, outsider]) assert.ok(ids.has(c.id), `fetch(null) misses ${c.id}`);
    assert.deepEqual(await emitAck(cs[1], "fetch", uniq("empty")), [[], "ok"]);
    // Several rooms: the union.
    const g = uniq("g");
    await emitAck(outsider, "join", g);
    const [two] = await emitAck(cs[1], "fetch", [f, g]);
    assert.deepEqual(two.map((s) => s.id).sort(), [...cs, outsider].map((c) => c.id).sort());
  });

  test("sockets join / leave across nodes (from a C node)", async (t) => {
    const f = uniq("f");
    const g = uniq("g");
    const cs = await onEach(t);
    const outsider = await connect(t, cl.c[0], WS);
    for (const c of cs) await emitAck(c, "join", f);
    const hasRoom = async (s, room) => (await emitAck(s, "rooms"))[0].includes(room);

    assert.deepEqual(await emitAck(outsider, "sockets-join", f, [g]), ["ok"]);
    await until(async () => (await Promise.all(cs.map((c) => hasRoom(c, g)))).every(Boolean), { what: `all members in ${g}` });
    assert.equal(await hasRoom(outsider, g), false, "the outsider joined too");
    // The new room works for broadcasts from any node.
    await emitAck(outsider, "to", g, "to-g");
    await settle(cs, [1, 1, 1]);
    for (const c of cs) assert.deepEqual(msgs(c), [["to-g"]]);
    assert.deepEqual(msgs(outsider), []);

    // Every socket (null selector) joins h, then leaves it.
    const h = uniq("h");
    await emitAck(cs[2], "sockets-join", null, h);
    await until(async () => (await Promise.all([...cs, outsider].map((c) => hasRoom(c, h)))).every(Boolean), { what: `everyone in ${h}` });

    assert.deepEqual(await emitAck(cs[1], "sockets-leave", f, [g, h]), ["ok"]);
    await until(async () => (await Promise.all(cs.map(async (c) => !(await hasRoom(c, g)) && !(await hasRoom(c, h))))).every(Boolean), {
      what: `members out of ${g} and ${h}`,
    });
    assert.equal(await hasRoom(outsider, h), true, "the outsider left h although not selected");
    assert.equal(await hasRoom(cs[0], f), true);
  });

  test("disconnect sockets across nodes (from a C node)", async (t) => {
    const d = uniq("d");
    const cs = await onEach(t);
    const outsider = await connect(t, cl.c[1], WS);
    for (const c of cs) await emitAck(c, "join", d);
    assert.deepEqual(await emitAck(outsider, "disconnect-sockets", d, false), ["ok"]);
    for (const c of cs) assert.equal(await waitDisconnect(c), "io server disconnect");
    await sleep(200);
    assert.equal(outsider.connected, true, "the outsider was disconnected");
    assert.deepEqual(await emitAck(outsider, "fetch", d), [[], "ok"]);

    // close = true, from a member: the whole connections go, the sender's too.
    const e = uniq("e");
    const more = await onEach(t);
    for (const c of more) await emitAck(c, "join", e);
    await emitAck(more[0], "disconnect-sockets", e, true);
    for (const c of more) {
      await waitDisconnect(c);
      await until(() => c.io.engine == null || c.io.engine.readyState === "closed", { what: "Engine.IO connection closed" });
    }
    assert.equal(outsider.connected, true);
  });

  test("server-side emit with acks between C nodes", async (t) => {
    const [a] = await onEach(t);
    const t0 = Date.now();
    const [responses, status] = await emitAck(a, "server-emit", "echo", { v: [1, "two", null] });
    assert.equal(status, "ok");
    assert.ok(Date.now() - t0 < 2000, `server-side emit took ${Date.now() - t0} ms`);
    assert.deepEqual(responses, [{ v: [1, "two", null] }, { v: [1, "two", null] }], "one answer from each other node");
    const [sizes, st2] = await emitAck(a, "server-emit", "size");
    assert.equal(st2, "ok");
    assert.equal(sizes.length, 2);
    for (const n of sizes) assert.ok(Number.isInteger(n) && n >= 1, `size answer ${n}`);
  });

  test("broadcast with acks across nodes", async (t) => {
    const b = uniq("b");
    const cs = await onEach(t);
    for (const c of cs) {
      await emitAck(c, "join", b);
      c.on("q", (x, cb) => cb({ from: c.id, x }));
    }
    const t0 = Date.now();
    const [res] = await emitAck(cs[1], "broadcast-ack", b, "q", 7, 2000);
    assert.equal(res.status, "ok");
    assert.ok(Date.now() - t0 < 1500, `broadcast with acks took ${Date.now() - t0} ms`);
    assert.deepEqual(sortJson(res.responses), sortJson(cs.map((c) => ({ from: c.id, x: 7 }))));

    // A member that never answers: timeout, with the answers that came.
    const mute = await connect(t, cl.c[2], WS);
    await emitAck(mute, "join", b);
    mute.on("q", () => {});
    const t1 = Date.now();
    const [late] = await emitAck(cs[0], "broadcast-ack", b, "q", 8, 600);
    assert.equal(late.status, "timeout");
    assert.ok(Date.now() - t1 >= 550, `timed out after ${Date.now() - t1} ms`);
    assert.deepEqual(sortJson(late.responses), sortJson(cs.map((c) => ({ from: c.id, x: 8 }))));
  });

  test("cross-node broadcast latency and deliveries/s (diagnostics)", async (t) => {
    const l = uniq("lat");
    const [a, b, c] = await onEach(t);
    for (const s of [a, b, c]) await emitAck(s, "join", l);
    // Latency: one message at a time from node 0, received on node 1.
    const lat = [];
    for (let i = 0; i < 1000; i++) {
      const p = nextEvent(b, "msg");
      const t0 = process.hrtime.bigint();
      a.emit("to", l, i);
      const [v] = await p;
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      assert.equal(v, i);
    }
    lat.sort((x, y) => x - y);
    const pct = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))];
    // Throughput: a burst of N messages from node 0 to the room, one member per node.
    const N = 2000;
    for (const s of [a, b, c]) {
      s.received.length = 0;
      s.pending.clear();
    }
    const t0 = Date.now();
    for (let i = 0; i < N; i++) a.emit("to", l, { i, pad: "x".repeat(64) });
    const burst = (s) => msgs(s).filter((m) => typeof m[0] === "object").length;
    await until(() => [a, b, c].every((s) => burst(s) >= N), { timeout: 30_000, step: 20, what: `${N} messages on each node` });
    const secs = (Date.now() - t0) / 1000;
    for (const s of [b, c]) assert.deepEqual(msgs(s).filter((m) => typeof m[0] === "object").map((m) => m[0].i), Array.from({ length: N }, (_, i) => i), "in order, once each");
    const line = `cross-node broadcast latency over Redis: p50 ${pct(0.5).toFixed(2)} ms, p99 ${pct(0.99).toFixed(2)} ms (n=${lat.length}); ${N} messages to 3 nodes: ${((3 * N) / secs).toFixed(0)} deliveries/s`;
    t.diagnostic(line);
  });
});
