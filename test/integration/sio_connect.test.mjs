// Socket.IO connections with the real socket.io-client 4.8 (--app testkit):
// auth, connect middlewares (refusing and asynchronous), invalid and dynamic
// namespaces, several namespaces multiplexed over one Engine.IO connection.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { connect, connectError, eachMode, emitAck, newManager, nextEvent, useSioServer } from "./lib/sio.mjs";

describe("Socket.IO connect (testkit)", () => {
  const srv = useSioServer("testkit");

  eachMode((mode) => {
    test("connects without auth: the server sees auth {}, the query, a header and the address", async (t) => {
      const s = await connect(t, srv.server, mode, { query: { q: "v1", other: "é x" }, extraHeaders: { "x-test": "hdr-1" } });
      assert.equal(s.connected, true);
      assert.equal(s.io.engine.transport.name, mode.transport);
      assert.match(s.id, /^[\w-]+$/);
      assert.notEqual(s.id, s.io.engine.id, "the Socket.IO id differs from the Engine.IO id");
      const [hs] = await emitAck(s, "handshake");
      assert.deepEqual(hs.auth, {});
      assert.equal(hs.query.q, "v1");
      assert.equal(hs.query.other, "é x");
      assert.equal(hs.query.EIO, "4");
      assert.equal(hs.header, "hdr-1");
      assert.match(hs.address, /^(::ffff:)?127\.0\.0\.1$/);
    });

    test("connects with auth: the server sees the payload as sent", async (t) => {
      const auth = { token: "abc", n: 42, nested: { list: [1, "two", null, true] }, "ünï": "cödé 😀" };
      const s = await connect(t, srv.server, mode, { auth });
      const [hs] = await emitAck(s, "handshake");
      assert.deepEqual(hs.auth, auth);
      assert.equal(JSON.stringify(hs.auth), JSON.stringify(auth), "key order kept");
      assert.equal(hs.header, null);
    });

    test("refused by a middleware: connect_error with the message and data", async (t) => {
      const err = await connectError(t, srv.server, mode, { auth: { refuse: "go away, ünïcode" } });
      assert.equal(err.message, "go away, ünïcode");
      assert.deepEqual(err.data, { reason: "by-test" });
      assert.equal(err.socket.connected, false);
      // The Engine.IO connection stays usable: another namespace connects on it.
      const other = await connect(t, srv.server, mode, { nsp: "/admin", manager: err.socket.io });
      assert.equal(other.io.engine.id, err.socket.io.engine.id);
      assert.deepEqual(await emitAck(other, "echo", "still here"), ["still here"]);
    });

    test("an asynchronous middleware accepts later", async (t) => {
      const s = await connect(t, srv.server, mode, { auth: { slow: true, x: 1 } });
      const [hs] = await emitAck(s, "handshake");
      assert.deepEqual(hs.auth, { slow: true, x: 1 });
      // The refusing middleware runs first: refuse wins over slow.
      const err = await connectError(t, srv.server, mode, { auth: { slow: true, refuse: "no" } });
      assert.equal(err.message, "no");
      assert.deepEqual(err.data, { reason: "by-test" });
    });

    test("middlewares of / do not apply to /admin", async (t) => {
      const s = await connect(t, srv.server, mode, { nsp: "/admin", auth: { refuse: "ignored here" } });
      const [hs] = await emitAck(s, "handshake");
      assert.deepEqual(hs.auth, { refuse: "ignored here" });
    });

    test("an unknown namespace gets connect_error \"Invalid namespace\"", async (t) => {
      const err = await connectError(t, srv.server, mode, { nsp: "/nope" });
      assert.equal(err.message, "Invalid namespace");
      // Not matched by the /dyn-* pattern either.
      const err2 = await connectError(t, srv.server, mode, { nsp: "/dyn" });
      assert.equal(err2.message, "Invalid namespace");
      // The same Engine.IO connection can still join a valid namespace.
      const s = await connect(t, srv.server, mode, { nsp: "/", manager: err.socket.io });
      assert.deepEqual(await emitAck(s, "echo", 1), [1]);
    });

    test("two namespaces on one Engine.IO connection", async (t) => {
      const m = newManager(t, srv.server, mode);
      const [root, admin] = await Promise.all([
        connect(t, srv.server, mode, { nsp: "/", manager: m, auth: { who: "root" } }),
        connect(t, srv.server, mode, { nsp: "/admin", manager: m, auth: { who: "admin" } }),
      ]);
      assert.equal(root.io, admin.io);
      assert.equal(root.io.engine.id, admin.io.engine.id, "one Engine.IO session");
      assert.notEqual(root.id, admin.id);
      assert.deepEqual((await emitAck(root, "handshake"))[0].auth, { who: "root" });
      assert.deepEqual((await emitAck(admin, "handshake"))[0].auth, { who: "admin" });
      assert.deepEqual(await emitAck(root, "echo", "r", 1), ["r", 1]);
      assert.deepEqual(await emitAck(admin, "echo", "a", 2), ["a", 2]);
      // A broadcast in /admin stays in /admin.
      await emitAck(admin, "all", "admin-only");
      await emitAck(root, "all", "root-only");
      assert.deepEqual(
        admin.received.filter((e) => e.event === "msg").map((e) => e.args),
        [["admin-only"]],
      );
      assert.deepEqual(
        root.received.filter((e) => e.event === "msg").map((e) => e.args),
        [["root-only"]],
      );
      // The rooms of each socket are per namespace: each is in its own room only.
      assert.deepEqual((await emitAck(root, "rooms"))[0], [root.id]);
      assert.deepEqual((await emitAck(admin, "rooms"))[0], [admin.id]);
    });

    test("a dynamic namespace (/dyn-*) is created on connect", async (t) => {
      const name = `/dyn-${Math.random().toString(36).slice(2, 8)}`;
      const a = await connect(t, srv.server, mode, { nsp: name });
      const b = await connect(t, srv.server, mode, { nsp: name });
      assert.equal(a.connected, true);
      assert.deepEqual(await emitAck(a, "echo", "dyn", { k: [1] }), ["dyn", { k: [1] }]);
      // Both sockets share the namespace: a broadcast from a reaches b.
      await emitAck(a, "broadcast", "hello b");
      assert.deepEqual(await nextEvent(b, "msg"), ["hello b"]);
      // a's ack left after any packet for a: a got no msg.
      assert.equal(a.received.filter((e) => e.event === "msg").length, 0);
    });
  });
});
