// A custom adapter on the public interface (include/sio/adapter.h), run by
// --app adapterkit (test/apps/adapterkit.c): its factory is opened once per
// server, makes one adapter per namespace ("/" and "/other") that wraps the
// memory adapter and counts the core's calls, and is closed at shutdown. The
// rooms and broadcasts clients see go through it, in the three modes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { startServer } from "./lib/server.mjs";
import { connect, eachMode, emitAck, nextEvent, until, useSioServer } from "./lib/sio.mjs";

const isReference = process.env.SIO_TEST_TARGET === "reference";
const skip = isReference && "sio-server only (a C adapter)";

const stats = async (s) => (await emitAck(s, "stats"))[0];

describe("custom adapter (--app adapterkit)", { skip }, () => {
  eachMode((mode) => {
    const holder = useSioServer("adapterkit");

    test("joins, room broadcasts and fetchSockets go through the adapter; namespaces apart", async (t) => {
      const a = await connect(t, holder.server, mode);
      const b = await connect(t, holder.server, mode);
      const before = await stats(a);
      assert.equal(before.opened, 1, "the factory is opened once per server");
      assert.equal(before.created, 2, "one adapter per namespace: / and /other");
      assert.equal(before.nsp, "/");

      assert.deepEqual(await emitAck(a, "join", "room-1"), ["ok"]);
      assert.deepEqual(await emitAck(b, "to", "room-1", "hello"), ["ok"]);
      assert.deepEqual(await nextEvent(a, "msg"), ["hello"]);

      const after = await stats(a);
      assert.equal(after.joins - before.joins, 1, "one join op for one join");
      assert.ok(after.broadcasts - before.broadcasts >= 1, "the room broadcast went through broadcast");

      const ids = (await emitAck(a, "fetch"))[0];
      assert.ok(ids.includes(a.id) && ids.includes(b.id), `fetchSockets found ${JSON.stringify(ids)}`);
      assert.ok((await stats(a)).each > after.each, "fetchSockets selected through each");

      // The other namespace has its own adapter, untouched by the above.
      const o = await connect(t, holder.server, mode, { nsp: "/other" });
      const other = await stats(o);
      assert.equal(other.nsp, "/other");
      assert.equal(other.joins, 0);
      assert.equal(other.broadcasts, 0);

      // A disconnect leaves every room through leave_all.
      const leaveAll = (await stats(a)).leave_all;
      b.disconnect();
      await until(async () => (await stats(a)).leave_all > leaveAll, { what: "leave_all after a disconnect" });
    });
  });

  test("the factory's close runs at shutdown, after every namespace's adapter", async () => {
    const server = await startServer({ args: ["--app", "adapterkit"] });
    await server.stop();
    assert.match(server.stdout(), /adapterkit: closed after 2 namespaces/);
  });
});
