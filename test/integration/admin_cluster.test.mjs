// The admin UI across a mixed cluster on one real redis-server: two sio-server
// nodes (chat app, --redis, --admin-auth) and one Node.js node running
// socket.io 4.8 + the classic @socket.io/redis-adapter 8.3 + instrument()
// (test/reference/admin-node.mjs). An admin connected to any node sees the
// three servers (server_stats of each) and every socket (all_sockets), and
// its _disconnect reaches a client on another node, whatever its kind. With
// SIO_TEST_TARGET=reference the "C" nodes are Node.js nodes too.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { ADMIN_AUTH_ARG, ADMIN_REFERENCE, adminClient, chatClient, until } from "./lib/admin.mjs";
import { startRedis, waitSubscribers } from "./lib/redis.mjs";
import { freePort, isReference, REPO_ROOT, startServer } from "./lib/server.mjs";

async function startNodeAdmin(redisUrl, serverId) {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(REPO_ROOT, ADMIN_REFERENCE), "--host", "127.0.0.1", "--port", String(port), "--redis", redisUrl, "--admin-auth", ADMIN_AUTH_ARG, "--server-id", serverId], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((r) => proc.on("exit", r));
  await until(() => out.includes("listening on"), { what: `Node.js admin node (${out})`, timeout: 20_000 });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      const code = await exited;
      clearTimeout(killer);
      assert.equal(code, 0, `Node.js admin node exited with ${code}: ${out}`);
    },
  };
}

describe("admin UI across a mixed Redis cluster", () => {
  const h = { redis: null, c: [], node: null };
  before(async () => {
    h.redis = await startRedis();
    // sio-server's default serverId is <hostname>#<pid>; the reference's is the
    // hostname alone, the same for nodes on one host: give those theirs.
    const ids = (i) => (isReference ? ["--server-id", `reference-${i}`] : []);
    h.c = await Promise.all([0, 1].map((i) => startServer({ args: ["--app", "chat", "--redis", h.redis.url, "--admin-auth", ADMIN_AUTH_ARG, ...ids(i)], reference: ADMIN_REFERENCE })));
    h.node = await startNodeAdmin(h.redis.url, "node-reference");
    await waitSubscribers(h.redis.port, 3, { nsps: ["/", "/admin"] });
  });
  after(async () => {
    const r = await Promise.allSettled([...h.c, h.node].filter(Boolean).map((n) => n.stop()));
    if (h.redis) await h.redis.stop();
    const bad = r.find((x) => x.status === "rejected");
    if (bad) throw bad.reason;
  });

  test("three servers and every socket; a disconnect from the admin reaches a client on another node", async (t) => {
    const [c1, c2] = h.c;
    const onC1 = await chatClient(t, c1.url, { transports: ["websocket"] });
    const onC2 = await chatClient(t, c2.url, { transports: ["polling"], upgrade: false });
    const onNode = await chatClient(t, h.node.url, { transports: ["websocket"] });
    assert.equal(await onNode.emitWithAck("join", "node-room"), "ok");

    for (const via of [c1, h.node]) {
      const admin = await adminClient(t, via.url);
      // server_stats from each node reach the admin through the adapter.
      const ids = await until(
        () => {
          const s = new Set(admin.log.filter((e) => e.event === "server_stats").map((e) => e.args[0].serverId));
          return s.size >= 3 && s;
        },
        { what: "server_stats of three servers", timeout: 20_000 },
      );
      assert.ok(ids.has("node-reference"));
      // all_sockets: fetchSockets of every namespace on every node.
      const all = (await until(() => admin.seen("all_sockets"), { what: "all_sockets" })).args[0];
      for (const c of [onC1, onC2, onNode]) {
        const s = all.find((x) => x.id === c.id);
        assert.ok(s, `all_sockets via ${via.url} lists ${c.id}`);
        assert.equal(s.nsp, "/");
        assert.equal(s.clientId, c.io.engine.id.slice(0, 12), "clientId from data._admin, whatever node");
        assert.equal(typeof s.transport, "string");
      }
      assert.ok(all.find((x) => x.id === onNode.id).rooms.includes("node-room"));
      admin.close();
    }

    // From an admin on a C node: a client on the Node.js node, then one on the other C node.
    const admin = await adminClient(t, c1.url);
    await until(() => admin.seen("config"), { what: "config" });
    for (const victim of [onNode, onC2]) {
      const gone = new Promise((r) => victim.once("disconnect", r));
      admin.emit("_disconnect", "/", false, victim.id);
      assert.equal(await gone, "io server disconnect");
    }
    assert.ok(onC1.connected, "the filters spared the others");
    // And from the Node.js node's admin, a client on a C node.
    const nodeAdmin = await adminClient(t, h.node.url);
    await until(() => nodeAdmin.seen("config"), { what: "config" });
    const gone = new Promise((r) => onC1.once("disconnect", r));
    nodeAdmin.emit("_disconnect", "/", true, onC1.id);
    assert.equal(await gone, "io server disconnect");
  });
});
