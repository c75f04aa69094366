// Mixed clusters on one private Redis: a Node.js socket.io 4.8 server with
// @socket.io/redis-adapter 8.x (test/reference/cluster-node.mjs) next to
// sio-server nodes. Broadcasts (with binary, byte-exact) cross both ways; the
// Node server's fetchSockets(), serverSideEmitWithAck(), socketsJoin/Leave,
// disconnectSockets and broadcast with acks include the C nodes' sockets and
// complete without timeouts; @socket.io/redis-emitter 5.x emits reach the
// clients of the C nodes; the C nodes' cluster operations include the Node
// server. And the `bench` app answers the server-side event `echo`.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

import { useRedisCluster } from "./lib/redis.mjs";
import { SIO_MODES, connect, emitAck, normalize, sleep, until, waitDisconnect } from "./lib/sio.mjs";

const WS = SIO_MODES["WebSocket only"];
const uniq = (p) => `${p}-${Math.random().toString(36).slice(2, 8)}`;
const events = (s, name) => s.received.filter((e) => e.event === name).map((e) => normalize(e.args));
const sortJson = (list) => [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
const hasRoom = async (s, room) => (await emitAck(s, "rooms"))[0].includes(room);
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Waits until each socket has `count` `name` events, then a while more (to catch duplicates). */
async function settle(sockets, name, count, quiet = 300) {
  await until(() => sockets.every((s) => events(s, name).length >= count), { what: `${count} "${name}" on each socket` }).catch((e) => {
    const brief = sockets.map((s) => events(s, name).map((ev) => JSON.stringify(ev).slice(0, 60)));
    throw new Error(`${e.message}; got ${JSON.stringify(brief)}`);
  });
  await sleep(quiet);
}

/** Emits with an ack and resolves with all its arguments (rejects after ms). */
function ackWithin(socket, ms, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, ...args, (err, ...res) => (err ? reject(new Error(`no ack for "${event}" within ${ms} ms`)) : resolve(res)));
  });
}

/** Resolves [result, elapsed ms]. */
async function timed(p) {
  const t0 = Date.now();
  const r = await p;
  return [r, Date.now() - t0];
}

describe("Redis adapter: a Node.js socket.io server and two sio-server nodes", () => {
  const cl = useRedisCluster({ cNodes: 2, nodeNodes: 1 });
  const N = () => cl.node[0];

  /** A client on the Node.js server and one on each C node: [n, c1, c2]. */
  const trio = (t, opts) => Promise.all([N(), ...cl.c].map((srv) => connect(t, srv, WS, opts)));

  test("broadcasts with binary cross both ways, byte-exact", async (t) => {
    const m = uniq("m");
    const [n, c1, c2] = await trio(t);
    for (const s of [n, c1, c2]) await emitAck(s, "join", m);

    // Node.js -> C nodes.
    const fromNode = ["from-node", ALL_BYTES, { nested: [Buffer.alloc(0), Buffer.from("zz")], n: 1.5 }];
    await emitAck(n, "to", m, ...fromNode);
    await settle([n, c1, c2], "msg", 1);
    for (const s of [n, c1, c2]) assert.deepEqual(events(s, "msg"), [normalize(fromNode)]);

    // C node -> Node.js and the other C node.
    const fromC = ["from-c", { deep: { bin: ALL_BYTES.subarray(100, 140) } }, [Buffer.from([0, 0, 1])]];
    await emitAck(c1, "to", m, ...fromC);
    await settle([n, c1, c2], "msg", 2);
    for (const s of [n, c1, c2]) assert.deepEqual(events(s, "msg")[1], normalize(fromC));

    // Broadcast-excluding-sender and except, from each kind of node.
    await emitAck(n, "broadcast", "b-node", Buffer.from([1]));
    await emitAck(c2, "broadcast", "b-c2", Buffer.from([2]));
    await settle([n, c1, c2], "msg", 3);
    assert.deepEqual(events(n, "msg").slice(2), [["b-c2", { bin: "02" }]]);
    assert.deepEqual(sortJson(events(c1, "msg").slice(2)), sortJson([["b-node", { bin: "01" }], ["b-c2", { bin: "02" }]]));
    assert.deepEqual(events(c2, "msg").slice(2), [["b-node", { bin: "01" }]]);

    const solo = uniq("solo");
    await emitAck(c1, "join", solo);
    await emitAck(n, "except", solo, "ex");
    await emitAck(c1, "except", solo, "ex2");
    await settle([n, c2], "msg", 5);
    for (const s of [n, c2]) assert.deepEqual(sortJson(events(s, "msg").slice(3)), [["ex"], ["ex2"]]);
    assert.equal(events(c1, "msg").length, 4, "c1 (in the excepted room) got an except broadcast");
  });

  test("strings holding U+0000 cross both ways", async (t) => {
    const m = uniq("m");
    const [n, c1, c2] = await trio(t);
    for (const s of [n, c1, c2]) await emitAck(s, "join", m);
    const nul = "a\u0000b";
    // The C node itself passes it through (local delivery), and so does the Node.js server.
    await emitAck(c1, "to", m, "c", nul, { [nul]: nul });
    await emitAck(n, "to", m, "n", nul, { [nul]: nul });
    await until(() => [n, c1, c2].every((s) => events(s, "msg").length >= 2), { timeout: 2000 }).catch(() => {});
    await sleep(200);
    const want = (tag) => JSON.stringify([tag, nul, { [nul]: nul }]);
    const paths = [
      ["local delivery on the C node", c1, "c"],
      ["local delivery on the Node.js server", n, "n"],
      ["C -> Node.js over Redis", n, "c"],
      ["C -> C over Redis", c2, "c"],
      ["Node.js -> C over Redis", c1, "n"],
      ["Node.js -> C over Redis", c2, "n"],
    ];
    const wrong = [];
    for (const [what, s, tag] of paths) {
      const got = events(s, "msg").find((e) => e[0] === tag);
      if (JSON.stringify(got) !== want(tag)) wrong.push(`${what}: ${got ? JSON.stringify(got) : "nothing"} instead of ${want(tag)}`);
    }
    assert.deepEqual(wrong, []);
  });

  test("the Node.js server's fetchSockets includes the C nodes' sockets, without timeouts", async (t) => {
    const f = uniq("f");
    const [n, c1, c2] = await trio(t);
    for (const s of [n, c1, c2]) await emitAck(s, "join", f);
    const [[sockets, status], ms] = await timed(emitAck(n, "fetch", f));
    assert.equal(status, "ok");
    assert.ok(ms < 2000, `fetchSockets took ${ms} ms`);
    assert.deepEqual(
      sortJson(sockets.map((s) => ({ id: s.id, rooms: [...s.rooms].sort() }))),
      sortJson([n, c1, c2].map((s) => ({ id: s.id, rooms: [s.id, f].sort() }))),
    );
    const [[all, st2]] = await timed(emitAck(n, "fetch", null));
    assert.equal(st2, "ok");
    for (const s of [n, c1, c2]) assert.ok(all.some((x) => x.id === s.id), `fetchSockets() misses ${s.id}`);
  });

  test("the Node.js server's serverSideEmitWithAck gets the C nodes' answers, without timeouts", async (t) => {
    const [n] = await trio(t);
    const [[responses, status], ms] = await timed(emitAck(n, "server-emit", "echo", { v: [42, "x", null, true] }));
    assert.equal(status, "ok");
    assert.ok(ms < 2000, `serverSideEmitWithAck took ${ms} ms`);
    assert.deepEqual(responses, [{ v: [42, "x", null, true] }, { v: [42, "x", null, true] }]);
    const [sizes, st2] = await emitAck(n, "server-emit", "size");
    assert.equal(st2, "ok");
    assert.equal(sizes.length, 2);
    for (const v of sizes) assert.ok(Number.isInteger(v) && v >= 1, `size ${v}`);
  });

  test("a server-side emit with a binary argument goes out as Node.js sends it ({type: 'Buffer', data})", async (t) => {
    const [n, c1] = await trio(t);
    const want = { type: "Buffer", data: [1, 0, 2] };
    // What Node.js does: JSON.stringify of the request turns the Buffer into {type, data}.
    const [fromNode, stN] = await emitAck(n, "server-emit", "echo", Buffer.from([1, 0, 2]));
    assert.equal(stN, "ok");
    assert.deepEqual(fromNode, [want, want]);
    // The same from a C node: answered by the Node.js server and the other C node.
    const [[fromC, stC], ms] = await timed(ackWithin(c1, 8000, "server-emit", "echo", Buffer.from([1, 0, 2])));
    assert.deepEqual({ status: stC, responses: fromC }, { status: "ok", responses: [want, want] }, `after ${ms} ms`);
  });

  test("the Node.js server's socketsJoin / socketsLeave / disconnectSockets reach the C nodes", async (t) => {
    const f = uniq("f");
    const g = uniq("g");
    const [n, c1, c2] = await trio(t);
    const outsider = await connect(t, cl.c[0], WS);
    for (const s of [n, c1, c2]) await emitAck(s, "join", f);

    assert.deepEqual(await emitAck(n, "sockets-join", f, g), ["ok"]);
    await until(async () => (await hasRoom(c1, g)) && (await hasRoom(c2, g)) && (await hasRoom(n, g)), { what: `C sockets in ${g}` });
    assert.equal(await hasRoom(outsider, g), false);
    await emitAck(n, "to", g, "to-g", Buffer.from([5]));
    await settle([n, c1, c2], "msg", 1);
    for (const s of [n, c1, c2]) assert.deepEqual(events(s, "msg"), [["to-g", { bin: "05" }]]);

    assert.deepEqual(await emitAck(n, "sockets-leave", f, g), ["ok"]);
    await until(async () => !(await hasRoom(c1, g)) && !(await hasRoom(c2, g)), { what: `C sockets out of ${g}` });

    assert.deepEqual(await emitAck(n, "disconnect-sockets", f, false), ["ok"]);
    for (const s of [n, c1, c2]) assert.equal(await waitDisconnect(s), "io server disconnect");
    await sleep(100);
    assert.equal(outsider.connected, true);
  });

  test("the Node.js server's broadcast with acks (timeout 2000) includes the C nodes' clients, without timeouts", async (t) => {
    const b = uniq("b");
    const [n, c1, c2] = await trio(t);
    for (const s of [n, c1, c2]) {
      await emitAck(s, "join", b);
      s.on("q", (x, cb) => cb({ from: s.id, x, bin: Buffer.from([x]) }));
    }
    const [[res], ms] = await timed(emitAck(n, "broadcast-ack", b, "q", 7, 2000));
    assert.equal(res.status, "ok");
    assert.ok(ms < 1500, `broadcast with acks took ${ms} ms`);
    assert.deepEqual(sortJson(normalize(res.responses)), sortJson([n, c1, c2].map((s) => ({ from: s.id, x: 7, bin: { bin: "07" } }))));
    // To every socket of the namespace: this test's clients are among the answers.
    const [all] = await emitAck(n, "broadcast-ack", null, "q", 9, 2000);
    for (const s of [n, c1, c2]) assert.ok(all.responses.some((r) => r && r.from === s.id && r.x === 9), `no answer from ${s.id}: ${JSON.stringify(all)}`);
  });

  test("the C nodes' fetch, server-side emit, sockets join and broadcast with acks include the Node.js server", async (t) => {
    const f = uniq("f");
    const g = uniq("g");
    const [n, c1, c2] = await trio(t);
    for (const s of [n, c1, c2]) await emitAck(s, "join", f);

    const [[sockets, status], ms] = await timed(emitAck(c1, "fetch", f));
    assert.equal(status, "ok");
    assert.ok(ms < 2000, `fetch took ${ms} ms`);
    assert.deepEqual(sockets.map((s) => s.id).sort(), [n, c1, c2].map((s) => s.id).sort());

    const [[responses, st2], ms2] = await timed(emitAck(c2, "server-emit", "echo", ["hi", 1]));
    assert.equal(st2, "ok");
    assert.ok(ms2 < 2000, `server-side emit took ${ms2} ms`);
    assert.deepEqual(responses, [["hi", 1], ["hi", 1]], "answers from the Node.js server and the other C node");

    await emitAck(c1, "sockets-join", f, g);
    await until(async () => (await hasRoom(n, g)) && (await hasRoom(c2, g)), { what: `Node.js socket in ${g}` });

    for (const s of [n, c1, c2]) s.on("q", (x, cb) => cb(`${s.id}:${x}`));
    const [[res], ms3] = await timed(emitAck(c2, "broadcast-ack", g, "q", 3, 2000));
    assert.equal(res.status, "ok");
    assert.ok(ms3 < 1500, `broadcast with acks took ${ms3} ms`);
    assert.deepEqual([...res.responses].sort(), [n, c1, c2].map((s) => `${s.id}:3`).sort());
  });

  describe("@socket.io/redis-emitter", () => {
    let client = null;
    let emitter = null;
    before(async () => {
      client = createClient({ url: cl.redis.url });
      client.on("error", () => {});
      await client.connect();
      emitter = new Emitter(client);
    });
    after(async () => {
      if (client) await client.quit();
    });

    test("emits to rooms, to everyone and to another namespace reach the C nodes' clients, with binary", async (t) => {
      const r = uniq("r");
      const [n, c1, c2] = await trio(t);
      const [a0, a1, a2] = await trio(t, { nsp: "/admin" });
      const lone = await connect(t, cl.c[1], WS);
      for (const s of [n, c1, c2, a0, a1, a2]) await emitAck(s, "join", r);

      emitter.to(r).emit("em", "to-room", ALL_BYTES, { nested: Buffer.from("xyz") });
      await settle([n, c1, c2], "em", 1);
      for (const s of [n, c1, c2]) assert.deepEqual(events(s, "em"), [normalize(["to-room", ALL_BYTES, { nested: Buffer.from("xyz") }])]);
      assert.deepEqual(events(lone, "em"), []);
      for (const s of [a0, a1, a2]) assert.deepEqual(events(s, "em"), [], "a /admin socket got a / emit");

      emitter.of("/admin").to(r).emit("em", "admin", Buffer.from([0xff, 0]));
      await settle([a0, a1, a2], "em", 1);
      for (const s of [a0, a1, a2]) assert.deepEqual(events(s, "em"), [["admin", { bin: "ff00" }]]);

      emitter.except(r).emit("em", "except-r");
      await settle([lone], "em", 1);
      assert.deepEqual(events(lone, "em"), [["except-r"]]);
      for (const s of [n, c1, c2]) assert.equal(events(s, "em").length, 1, "a member of r got the except emit");

      emitter.emit("em", "everyone", Buffer.from([1]));
      await settle([n, c1, c2, lone], "em", 2);
      for (const s of [n, c1, c2, lone]) assert.deepEqual(events(s, "em").at(-1), ["everyone", { bin: "01" }]);
    });

    test("odd values from the emitter arrive on the C nodes' clients as on the Node.js server's", async (t) => {
      const r = uniq("r");
      const [n, c1, c2] = await trio(t);
      for (const s of [n, c1, c2]) await emitAck(s, "join", r);
      const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i * 1000]));
      const values = [
        new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)), // timestamp 64 (ms part)
        new Date(0), // timestamp 32
        new Date(-1000), // before 1970: timestamp 96
        new Uint8Array([1, 2, 3]).buffer, // ArrayBuffer
        new Uint8Array([250, 251]),
        new Float32Array([1.5]),
        [undefined, null, 1, undefined],
        { a: undefined, b: 1 },
        [0.1 + 0.2, 1e21, 5e-324, 1.2345678901234568e20, -0, 1.5e-7, Number.MAX_VALUE],
        [2 ** 32, 2 ** 53 - 1, -(2 ** 31) - 1, -(2 ** 53 - 1), 255, 256, 65535, 65536, -32, -33, -128, -129],
        [NaN, Infinity, -Infinity],
        "h\u00e9llo \u{1f600} end \u{10ffff}", // U+0000: see "strings holding U+0000"
        "x".repeat(70000),
        Array.from({ length: 20 }, (_, i) => i),
        many,
        { deep: [{ b: Buffer.from([0]) }, [[Buffer.alloc(300, 7)]]] },
        {},
        [],
        true,
        false,
      ];
      for (let i = 0; i < values.length; i++) emitter.to(r).emit("odd", i, values[i]);
      await settle([n, c1, c2], "odd", values.length);
      const ref = events(n, "odd");
      assert.equal(ref.length, values.length);
      for (const s of [c1, c2]) {
        const got = events(s, "odd");
        for (let i = 0; i < values.length; i++) {
          const [a, b] = [JSON.stringify(got[i]), JSON.stringify(ref[i])];
          assert.ok(a === b, `value #${i}: a C node delivered ${a.slice(0, 300)}, the Node.js server ${b.slice(0, 300)}`);
        }
      }
    });

    test("socketsJoin and disconnectSockets from the emitter reach the C nodes", async (t) => {
      const r = uniq("r");
      const j = uniq("j");
      const [n, c1, c2] = await trio(t);
      for (const s of [n, c1, c2]) await emitAck(s, "join", r);
      emitter.in(r).socketsJoin(j);
      await until(async () => (await hasRoom(c1, j)) && (await hasRoom(c2, j)) && (await hasRoom(n, j)), { what: `sockets in ${j}` });
      emitter.in(j).disconnectSockets();
      for (const s of [n, c1, c2]) assert.equal(await waitDisconnect(s), "io server disconnect");
    });
  });
});

describe("Redis adapter: the bench app answers serverSideEmit echo", () => {
  const cl = useRedisCluster({ cNodes: 1, nodeNodes: 1, app: "bench", nsps: ["/"] });

  test("a Node.js node's serverSideEmitWithAck('echo', x) is answered with x by the bench node", async (t) => {
    const n = await connect(t, cl.node[0], WS);
    for (const v of [42, "text", { a: [1, null, { b: "c" }] }]) {
      const [[responses, status], ms] = await timed(emitAck(n, "server-emit", "echo", v));
      assert.equal(status, "ok");
      assert.ok(ms < 2000, `took ${ms} ms`);
      assert.deepEqual(responses, [v]);
    }
  });

  test("bench's to and all cross to the Node.js node", async (t) => {
    const r = uniq("r");
    const n = await connect(t, cl.node[0], WS);
    const c = await connect(t, cl.c[0], WS);
    for (const s of [n, c]) assert.deepEqual(await emitAck(s, "join", r), ["ok"]);
    await emitAck(c, "to", r, { from: "bench", bin: Buffer.from([9, 8]) });
    await settle([n, c], "msg", 1);
    for (const s of [n, c]) assert.deepEqual(events(s, "msg"), [[{ from: "bench", bin: { bin: "0908" } }]]);
    await emitAck(c, "all", "all-from-bench");
    await settle([n, c], "msg", 2);
    for (const s of [n, c]) assert.deepEqual(events(s, "msg")[1], ["all-from-bench"]);
  });
});
