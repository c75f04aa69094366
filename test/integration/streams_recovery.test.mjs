// Connection state recovery over the Redis Streams adapter, in a mixed cluster
// on one private Redis: two sio-server nodes (--adapter redis-streams
// --recovery-window 60000) and a Node.js socket.io 4.8 server with
// @socket.io/redis-streams-adapter 0.3.1 and connectionStateRecovery (same
// window). A real socket.io-client 4.8 that loses its connection comes back
// on ANOTHER node (C->C, C->Node, Node->C): same id, rooms kept, the events
// sent meanwhile replayed exactly once and in order, socket.recovered true.
// A client-initiated disconnect is not recovered (the live record goes too).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { redisCommand, useRedisCluster } from "./lib/redis.mjs";
import { emitAck, normalize, sleep, until } from "./lib/sio.mjs";
import { recoverable } from "./lib/streams.mjs";

const WINDOW = "60000";
const uniq = (p) => `${p}-${Math.random().toString(36).slice(2, 8)}`;
// socket.io-client leaves the offset (the stream entry id) as the last
// argument the application sees: split it off.
const withOffsets = (s) => s.received.filter((e) => e.event === "msg").map((e) => normalize(e.args));
const msgs = (s) => withOffsets(s).map((a) => (/^\d+-\d+$/.test(a.at(-1)) ? a.slice(0, -1) : a));
const offsets = (s) => withOffsets(s).map((a) => a.at(-1));

describe("Redis Streams adapter: recovery across sio-server and Node.js nodes", () => {
  const cl = useRedisCluster({ cNodes: 2, nodeNodes: 1, streams: true, nsps: ["/"], args: ["--recovery-window", WINDOW] });
  const paths = () => ({
    "C -> C": [cl.c[0], cl.c[1]],
    "C -> Node": [cl.c[0], cl.node[0]],
    "Node -> C": [cl.node[0], cl.c[1]],
  });

  for (const name of ["C -> C", "C -> Node", "Node -> C"]) {
    for (const transports of [["websocket"], ["polling"]]) {
      test(`${name} (${transports[0]}): same id, rooms kept, missed room and broadcast events replayed once, in order`, async (t) => {
        const [from, to] = paths()[name];
        const r = uniq("r");
        const s = await recoverable(t, from, { transports });
        const id = s.id;
        await emitAck(s, "join", r);
        // The sender sits on the third node.
        const third = [cl.c[0], cl.c[1], cl.node[0]].find((x) => x !== from && x !== to);
        const sender = await recoverable(t, third);
        await emitAck(sender, "to", r, "m1", Buffer.from([1]));
        await until(() => msgs(s).length === 1, { what: "m1" });
        assert.equal(s.recovered, false, "a first connect is not a recovery");

        const gone = new Promise((res) => s.once("disconnect", res));
        s.moveTo(to);
        assert.equal(await gone, "forced close"); // engine.close() on the client; the node sees a transport close
        await emitAck(sender, "to", r, "m2", { n: 2 });
        await emitAck(sender, "all", "m3");
        await until(() => s.connects === 2, { timeout: 15_000, what: "reconnected" });
        assert.equal(s.recovered, true, "socket.recovered");
        assert.equal(s.id, id, "same id");
        assert.ok((await emitAck(s, "rooms"))[0].includes(r), "room kept on the new node");
        await emitAck(sender, "to", r, "m4");
        await until(() => msgs(s).length >= 4, { what: "m4" });
        await sleep(300);
        assert.deepEqual(msgs(s), [["m1", { bin: "01" }], ["m2", { n: 2 }], ["m3"], ["m4"]]);
        const ids = offsets(s);
        for (const o of ids) assert.match(o, /^\d+-\d+$/, "every event carries its stream entry id");
        const key = (o) => o.split("-").map(BigInt);
        for (let i = 1; i < ids.length; i++) {
          const [a, b] = [key(ids[i - 1]), key(ids[i])];
          assert.ok(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]), `offsets ascend: ${ids}`);
        }
      });
    }
  }

  test("a client-initiated disconnect is not recovered, and its live record is gone", async (t) => {
    const s = await recoverable(t, cl.c[0]);
    const r = uniq("r");
    await emitAck(s, "join", r);
    await emitAck(s, "to", r, "x");
    await until(() => msgs(s).length === 1, { what: "x" });
    const pid = s._pid;
    assert.ok(pid, "a pid in the CONNECT reply");
    await until(async () => (await redisCommand(cl.redis.port, "EXISTS", `sio:session:${pid}`)) === 1, { what: "live record written" });
    const id = s.id;
    s.disconnect();
    await until(async () => (await redisCommand(cl.redis.port, "EXISTS", `sio:session:${pid}`)) === 0, { what: "live record deleted" });
    s.connect(); // sends the old pid and offset again
    await until(() => s.connects === 2, { what: "reconnected" });
    assert.equal(s.recovered, false);
    assert.notEqual(s.id, id);
    assert.equal((await emitAck(s, "rooms"))[0].includes(r), false);
  });

  test("the live record is the reference's ({sid, pid, rooms, data}) and follows the rooms", async (t) => {
    const { decode } = await import("@msgpack/msgpack");
    const s = await recoverable(t, cl.c[1]);
    const pid = s._pid;
    const read = async () => {
      const v = await redisCommand(cl.redis.port, "GET", `sio:session:${pid}`);
      return v && decode(Buffer.from(v, "base64"));
    };
    await until(async () => (await read()) !== null, { what: "record" });
    assert.deepEqual(await read(), { sid: s.id, pid, rooms: [s.id], data: {} });
    await emitAck(s, "join", "a");
    await emitAck(s, "join", "b");
    await until(async () => (await read()).rooms.length === 3, { what: "rooms a, b in the record" });
    assert.deepEqual((await read()).rooms.sort(), [s.id, "a", "b"].sort());
    const ttl = await redisCommand(cl.redis.port, "PTTL", `sio:session:${pid}`);
    assert.ok(ttl > 60000 && ttl <= 90000, `PTTL ${ttl}: window + a refresh period`);
  });

  test("Redis commands added by the live records: one SET per join, one per leave, one DEL per final leave", async (t) => {
    const calls = async () => {
      const info = String(await redisCommand(cl.redis.port, "INFO", "commandstats"));
      const get = (c) => Number((new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(info) || [0, 0])[1]);
      return { set: get("set"), del: get("del"), pexpire: get("pexpire") };
    };
    const s = await recoverable(t, cl.c[0]);
    await until(async () => (await redisCommand(cl.redis.port, "EXISTS", `sio:session:${s._pid}`)) === 1, { what: "record" });
    const before = await calls();
    const JOINS = 40;
    for (let i = 0; i < JOINS; i++) await emitAck(s, "join", `j${i}`);
    for (let i = 0; i < JOINS; i++) await emitAck(s, "leave", `j${i}`);
    await sleep(200);
    const mid = await calls();
    const pid = s._pid;
    s.disconnect();
    await until(async () => (await redisCommand(cl.redis.port, "EXISTS", `sio:session:${pid}`)) === 0, { what: "record deleted" });
    const end = await calls();
    const perJoin = (mid.set - before.set) / (2 * JOINS);
    console.log(`live records: ${mid.set - before.set} SET for ${JOINS} joins + ${JOINS} leaves (${perJoin} per join/leave), ${end.del - mid.del} DEL at the final disconnect`);
    assert.equal(mid.set - before.set, 2 * JOINS, "one SET per room change (the other nodes' traffic aside: they are idle)");
    assert.equal(end.del - mid.del, 1);
  });
});
