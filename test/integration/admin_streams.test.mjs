// The admin UI (development mode) on nodes of the Redis Streams adapter
// (--adapter redis-streams) with connection state recovery on: a broadcast is
// delivered to this node's clients only once XADD answered with its entry id
// (the offset), after the core's broadcast call returned. The admin still
// sees event_sent for each receiver, as the reference's ClusterAdapter calls
// each receiver's onAnyOutgoing listeners once it has the offset. Both
// directions: a broadcast made on the admin's node (delivered after XADD) and
// one made on the other node (read from the stream). Two nodes on one private
// redis-server; with SIO_TEST_TARGET=reference both are Node.js socket.io 4.8
// + @socket.io/redis-streams-adapter 0.3 + instrument().
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ADMIN_AUTH_ARG, ADMIN_REFERENCE, adminClient, chatClient, until } from "./lib/admin.mjs";
import { startRedis, waitStreamsReady } from "./lib/redis.mjs";
import { startServer } from "./lib/server.mjs";

describe("admin UI on Redis Streams adapter nodes (recovery on)", () => {
  const h = { redis: null, nodes: [] };
  before(async () => {
    h.redis = await startRedis();
    const args = ["--app", "chat", "--redis", h.redis.url, "--adapter", "redis-streams", "--recovery-window", "60000", "--admin-auth", ADMIN_AUTH_ARG];
    h.nodes = await Promise.all([0, 1].map(() => startServer({ args, reference: ADMIN_REFERENCE })));
    await waitStreamsReady(h.redis.port, 2, { nsps: ["/", "/admin"] });
  });
  after(async () => {
    const r = await Promise.allSettled(h.nodes.map((n) => n.stop()));
    if (h.redis) await h.redis.stop();
    const bad = r.find((x) => x.status === "rejected");
    if (bad) throw bad.reason;
  });

  test("event_sent for a broadcast from this node (delivered after XADD) and from the other node", async (t) => {
    const [a, b] = h.nodes;
    const admin = await adminClient(t, a.url);
    await until(() => admin.seen("all_sockets"), { what: "all_sockets" });
    const ca = await chatClient(t, a.url, { transports: ["websocket"] });
    const cb = await chatClient(t, b.url, { transports: ["polling"], upgrade: false });
    await until(() => admin.seen("socket_connected", (s) => s.id === ca.id), { what: "socket_connected" });

    // On the admin's node: the chat app broadcasts "message" to everyone.
    await ca.emitWithAck("message", "from a");
    await until(() => ca.got.some((g) => g[0] === "message" && /said: from a$/.test(g[1])), { what: "a's own broadcast at a" });
    const own = await until(() => admin.seen("event_sent", (nsp, id, args) => id === ca.id && args[0] === "message" && /said: from a$/.test(args[1])), { what: "event_sent for a's broadcast" });
    assert.equal(own.args[0], "/");
    // As the reference's onAnyOutgoing sees the packet: the offset (the
    // stream entry id) is the last item of its data.
    const got = ca.got.find((g) => g[0] === "message" && /said: from a$/.test(g[1]));
    assert.match(String(got.at(-1)), /^\d+-\d+$/, "the client got the stream entry id as offset");
    assert.deepEqual(own.args[2], got, "event_sent's data is the packet's, offset included");

    // From the other node, through the stream.
    await cb.emitWithAck("message", "from b");
    await until(() => ca.got.some((g) => g[0] === "message" && /said: from b$/.test(g[1])), { what: "b's broadcast at a" });
    await until(() => admin.seen("event_sent", (nsp, id, args) => id === ca.id && args[0] === "message" && /said: from b$/.test(args[1])), { what: "event_sent for b's broadcast" });
    // The admin sees the whole cluster: b's node reports its deliveries too.
    await until(() => admin.seen("event_sent", (nsp, id, args) => id === cb.id && /said: from b$/.test(args[1])), { what: "event_sent at the other node" });
  });
});
