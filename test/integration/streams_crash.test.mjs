// Recovery after the node dies (issue 12 point 6), behind nginx ip_hash on
// one private Redis with the Redis Streams adapter: every client sits on the
// same node (one client address), that node is SIGKILLed, the clients
// reconnect through nginx to the surviving nodes and are recovered (same id,
// rooms) with every message sent before, during and after the crash, exactly
// once and in order. sio-server can because each connected socket's session
// record lives in Redis while it is connected (--redis-live-sessions, on by
// default). The same run with Node.js nodes (socket.io 4.8 +
// @socket.io/redis-streams-adapter 0.3.1) shows the reference failing it: it
// writes the record only when the socket disconnects, which a killed process
// never does, so its clients come back with new sessions and lose the
// messages.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { startNginx } from "./lib/cluster.mjs";
import { startCNode, startNodeNode, startRedis, waitStreamsReady } from "./lib/redis.mjs";
import { emitAck, sleep, until } from "./lib/sio.mjs";
import { recoverable } from "./lib/streams.mjs";

const ARGS = ["--adapter", "redis-streams", "--recovery-window", "60000"];
const N_CLIENTS = 24;
// The first argument (socket.io-client leaves the offset after it).
const msgs = (s) => s.received.filter((e) => e.event === "msg").map((e) => e.args[0]);

/** The node that served the last Socket.IO request through nginx. */
function servingNode(nginx, nodes) {
  const last = nginx.accessLog().filter((e) => e.upstream).at(-1);
  return nodes.find((n) => last && last.upstream === `127.0.0.1:${n.port}`);
}

function useCrashCluster(start, count) {
  const h = { redis: null, nodes: [], nginx: null };
  before(async () => {
    h.redis = await startRedis();
    h.nodes = await Promise.all(Array.from({ length: count }, () => start(h.redis.url)));
    await waitStreamsReady(h.redis.port, count);
    h.nginx = await startNginx(h.nodes.map((n) => `127.0.0.1:${n.port}`));
  });
  after(async () => {
    if (h.nginx) await h.nginx.stop();
    // The killed node's stop() reports its SIGKILL: expected.
    const bad = (await Promise.allSettled(h.nodes.filter((n) => !n.killed).map((n) => n.stop()))).find((r) => r.status === "rejected");
    if (h.redis) await h.redis.stop();
    if (bad) throw bad.reason;
  });
  return h;
}

/** Clients through nginx (half WebSocket, half polling) in room r; the node they landed on. */
async function crowd(t, h, r) {
  const clients = [];
  for (let i = 0; i < N_CLIENTS; i++) {
    const s = await recoverable(t, h.nginx, { transports: i % 2 ? ["polling"] : ["websocket"], delay: 300 });
    await emitAck(s, "join", r);
    clients.push(s);
  }
  const doomed = servingNode(h.nginx, h.nodes);
  assert.ok(doomed, "nginx names the node");
  return [clients, doomed];
}

async function crash(doomed) {
  doomed.killed = true;
  doomed.proc.kill("SIGKILL");
  await new Promise((r) => (doomed.proc.exitCode !== null || doomed.proc.signalCode !== null ? r() : doomed.proc.once("exit", r)));
}

describe("a sio-server node SIGKILLed: its clients are recovered by the other nodes, nothing missed", () => {
  const h = useCrashCluster((url) => startCNode(url, { args: ARGS }), 3);

  test(`${N_CLIENTS} clients (WebSocket and polling) on the killed node`, async (t) => {
    const [clients, doomed] = await crowd(t, h, "room");
    const survivor = h.nodes.find((n) => n !== doomed);
    const sender = await recoverable(t, survivor);
    const ids = clients.map((s) => s.id);
    for (let i = 1; i <= 3; i++) await emitAck(sender, "to", "room", i);
    await until(() => clients.every((s) => msgs(s).length === 3), { timeout: 10_000, what: "3 messages before the crash" });

    await crash(doomed);
    // While the clients find their way back, and after.
    for (let i = 4; i <= 13; i++) {
      await emitAck(sender, "to", "room", i);
      await sleep(50);
    }
    await until(() => clients.every((s) => s.connects === 2), { timeout: 30_000, what: "every client reconnected" });
    for (let i = 14; i <= 15; i++) await emitAck(sender, "to", "room", i);
    await until(() => clients.every((s) => msgs(s).length >= 15), { timeout: 15_000, what: "15 messages on every client" }).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(clients.map((s) => msgs(s)))}`);
    });
    await sleep(300);
    const want = Array.from({ length: 15 }, (_, i) => i + 1);
    for (const [i, s] of clients.entries()) {
      assert.equal(s.recovered, true, `client ${i} recovered`);
      assert.equal(s.id, ids[i], `client ${i} kept its id`);
      assert.deepEqual(msgs(s), want, `client ${i}: every message once, in order`);
    }
  });
});

describe("the same with Node.js nodes: @socket.io/redis-streams-adapter does not recover the clients of a killed node", () => {
  const h = useCrashCluster((url) => startNodeNode(url, { args: ARGS }), 2);

  test("its clients get fresh sessions and lose what was sent meanwhile", async (t) => {
    const [clients, doomed] = await crowd(t, h, "room");
    const survivor = h.nodes.find((n) => n !== doomed);
    const sender = await recoverable(t, survivor);
    const ids = clients.map((s) => s.id);
    await emitAck(sender, "to", "room", 1);
    await until(() => clients.every((s) => msgs(s).length === 1), { timeout: 10_000, what: "1 message before the crash" });
    await crash(doomed);
    for (let i = 2; i <= 4; i++) await emitAck(sender, "to", "room", i);
    await until(() => clients.every((s) => s.connects === 2), { timeout: 30_000, what: "every client reconnected" });
    await sleep(300);
    for (const [i, s] of clients.entries()) {
      assert.equal(s.recovered, false, `client ${i}: the reference recovered it after all`);
      assert.notEqual(s.id, ids[i]);
      assert.deepEqual(msgs(s), [1], `client ${i}: the messages sent while it was away are lost`);
    }
  });
});
