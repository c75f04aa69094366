// --app conformance (--ping-interval 300 --ping-timeout 200): the Socket.IO
// protocol conformance behaviour at /socket.io/ with the real socket.io-client
// 4.8 (on connect to / and /custom `auth` with the CONNECT payload or {};
// `message` -> `message-back`; `message-with-ack` acknowledged; other
// namespaces invalid), and an Engine.IO echo at /engine.io/ with the real
// engine.io-client.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { MODES, nextMessage, openClient } from "./lib/client.mjs";
import { eioPath, request } from "./lib/eio.mjs";
import { connect, connectError, eachMode, emitAck, nextEvent, normalize, sleep, toBuffer, useSioServer } from "./lib/sio.mjs";

describe("app conformance", () => {
  const srv = useSioServer("conformance", { args: ["--ping-interval", "300", "--ping-timeout", "200"] });

  test("both paths hand out the configured heartbeat", async () => {
    for (const base of ["/socket.io/", "/engine.io/"]) {
      const res = await request(srv.server, { path: eioPath({}, base) });
      assert.equal(res.status, 200, base);
      const open = JSON.parse(res.text.slice(1));
      assert.equal(open.pingInterval, 300, base);
      assert.equal(open.pingTimeout, 200, base);
      // Close the session.
      await request(srv.server, { method: "POST", path: eioPath({ sid: open.sid }, base), body: "1" });
    }
  });

  eachMode((mode, modeName) => {
    test("on connect to / and /custom the client gets `auth` with its payload, or {}", async (t) => {
      const root = await connect(t, srv.server, mode, { auth: { token: "123", n: [1, 2] } });
      assert.deepEqual(await nextEvent(root, "auth"), [{ token: "123", n: [1, 2] }]);
      const custom = await connect(t, srv.server, mode, { nsp: "/custom", manager: root.io });
      assert.deepEqual(await nextEvent(custom, "auth"), [{}]);
      const bare = await connect(t, srv.server, mode);
      assert.deepEqual(await nextEvent(bare, "auth"), [{}]);
      const err = await connectError(t, srv.server, mode, { nsp: "/other" });
      assert.equal(err.message, "Invalid namespace");
    });

    test("message -> message-back; message-with-ack is acknowledged; over several heartbeats", async (t) => {
      for (const nsp of ["/", "/custom"]) {
        const s = await connect(t, srv.server, mode, { nsp });
        const args = [1, "2", { 3: [4] }, Buffer.from([1, 2, 3])];
        s.emit("message", ...args);
        assert.deepEqual(normalize(await nextEvent(s, "message-back")), normalize(args), nsp);
        assert.deepEqual(normalize(await emitAck(s, "message-with-ack", ...args)), normalize(args), nsp);
      }
      // Heartbeats every 300 ms: the client stays connected over several of them.
      const s = await connect(t, srv.server, mode);
      let pings = 0;
      s.io.engine.on("ping", () => pings++);
      await sleep(1000);
      assert.equal(s.connected, true);
      assert.ok(pings >= 2, `${pings} pings in 1 s`);
      assert.deepEqual(await emitAck(s, "message-with-ack", "still"), ["still"]);
    });

    test("Engine.IO echo at /engine.io/ (engine.io-client)", async (t) => {
      const socket = await openClient(t, srv.server, { ...MODES[modeName], path: "/engine.io/" });
      socket.send("hello 😀");
      assert.equal(await nextMessage(socket), "hello 😀");
      socket.send(Buffer.from([0, 1, 2, 255]));
      assert.deepEqual([...toBuffer(await nextMessage(socket))], [0, 1, 2, 255]);
      // Not Socket.IO: a Socket.IO CONNECT is echoed as plain text.
      socket.send("40");
      assert.equal(await nextMessage(socket), "40");
    });
  });
});
