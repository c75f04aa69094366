// --app chat (the default app) with the real socket.io-client 4.8: a client's
// `message` goes to everyone as "Client #<id> said: <text>", `users` carries
// the count on each connect and disconnect, `join`/`leave` manage rooms and a
// `message` naming a room goes to that room only.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { connect, eachMode, emitAck, newManager, nextEvent, startSio, useSioServer, waitDisconnect } from "./lib/sio.mjs";

/** The next `message` of s, skipping nothing (asserts it is `expected`). */
async function expectMessage(s, expected) {
  assert.deepEqual(await nextEvent(s, "message"), [expected]);
}

// The chat app turns connection state recovery on by default, which appends
// an offset to every event as Node does; these tests check the payloads
// exactly, so they run it off (recovery_*.test.mjs cover it on).
const NO_RECOVERY = ["--recovery-window", "0"];

describe("app chat", () => {
  eachMode((mode) => {
    // A server per mode: the user count must start at zero.
    const srv = useSioServer("chat", { args: NO_RECOVERY });

    test("two clients: user count, messages to everyone, rooms", async (t) => {
      const a = await connect(t, srv.server, mode);
      assert.deepEqual(await nextEvent(a, "users"), [1]);
      const b = await connect(t, srv.server, mode);
      assert.deepEqual(await nextEvent(a, "users"), [2]);
      assert.deepEqual(await nextEvent(b, "users"), [2]);

      // message -> everyone, the sender included.
      a.emit("message", "hello from a");
      await expectMessage(a, `Client #${a.id} said: hello from a`);
      await expectMessage(b, `Client #${a.id} said: hello from a`);
      // With an ack: acknowledged without arguments.
      assert.deepEqual(await emitAck(b, "message", "ünïcode 😀"), []);
      await expectMessage(a, `Client #${b.id} said: ünïcode 😀`);
      await expectMessage(b, `Client #${b.id} said: ünïcode 😀`);

      // join: a message to the room reaches its members only.
      assert.deepEqual(await emitAck(a, "join", "room1"), ["ok"]);
      assert.deepEqual(await emitAck(b, "message", "to room1", "room1"), []);
      await expectMessage(a, `Client #${b.id} said: to room1`);
      // b is not in room1: its next message is the one to everyone.
      b.emit("message", "sync 1");
      await expectMessage(b, `Client #${b.id} said: sync 1`);
      await expectMessage(a, `Client #${b.id} said: sync 1`);

      // leave: the room is empty now.
      assert.deepEqual(await emitAck(a, "leave", "room1"), ["ok"]);
      b.emit("message", "to nobody", "room1");
      b.emit("message", "sync 2");
      await expectMessage(a, `Client #${b.id} said: sync 2`);
      await expectMessage(b, `Client #${b.id} said: sync 2`);
      assert.deepEqual(await emitAck(a, "join", 42), ["error"], "a room must be a string");

      // b leaves: a gets the new count.
      b.disconnect();
      assert.equal(await waitDisconnect(b), "io client disconnect");
      assert.deepEqual(await nextEvent(a, "users"), [1]);
      assert.equal(a.received.filter((e) => e.event === "message").length, 5, "nothing but the five messages above");
    });

    test("SIGTERM just after a client closed its Engine.IO connection: clean exit", async (t) => {
      const server = await startSio(t, "chat", { args: NO_RECOVERY });
      const m = newManager(t, server, mode);
      const s = await connect(t, server, mode, { manager: m });
      assert.deepEqual(await nextEvent(s, "users"), [1]);
      // Close the connection without a DISCONNECT packet, then stop at once.
      m.engine.close();
      // stop() fails on a non-zero exit or a sanitizer report.
      await server.stop();
    });
  });
});
