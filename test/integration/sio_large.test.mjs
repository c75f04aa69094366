// Large messages: with --max-payload 8000000 and every other option at its
// default (--max-buffered 1 MiB among them), a 5 MB Buffer and a 3 MB string
// round trip through the bench app's echo over polling, WebSocket and the
// upgrade; a message the options allow is never itself the reason for a
// backpressure disconnect. Checked against npm socket.io 4.8 with
// maxHttpBufferSize 8e6.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { describe, test } from "node:test";

import { connect, eachMode, useSioServer } from "./lib/sio.mjs";
import { isReference } from "./lib/server.mjs";

const BIG_BUFFER = 5_000_000;
const BIG_STRING = 3_000_000;

function echo(socket, value, timeout = 60_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo within ${timeout} ms`)), timeout);
    socket.emit("echo", value, (back) => {
      clearTimeout(timer);
      resolve(back);
    });
  });
}

describe("large messages (--max-payload 8000000, other options default)", () => {
  const srv = useSioServer("bench", { args: ["--max-payload", "8000000"] });

  eachMode((mode) => {
    test("a 5 MB Buffer and a 3 MB string round trip, twice, and the connection stays", { timeout: 180_000 }, async (t) => {
      const s = await connect(t, srv.server, mode);
      const buf = crypto.randomBytes(BIG_BUFFER);
      const str = crypto.randomBytes(BIG_STRING / 2).toString("hex");
      for (let round = 0; round < 2; round++) {
        const b = await echo(s, buf);
        assert.ok(Buffer.isBuffer(b) || b instanceof ArrayBuffer, `a Buffer comes back (round ${round})`);
        assert.ok(Buffer.from(b).equals(buf), `the 5 MB Buffer comes back byte for byte (round ${round})`);
        const back = await echo(s, str);
        assert.equal(back.length, str.length);
        assert.ok(back === str, `the 3 MB string comes back unchanged (round ${round})`);
      }
      assert.ok(s.connected, "still connected");
      assert.deepEqual(s.disconnects, [], "no disconnect, backpressure or other");
      if (!isReference) assert.doesNotMatch(srv.server.stderr(), /backpressure/, "no backpressure disconnect logged");
    });
  });
});
