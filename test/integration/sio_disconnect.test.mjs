// Disconnects with the real socket.io-client 4.8 (--app testkit): server-side
// disconnect of one namespace or of the whole connection, and the reasons the
// server records ("server namespace disconnect", "client namespace
// disconnect", "transport close", "ping timeout", "server shutting down"),
// read back with the testkit's `reasons` event or from its stdout.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  connect,
  eachMode,
  emitAck,
  newManager,
  rawWs,
  sleep,
  startSio,
  until,
  useSioServer,
  waitDisconnect,
  waitEngineClose,
} from "./lib/sio.mjs";

/** The reason the server recorded for socket id `id` in the observer's namespace (polls until there is one). */
async function recordedReason(observer, id, { timeout = 5000 } = {}) {
  let found;
  await until(
    async () => {
      const [list] = await emitAck(observer, "reasons");
      found = list.find((r) => r.id === id);
      return found !== undefined;
    },
    { timeout, step: 25, what: `a disconnect reason recorded for ${id}` },
  );
  return found.reason;
}

describe("Socket.IO disconnects (testkit)", () => {
  const srv = useSioServer("testkit");

  eachMode((mode) => {
    test("server disconnects one namespace: the client gets \"io server disconnect\", the other namespace stays", async (t) => {
      const m = newManager(t, srv.server, mode);
      const root = await connect(t, srv.server, mode, { nsp: "/", manager: m });
      const admin = await connect(t, srv.server, mode, { nsp: "/admin", manager: m });
      const engineId = m.engine.id;
      const adminId = admin.id;
      admin.emit("disconnect-me", false);
      assert.equal(await waitDisconnect(admin), "io server disconnect");
      assert.equal(admin.connected, false);
      // The Engine.IO connection and the other namespace are untouched.
      assert.equal(m.engine.readyState, "open");
      assert.equal(m.engine.id, engineId);
      assert.deepEqual(await emitAck(root, "echo", "still"), ["still"]);
      assert.equal(root.connected, true);
      const observer = await connect(t, srv.server, mode, { nsp: "/admin" });
      assert.equal(await recordedReason(observer, adminId), "server namespace disconnect");
    });

    test("server disconnects the whole connection: every namespace is disconnected and the connection closes", async (t) => {
      const m = newManager(t, srv.server, mode);
      const root = await connect(t, srv.server, mode, { nsp: "/", manager: m });
      const admin = await connect(t, srv.server, mode, { nsp: "/admin", manager: m });
      const ids = [root.id, admin.id];
      const closed = waitEngineClose(m);
      const rootGone = waitDisconnect(root);
      const adminGone = waitDisconnect(admin);
      root.emit("disconnect-me", true);
      assert.equal(await rootGone, "io server disconnect");
      assert.equal(await adminGone, "io server disconnect");
      await closed;
      assert.equal(m.engine.readyState, "closed");
      const obsRoot = await connect(t, srv.server, mode, { nsp: "/" });
      const obsAdmin = await connect(t, srv.server, mode, { nsp: "/admin" });
      assert.equal(await recordedReason(obsRoot, ids[0]), "server namespace disconnect");
      assert.equal(await recordedReason(obsAdmin, ids[1]), "server namespace disconnect");
    });

    test("client namespace disconnect is recorded as \"client namespace disconnect\"", async (t) => {
      const m = newManager(t, srv.server, mode);
      const root = await connect(t, srv.server, mode, { nsp: "/", manager: m });
      const admin = await connect(t, srv.server, mode, { nsp: "/admin", manager: m });
      const id = admin.id;
      admin.disconnect();
      assert.equal(await waitDisconnect(admin), "io client disconnect");
      // The connection stays for the other namespace.
      assert.deepEqual(await emitAck(root, "echo", 1), [1]);
      const observer = await connect(t, srv.server, mode, { nsp: "/admin" });
      assert.equal(await recordedReason(observer, id), "client namespace disconnect");
    });

    test("the client closing its Engine.IO connection is recorded as \"transport close\"", async (t) => {
      const m = newManager(t, srv.server, mode);
      const root = await connect(t, srv.server, mode, { nsp: "/", manager: m });
      const admin = await connect(t, srv.server, mode, { nsp: "/admin", manager: m });
      const ids = [root.id, admin.id];
      m.engine.close();
      await sleep(50);
      const obsRoot = await connect(t, srv.server, mode, { nsp: "/" });
      const obsAdmin = await connect(t, srv.server, mode, { nsp: "/admin" });
      assert.equal(await recordedReason(obsRoot, ids[0]), "transport close");
      assert.equal(await recordedReason(obsAdmin, ids[1]), "transport close");
    });
  });
});

describe("Socket.IO ping timeout (testkit, --ping-interval 200 --ping-timeout 200)", () => {
  const srv = useSioServer("testkit", { args: ["--ping-interval", "200", "--ping-timeout", "200"] });

  eachMode((mode) => {
    test("a client that stops answering pings is disconnected with \"ping timeout\"", async (t) => {
      const frozen = await connect(t, srv.server, mode);
      const frozenId = frozen.id;
      // Freeze the client's heartbeat: it keeps receiving but never sends a pong.
      const engine = frozen.io.engine;
      const send = engine._sendPacket.bind(engine);
      engine._sendPacket = (type, ...rest) => (type === "pong" ? undefined : send(type, ...rest));
      const observer = await connect(t, srv.server, mode);
      assert.equal(await recordedReason(observer, frozenId, { timeout: 3000 }), "ping timeout");
      // The observer answers its pings and stays connected.
      await sleep(500);
      assert.equal(observer.connected, true);
      assert.deepEqual(await emitAck(observer, "echo", "alive"), ["alive"]);
    });
  });

  test("a raw WebSocket client that never answers pings is disconnected with \"ping timeout\"", async (t) => {
    const { ws, sid } = await rawWs(t, srv.server);
    const m = newManager(t, srv.server, { transports: ["websocket"] });
    const observer = await connect(t, srv.server, { transports: ["websocket"] }, { manager: m });
    assert.equal(await recordedReason(observer, sid, { timeout: 3000 }), "ping timeout");
    assert.ok(await ws.waitClosed(2000), "the server closed the WebSocket");
    // It did receive pings ("2") that it left unanswered.
    assert.ok(ws.messages.some((msg) => !msg.binary && msg.data === "2"), JSON.stringify(ws.messages));
  });
});

describe("Socket.IO server shutdown (testkit)", () => {
  eachMode((mode) => {
    test("SIGTERM disconnects every socket with \"server shutting down\"; clients see \"transport close\"", async (t) => {
      const server = await startSio(t, "testkit");
      const m = newManager(t, server, mode);
      const root = await connect(t, server, mode, { nsp: "/", manager: m });
      const admin = await connect(t, server, mode, { nsp: "/admin", manager: m });
      const ids = [root.id, admin.id];
      const gone = [waitDisconnect(root), waitDisconnect(admin)];
      // An idle client: over polling, its next GET is waiting on the server.
      await sleep(100);
      await server.stop();
      assert.deepEqual(await Promise.all(gone), ["transport close", "transport close"]);
      const out = server.stdout();
      assert.ok(out.includes(`testkit: disconnect / ${ids[0]} server shutting down\n`), out);
      assert.ok(out.includes(`testkit: disconnect /admin ${ids[1]} server shutting down\n`), out);
    });
  });
});
