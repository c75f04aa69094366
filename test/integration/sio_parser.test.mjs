// A client on the other packet format than the server's --parser (default:
// socket.io-parser, msgpack: socket.io-msgpack-parser). The reference (socket.io
// 4.8 with `parser: require("socket.io-msgpack-parser")`, and without it)
// closes the Engine.IO connection at the first packet it cannot decode, so the
// client never connects and sees "transport close"; it says nothing. sio-server
// does the same and logs one WARN line per connection naming the mismatch.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { isReference } from "./lib/server.mjs";
import { SIO_MODES, SIO_PARSERS, newManager, rawPolling, until, useSioServer, waitEngineClose } from "./lib/sio.mjs";

const MISMATCH = /WARN sio: (\S+) sent (a text packet|a MessagePack packet) but the server uses --parser (\w+) \(client parser mismatch\?\)/g;

/** The mismatch lines of the server's log, as [sid, what, parser]. */
const mismatches = (server) => [...server.stderr().matchAll(MISMATCH)].map((m) => m.slice(1));

const CASES = [
  { server: SIO_PARSERS.msgpack, client: SIO_PARSERS.default, sent: "a text packet" },
  { server: SIO_PARSERS.default, client: SIO_PARSERS.msgpack, sent: "a MessagePack packet" },
];

for (const { server: sp, client: cp, sent } of CASES) {
  describe(`--parser ${sp.name}, client on the ${cp.name} parser`, () => {
    const srv = useSioServer("testkit", { parser: sp });

    for (const modeName of ["polling only", "WebSocket only"]) {
      test(`${modeName}: the connection is closed at the first packet, the socket never connects`, async (t) => {
        const m = newManager(t, srv.server, { ...SIO_MODES[modeName], ...cp.client });
        const s = m.socket("/");
        let connected = false;
        s.on("connect", () => (connected = true));
        await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no Engine.IO open within 5000 ms")), 5000);
          m.once("open", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        const sid = m.engine.id;
        assert.equal(await waitEngineClose(m), "transport close");
        assert.equal(connected, false);
        if (isReference) return;
        await until(() => mismatches(srv.server).some(([id]) => id === sid), { what: `a mismatch line for ${sid}` });
        assert.deepEqual(
          mismatches(srv.server).filter(([id]) => id === sid),
          [[sid, sent, sp.name]],
          "exactly one line for the connection",
        );
      });
    }
  });
}

describe("--parser msgpack: several text packets in one POST", () => {
  const srv = useSioServer("testkit", { parser: SIO_PARSERS.msgpack });

  test("one log line for the connection, not one per packet; the session is gone", async () => {
    const c = await rawPolling(srv.server);
    assert.equal((await c.post('40\x1e42["a"]\x1e42["b"]')).status, 200);
    // The session ends: the next GET gets the close packet "1" last (the
    // reference sends a noop before it), or, once it is gone, a 400.
    await until(
      async () => {
        const r = await c.get({ timeout: 3000 });
        return r.status === 400 || (r.status === 200 && r.text.split("\x1e").at(-1) === "1");
      },
      { what: "the session closed" },
    );
    if (isReference) return;
    await until(() => mismatches(srv.server).some(([id]) => id === c.sid), { what: "the mismatch line" });
    assert.deepEqual(
      mismatches(srv.server).filter(([id]) => id === c.sid),
      [[c.sid, "a text packet", "msgpack"]],
    );
  });
});
