// Connection state recovery with the classic Redis pub/sub adapter (issue 12,
// point 5): behind a sticky balancer (nginx ip_hash) a client comes back to
// the node it left, whose node-local log also numbered the broadcasts that
// came from the other nodes; a client that lands on another node gets a clean
// new session there. Two sio-server nodes on one real redis-server. Node's
// @socket.io/redis-adapter cannot do this (it throws "persistSession is not a
// function", socket.io-redis-adapter #532), so there is no reference run.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { io } from "socket.io-client";

import { ask, once, withoutOffset } from "./lib/recovery.mjs";
import { startRedis } from "./lib/redis.mjs";
import { isReference, startServer } from "./lib/server.mjs";
import { until } from "./lib/sio.mjs";

const WS = { transports: ["websocket"], reconnection: false, forceNew: true, timeout: 10_000 };

function client(t, url, opts = {}) {
  const s = io(url, { ...WS, ...opts });
  s.got = [];
  s.onAny((ev, ...args) => s.got.push([ev, ...withoutOffset(args)]));
  t.after(() => s.disconnect());
  return s;
}

describe("connection state recovery, classic Redis adapter", { skip: isReference && "Node's redis-adapter has no persistSession (#532)" }, () => {
  test("recovered on the same node (remote broadcasts replayed too); a clean new session on another node", async (t) => {
    const redis = await startRedis();
    t.after(() => redis.stop());
    const args = ["--app", "testkit", "--redis", redis.url, "--recovery-window", "60000"];
    const a = await startServer({ args });
    t.after(() => a.stop());
    const b = await startServer({ args });
    t.after(() => b.stop());

    const victim = client(t, a.url);
    await once(victim, "connect");
    const sender = client(t, b.url);
    await once(sender, "connect");
    await ask(victim, "join", "r");
    // Until both nodes' subscriptions are up: a room event from B reaches A.
    let n = 0;
    await until(
      async () => {
        await ask(sender, "to", "r", "warm", n++);
        await ask(victim, "echo", 0);
        return victim.got.some(([ev]) => ev === "warm");
      },
      { timeout: 20_000, what: "B -> A through Redis" },
    );
    await until(() => victim._lastOffset !== undefined, { what: "an offset" });
    const id = victim.id;
    let gone = once(victim, "disconnect");
    victim.io.engine.close();
    await gone;
    // Wait until A has the session (its socket left), then send from B.
    await until(async () => !(await ask(sender, "fetch")).some((x) => x.id === id), { timeout: 10_000, what: "A saw the disconnect" });
    const from = victim.got.length;
    await ask(sender, "to", "r", "room", 1);
    await ask(sender, "all", 2);
    await ask(sender, "to", id, "direct", 3);
    await ask(sender, "to", "r", "room", 4);
    // The broadcasts went through Redis to A: give them a moment to arrive
    // there (a round trip through A's own Redis subscription).
    const probe = client(t, a.url);
    await once(probe, "connect");
    await ask(probe, "join", "r");
    await ask(sender, "to", "r", "room-probe", 0);
    await until(() => probe.got.some(([ev]) => ev === "room-probe"), { timeout: 10_000, what: "A has B's broadcasts" });
    await ask(probe, "leave", "r");

    let p = once(victim, "connect");
    victim.connect();
    await p;
    assert.equal(victim.recovered, true);
    assert.equal(victim.id, id);
    await until(() => victim.got.length - from >= 5, { timeout: 10_000, what: "replay" });
    assert.deepEqual(victim.got.slice(from), [
      ["room", 1],
      ["msg", 2],
      ["direct", 3],
      ["room", 4],
      ["room-probe", 0],
    ]);
    assert.deepEqual(await ask(victim, "rooms"), [id, "r"]);

    // Cut again and come back on node B: no session there, a fresh one.
    gone = once(victim, "disconnect");
    victim.io.engine.close();
    await gone;
    await ask(sender, "to", "r", "room", 5);
    const moved = client(t, b.url, { autoConnect: false });
    moved._pid = victim._pid;
    moved._lastOffset = victim._lastOffset;
    p = once(moved, "connect");
    moved.connect();
    await p;
    assert.equal(moved.recovered, false);
    assert.notEqual(moved.id, id);
    assert.deepEqual(await ask(moved, "rooms"), [moved.id]);
    await ask(moved, "echo", 0);
    assert.deepEqual(
      moved.got.filter(([ev]) => ev !== "echo"),
      [],
    );
    victim.disconnect();
  });
});
