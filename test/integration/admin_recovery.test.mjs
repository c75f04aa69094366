// The admin UI (development mode) on one node with connection state recovery
// on (the in-memory adapter): every broadcast event carries its offset as its
// last argument, and the reference's onAnyOutgoing (what instrument() turns
// into event_sent) sees the packet's data with that offset, as the client gets
// it. admin_streams.test.mjs checks the same with the Redis Streams adapter.
// With SIO_TEST_TARGET=reference: socket.io 4.8 + instrument() with
// connectionStateRecovery.
import assert from "node:assert/strict";
import { test } from "node:test";

import { adminClient, chatClient, until, useAdminServer } from "./lib/admin.mjs";

test("event_sent of a broadcast with recovery on carries the packet's offset", async (t) => {
  const srv = await useAdminServer(t, { args: ["--recovery-window", "60000"] });
  const admin = await adminClient(t, srv.url);
  await until(() => admin.seen("all_sockets"), { what: "all_sockets" });
  const c = await chatClient(t, srv.url, { transports: ["websocket"] });
  await until(() => admin.seen("socket_connected", (s) => s.id === c.id), { what: "socket_connected" });

  await c.emitWithAck("message", "hello");
  const got = await until(() => c.got.find((g) => g[0] === "message" && /said: hello$/.test(g[1])), { what: "the broadcast at the client" });
  assert.equal(typeof got.at(-1), "string", "the client got an offset as the last argument");
  const sent = await until(() => admin.seen("event_sent", (nsp, id, args) => id === c.id && args[0] === "message" && /said: hello$/.test(args[1])), { what: "event_sent" });
  assert.equal(sent.args[0], "/");
  assert.deepEqual(sent.args[2], got, "event_sent's data is the packet's, offset included");
});
