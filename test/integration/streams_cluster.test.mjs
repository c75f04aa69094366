// Redis Streams adapter (--adapter redis-streams), mixed cluster on one private
// Redis: two sio-server nodes and a Node.js socket.io 4.8 server with
// @socket.io/redis-streams-adapter 0.3.1 (test/reference/cluster-node.mjs
// --adapter redis-streams). Broadcasts (with binary, byte-exact) and every
// cluster operation cross both ways: fetchSockets, serverSideEmit with acks,
// socketsJoin/Leave, disconnectSockets, broadcast with acks. And the stream
// holds what the reference writes: entries uid/nsp/type/data, data JSON or
// base64 MessagePack when binary, trimmed to about maxLen.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { decode } from "@msgpack/msgpack";

import { redisCommand, useRedisCluster } from "./lib/redis.mjs";
import { SIO_MODES, connect, emitAck, normalize, sleep, until, waitDisconnect } from "./lib/sio.mjs";

const WS = SIO_MODES["WebSocket only"];
const POLL = SIO_MODES["polling only"];
const uniq = (p) => `${p}-${Math.random().toString(36).slice(2, 8)}`;
const events = (s, name) => s.received.filter((e) => e.event === name).map((e) => normalize(e.args));
const sortJson = (list) => [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
const hasRoom = async (s, room) => (await emitAck(s, "rooms"))[0].includes(room);
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

async function settle(sockets, name, count, quiet = 300) {
  await until(() => sockets.every((s) => events(s, name).length >= count), { timeout: 10_000, what: `${count} "${name}" on each socket` }).catch((e) => {
    const brief = sockets.map((s) => events(s, name).map((ev) => JSON.stringify(ev).slice(0, 60)));
    throw new Error(`${e.message}; got ${JSON.stringify(brief)}`);
  });
  await sleep(quiet);
}

async function timed(p) {
  const t0 = Date.now();
  const r = await p;
  return [r, Date.now() - t0];
}

/** The stream's entries as {id, fields}. */
async function xrange(port, key = "socket.io") {
  const r = await redisCommand(port, "XRANGE", key, "-", "+");
  return r.map(([id, kv]) => ({ id, fields: Object.fromEntries(Array.from({ length: kv.length / 2 }, (_, i) => [kv[2 * i], kv[2 * i + 1]])) }));
}

describe("Redis Streams adapter: a Node.js socket.io server and two sio-server nodes", () => {
  const cl = useRedisCluster({ cNodes: 2, nodeNodes: 1, streams: true });
  const N = () => cl.node[0];
  const trio = (t, opts, mode = WS) => Promise.all([N(), ...cl.c].map((srv) => connect(t, srv, mode, opts)));

  test("broadcasts with binary cross both ways, byte-exact, over both transports", async (t) => {
    const m = uniq("m");
    const [n, c1, c2] = await trio(t);
    const p = await connect(t, cl.c[1], POLL);
    for (const s of [n, c1, c2, p]) await emitAck(s, "join", m);
    const fromNode = ["from-node", ALL_BYTES, { nested: [Buffer.alloc(0), Buffer.from("zz")], n: 1.5 }];
    await emitAck(n, "to", m, ...fromNode);
    await settle([n, c1, c2, p], "msg", 1);
    for (const s of [n, c1, c2, p]) assert.deepEqual(events(s, "msg"), [normalize(fromNode)]);

    const fromC = ["from-c", { deep: { bin: ALL_BYTES.subarray(100, 140) } }, [Buffer.from([0, 0, 1])], "h\u00e9 \u{1f600}"];
    await emitAck(c1, "to", m, ...fromC);
    await settle([n, c1, c2, p], "msg", 2);
    for (const s of [n, c1, c2, p]) assert.deepEqual(events(s, "msg")[1], normalize(fromC));

    // Text only (a JSON entry), excluding the sender, and except, from each kind.
    await emitAck(n, "broadcast", "b-node", { a: [1, null, true] });
    await emitAck(c2, "broadcast", "b-c2", 2);
    await settle([n, c1, c2], "msg", 3);
    assert.deepEqual(events(n, "msg").slice(2), [["b-c2", 2]]);
    assert.deepEqual(sortJson(events(c1, "msg").slice(2)), sortJson([["b-node", { a: [1, null, true] }], ["b-c2", 2]]));
    assert.deepEqual(events(c2, "msg").slice(2), [["b-node", { a: [1, null, true] }]]);

    const solo = uniq("solo");
    await emitAck(c1, "join", solo);
    await emitAck(n, "except", solo, "ex");
    await emitAck(c1, "except", solo, "ex2");
    await settle([n, c2], "msg", 5);
    for (const s of [n, c2]) assert.deepEqual(sortJson(events(s, "msg").slice(3)), [["ex"], ["ex2"]]);
    assert.equal(events(c1, "msg").length, 4, "c1 (in the excepted room) got an except broadcast");
  });

  test("the stream holds entries as the reference writes them (JSON, base64 MessagePack when binary)", async (t) => {
    const m = uniq("m");
    const [n, c1] = await trio(t);
    for (const s of [n, c1]) await emitAck(s, "join", m);
    await emitAck(c1, "to", m, "text", { x: 1 });
    await emitAck(c1, "to", m, "bin", Buffer.from([1, 2, 3]));
    await emitAck(n, "to", m, "node-bin", Buffer.from([4]));
    await settle([n], "msg", 3);
    const entries = (await xrange(cl.redis.port)).filter((e) => e.fields.type === "3").slice(-3);
    assert.equal(entries.length, 3);
    const [text, bin, nodeBin] = entries;
    for (const e of entries) assert.deepEqual(Object.keys(e.fields), ["uid", "nsp", "type", "data"]);
    assert.equal(text.fields.uid, bin.fields.uid);
    assert.notEqual(text.fields.uid, nodeBin.fields.uid);
    assert.match(text.fields.uid, /^[0-9a-f]{16}$/);
    assert.equal(text.fields.nsp, "/");
    assert.deepEqual(JSON.parse(text.fields.data), { packet: { type: 2, data: ["msg", "text", { x: 1 }] }, opts: { rooms: [m], except: [], flags: {} } });
    // Same shape for both writers: base64 of MessagePack.
    for (const [e, ev, bytes] of [[bin, "bin", [1, 2, 3]], [nodeBin, "node-bin", [4]]]) {
      assert.notEqual(e.fields.data[0], "{");
      const d = decode(Buffer.from(e.fields.data, "base64"));
      assert.deepEqual(d.packet.data[0], "msg");
      assert.deepEqual(d.packet.data[1], ev);
      assert.deepEqual([...d.packet.data[2]], bytes);
      assert.deepEqual(d.opts.rooms, [m]);
    }
  });

  test("the Node.js server's fetchSockets, serverSideEmitWithAck and broadcast with acks include the C nodes, without timeouts", async (t) => {
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

    const [[responses, st2], ms2] = await timed(emitAck(n, "server-emit", "echo", { v: [42, "x", null, true], b: Buffer.from([7]) }));
    assert.equal(st2, "ok");
    assert.ok(ms2 < 2000, `serverSideEmitWithAck took ${ms2} ms`);
    assert.deepEqual(normalize(responses), [{ v: [42, "x", null, true], b: { bin: "07" } }, { v: [42, "x", null, true], b: { bin: "07" } }]);

    for (const s of [n, c1, c2]) s.on("q", (x, cb) => cb({ from: s.id, x, bin: Buffer.from([x]) }));
    const [[res], ms3] = await timed(emitAck(n, "broadcast-ack", f, "q", 7, 2000));
    assert.equal(res.status, "ok");
    assert.ok(ms3 < 1500, `broadcast with acks took ${ms3} ms`);
    assert.deepEqual(sortJson(normalize(res.responses)), sortJson([n, c1, c2].map((s) => ({ from: s.id, x: 7, bin: { bin: "07" } }))));
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

  test("the C nodes' fetch, server-side emit, sockets join/leave, disconnect and broadcast with acks include the Node.js server", async (t) => {
    const f = uniq("f");
    const g = uniq("g");
    const [n, c1, c2] = await trio(t);
    const outsider = await connect(t, N(), WS);
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
    assert.equal(await hasRoom(outsider, g), false);

    for (const s of [n, c1, c2]) s.on("q", (x, cb) => cb(`${s.id}:${x}`));
    const [[res], ms3] = await timed(emitAck(c2, "broadcast-ack", g, "q", 3, 2000));
    assert.equal(res.status, "ok");
    assert.ok(ms3 < 1500, `broadcast with acks took ${ms3} ms`);
    assert.deepEqual([...res.responses].sort(), [n, c1, c2].map((s) => `${s.id}:3`).sort());

    await emitAck(c2, "sockets-leave", f, g);
    await until(async () => !(await hasRoom(n, g)) && !(await hasRoom(c1, g)), { what: `sockets out of ${g}` });
    await emitAck(c1, "disconnect-sockets", f, true);
    for (const s of [n, c1, c2]) assert.equal(await waitDisconnect(s), "io server disconnect");
    await sleep(100);
    assert.equal(outsider.connected, true);
  });

  test("another namespace has its own traffic on the same stream", async (t) => {
    const r = uniq("r");
    const [a0, a1, a2] = await trio(t, { nsp: "/admin" });
    const [n, c1] = await trio(t);
    for (const s of [a0, a1, a2, n, c1]) await emitAck(s, "join", r);
    await emitAck(a1, "to", r, "admin-from-c", Buffer.from([0xff]));
    await emitAck(a0, "to", r, "admin-from-node");
    await settle([a0, a1, a2], "msg", 2);
    for (const s of [a0, a1, a2]) assert.deepEqual(sortJson(events(s, "msg")), sortJson([["admin-from-c", { bin: "ff" }], ["admin-from-node"]]));
    for (const s of [n, c1]) assert.deepEqual(events(s, "msg"), [], "a / socket got an /admin broadcast");
  });
});

describe("Redis Streams adapter: --redis-stream and --redis-max-len", () => {
  const cl = useRedisCluster({ cNodes: 2, nodeNodes: 0, streams: true, nsps: ["/"], args: ["--redis-stream", "other-stream", "--redis-max-len", "50"] });

  test("entries go to the named stream, trimmed to about maxLen", async (t) => {
    const m = uniq("m");
    const [a, b] = await Promise.all(cl.c.map((srv) => connect(t, srv, WS)));
    for (const s of [a, b]) await emitAck(s, "join", m);
    // Paced (each acked): a reader more than maxLen entries behind the writers
    // would find them trimmed, with the reference's adapter as with ours.
    for (let i = 0; i < 300; i++) await emitAck(a, "to", m, i);
    await settle([b], "msg", 300, 100);
    assert.deepEqual(events(b, "msg").map((e) => e[0]), Array.from({ length: 300 }, (_, i) => i), "in order, each once");
    const len = await redisCommand(cl.redis.port, "XLEN", "other-stream");
    assert.ok(len >= 50 && len < 300, `XLEN ${len}: MAXLEN ~ 50 trims (by whole nodes of entries)`);
    assert.equal(await redisCommand(cl.redis.port, "EXISTS", "socket.io"), 0);
  });
});
