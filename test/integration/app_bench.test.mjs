// --app bench with the real socket.io-client 4.8: `echo` acks its arguments,
// `join` acks "ok", `to` (room, payload) emits `msg` to the room (the sender
// included when a member), `all` (payload) emits `msg` to everyone.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { connect, eachMode, emitAck, nextEvent, normalize, useSioServer } from "./lib/sio.mjs";

describe("app bench", () => {
  const srv = useSioServer("bench");

  eachMode((mode) => {
    test("echo acks the same arguments, JSON and binary", async (t) => {
      const s = await connect(t, srv.server, mode);
      const args = [1, "two", { three: [3] }, null, Buffer.from([0, 255, 7])];
      assert.deepEqual(normalize(await emitAck(s, "echo", ...args)), normalize(args));
      assert.deepEqual(await emitAck(s, "echo"), []);
    });

    test("join acks ok; to reaches the room's members, the sender included; all reaches everyone", async (t) => {
      const room = `room-${Math.random().toString(36).slice(2)}`;
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => connect(t, srv.server, mode)));
      assert.deepEqual(await emitAck(a, "join", room), ["ok"]);
      assert.deepEqual(await emitAck(b, "join", room), ["ok"]);

      // From a member: both members, a included.
      await emitAck(a, "to", room, { n: 1 }, "x");
      assert.deepEqual(await nextEvent(a, "msg"), [{ n: 1 }, "x"]);
      assert.deepEqual(await nextEvent(b, "msg"), [{ n: 1 }, "x"]);
      // From a non-member: the members only.
      await emitAck(c, "to", room, "from c");
      assert.deepEqual(await nextEvent(a, "msg"), ["from c"]);
      assert.deepEqual(await nextEvent(b, "msg"), ["from c"]);
      // all: everyone, c included; c's first msg is this one.
      const tag = `all-${Math.random()}`;
      await emitAck(c, "all", tag);
      for (const s of [a, b, c]) {
        for (;;) {
          const [v] = await nextEvent(s, "msg");
          if (v === tag) break;
          assert.notEqual(s, c, `c received ${JSON.stringify(v)} before the broadcast to all`);
        }
      }
    });
  });
});
