// A Redis cluster whose nodes use different Socket.IO packet formats: one
// sio-server node with --parser msgpack, one with the default parser, and a
// Node.js socket.io 4.8 node with socket.io-msgpack-parser
// (test/reference/cluster-node.mjs --parser msgpack), all on one private
// redis-server. The adapter's Redis messages do not depend on the parser, and
// each node encodes what it delivers in its own clients' format: broadcasts
// (binary included, byte-exact) from a client on any node reach the clients
// of every node, polling and WebSocket, and a broadcast with acks collects
// the answers of clients on both formats.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { startCNode, startNodeNode, startRedis, waitSubscribers } from "./lib/redis.mjs";
import { SIO_MODES, SIO_PARSERS, connect, emitAck, normalize, sleep, until } from "./lib/sio.mjs";

const uniq = (p) => `${p}-${Math.random().toString(36).slice(2, 8)}`;
const msgs = (s) => s.received.filter((e) => e.event === "msg").map((e) => normalize(e.args));
const sortJson = (list) => [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe("Redis adapter: nodes with --parser msgpack and --parser default", () => {
  const h = { redis: null, nodes: [] };
  before(async () => {
    h.redis = await startRedis();
    const started = await Promise.allSettled([
      startCNode(h.redis.url, { args: SIO_PARSERS.msgpack.args }),
      startCNode(h.redis.url),
      startNodeNode(h.redis.url, { args: SIO_PARSERS.msgpack.args }),
    ]);
    h.nodes = started.filter((r) => r.status === "fulfilled").map((r) => r.value);
    const bad = started.find((r) => r.status === "rejected");
    if (bad) throw bad.reason;
    await waitSubscribers(h.redis.port, 3, { nsps: ["/", "/admin"] });
  });
  after(async () => {
    const r = await Promise.allSettled(h.nodes.map((n) => n.stop()));
    if (h.redis) await h.redis.stop();
    const bad = r.find((x) => x.status === "rejected");
    if (bad) throw bad.reason;
  });

  /** Two clients on each node, one polling and one on WebSocket, on that node's parser. */
  async function clients(t) {
    const parsers = [SIO_PARSERS.msgpack, SIO_PARSERS.default, SIO_PARSERS.msgpack];
    const out = [];
    for (let i = 0; i < h.nodes.length; i++)
      for (const mode of ["polling only", "WebSocket only"])
        out.push(await connect(t, h.nodes[i], { ...SIO_MODES[mode], ...parsers[i].client }));
    return out;
  }

  test("a room broadcast from a client on any node reaches the members on every node, once", async (t) => {
    const r = uniq("r");
    const cs = await clients(t);
    for (const c of cs) assert.deepEqual(await emitAck(c, "join", r), ["ok"]);
    const expected = [];
    // From the msgpack C node's polling client, the default C node's WebSocket
    // client, and the Node.js node's polling client.
    for (const [i, from] of [[0, cs[0]], [1, cs[3]], [2, cs[4]]]) {
      const payload = [`from-node-${i}`, Buffer.from([i, 0, 255]), { nested: [Buffer.from("é"), { n: -1.5 }] }, null];
      expected.push(normalize(payload));
      assert.deepEqual(await emitAck(from, "to", r, ...payload), ["ok"]);
    }
    await until(() => cs.every((c) => msgs(c).length >= 3), { timeout: 10_000, what: "3 msg on each client" }).catch((e) => {
      throw new Error(`${e.message}; got ${JSON.stringify(cs.map(msgs))}`);
    });
    await sleep(300); // duplicates would have arrived by now
    for (const [k, c] of cs.entries()) assert.deepEqual(sortJson(msgs(c)), sortJson(expected), `client ${k}`);
  });

  test("a broadcast with acks from the default node collects the answers of msgpack clients", async (t) => {
    const r = uniq("acks");
    const cs = await clients(t);
    for (const [k, c] of cs.entries()) {
      c.on("question", (arg, cb) => cb({ k, arg: normalize(arg) }));
      assert.deepEqual(await emitAck(c, "join", r), ["ok"]);
    }
    const [res] = await emitAck(cs[2], "broadcast-ack", r, "question", Buffer.from([1, 2]), 5000);
    assert.equal(res.status, "ok");
    assert.deepEqual(
      res.responses.map((x) => x.k).sort(),
      cs.map((_, k) => k),
    );
    for (const x of res.responses) assert.deepEqual(x.arg, { bin: "0102" });
  });
});
