// The real npm engine.io-client 6.x against the echo app, over polling only,
// WebSocket only, and polling upgraded to WebSocket.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MODES, nextMessage, openClient, waitClose, waitUpgrade } from "./lib/client.mjs";
import { jsonBody, poll, sleep } from "./lib/eio.mjs";
import { useEchoServer } from "./lib/server.mjs";

function bytesOf(data) {
  assert.ok(data instanceof Uint8Array || data instanceof ArrayBuffer, `binary expected, got ${typeof data}: ${String(data).slice(0, 50)}`);
  return Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
}

async function assertSessionGone(server, sid) {
  const res = await poll(server, sid, { timeout: 3000 });
  assert.equal(res.status, 400);
  assert.deepEqual(jsonBody(res), { code: 1, message: "Session ID unknown" });
}

function expectedTransport(mode) {
  return mode === "polling only" ? "polling" : "websocket";
}

/** Opens a client in the given mode, waiting for the upgrade in the upgrade mode. */
async function openInMode(t, server, mode, extra = {}) {
  const socket = await openClient(t, server, { ...MODES[mode], ...extra });
  if (mode === "polling upgraded to WebSocket") await waitUpgrade(socket);
  assert.equal(socket.transport.name, expectedTransport(mode));
  return socket;
}

for (const mode of Object.keys(MODES)) {
  describe(`engine.io-client, ${mode}`, () => {
    const ctx = useEchoServer();

    it("opens with the expected transport and a 20-character sid", async (t) => {
      const socket = await openClient(t, ctx.server, MODES[mode]);
      assert.equal(socket.readyState, "open");
      assert.match(socket.id, /^[A-Za-z0-9_-]{20}$/);
      const first = mode === "WebSocket only" ? "websocket" : "polling";
      assert.equal(socket.transport.name, first);
      if (mode === "polling upgraded to WebSocket") {
        const transport = await waitUpgrade(socket);
        assert.equal(transport.name, "websocket");
        assert.equal(socket.transport.name, "websocket");
      } else {
        // No upgrade happens when it is not asked for.
        await sleep(300);
        assert.equal(socket.transport.name, first);
      }
    });

    // (An empty message reaches engine.io-client as undefined, whatever the server: the raw tests cover it.)
    it("text messages are echoed", async (t) => {
      const socket = await openInMode(t, ctx.server, mode);
      for (const msg of ["hello", "x".repeat(5000), '{"json":[1,2,3]}']) {
        socket.send(msg);
        assert.equal(await nextMessage(socket), msg);
      }
    });

    it("unicode (emoji, CJK) is echoed intact", async (t) => {
      const socket = await openInMode(t, ctx.server, mode);
      for (const msg of ["😀🎉👍🏽", "你好，世界", "日本語のテキスト", "한국어", "mixed: é ü 𝄞 😀 中"]) {
        socket.send(msg);
        assert.equal(await nextMessage(socket), msg);
      }
    });

    it("binary (Buffer and Uint8Array) is echoed byte-exact as binary", async (t) => {
      const socket = await openInMode(t, ctx.server, mode);
      const all = Buffer.alloc(256);
      for (let i = 0; i < 256; i++) all[i] = i;
      const cases = [all, new Uint8Array([0, 1, 2, 254, 255]), Buffer.from("not text \u0000\u00ff", "latin1"), Buffer.alloc(50_000, 0x5a)];
      for (const b of cases) {
        socket.send(b);
        const got = bytesOf(await nextMessage(socket));
        assert.ok(got.equals(Buffer.from(b)), `binary of ${b.length} bytes came back different`);
      }
    });

    it("many messages, mixed text and binary, come back in order", async (t) => {
      const socket = await openClient(t, ctx.server, MODES[mode]);
      // In the upgrade mode this also runs while the upgrade happens.
      const sent = [];
      for (let i = 0; i < 100; i++) {
        const m = i % 3 === 0 ? Buffer.from([i, 255 - i]) : `message ${i} 😀`;
        sent.push(m);
        socket.send(m);
      }
      for (const m of sent) {
        const got = await nextMessage(socket);
        if (typeof m === "string") assert.equal(got, m);
        else assert.ok(bytesOf(got).equals(m));
      }
      if (mode === "polling upgraded to WebSocket") await waitUpgrade(socket);
      assert.equal(socket.transport.name, expectedTransport(mode));
    });

    it("close() from the client ends the session on the server", async (t) => {
      const socket = await openInMode(t, ctx.server, mode);
      const sid = socket.id;
      socket.send("bye");
      assert.equal(await nextMessage(socket), "bye");
      socket.close();
      const { reason } = await waitClose(socket);
      assert.equal(reason, "forced close");
      await sleep(200);
      await assertSessionGone(ctx.server, sid);
    });
  });

  describe(`engine.io-client heartbeat, ${mode} (--ping-interval 300 --ping-timeout 200)`, () => {
    const ctx = useEchoServer({ args: ["--ping-interval", "300", "--ping-timeout", "200"] });

    it("the client sees several pings and stays open", async (t) => {
      const socket = await openInMode(t, ctx.server, mode);
      assert.equal(socket._pingInterval, 300);
      assert.equal(socket._pingTimeout, 200);
      await sleep(1600);
      assert.ok(socket.pings >= 3, `only ${socket.pings} pings in 1.6 s`);
      assert.equal(socket.closed, null, `closed: ${JSON.stringify(socket.closed)}`);
      assert.equal(socket.readyState, "open");
      socket.send("still here");
      assert.equal(await nextMessage(socket), "still here");
    });

    it("a client that stops answering pings is closed by the server (ping timeout)", async (t) => {
      const socket = await openInMode(t, ctx.server, mode);
      // Make the client a zombie: it drops its pongs, and its own ping-timeout
      // watchdog is disabled, so only the server can end the connection.
      const sendPacket = socket._sendPacket.bind(socket);
      socket._sendPacket = (type, ...rest) => (type === "pong" ? undefined : sendPacket(type, ...rest));
      socket._resetPingTimeout = () => {};
      socket.clearTimeoutFn(socket._pingTimeoutTimer);
      const sid = socket.id;
      const t0 = Date.now();
      const { reason } = await waitClose(socket, 3000);
      const elapsed = Date.now() - t0;
      assert.equal(reason, "transport close");
      // At most one pingInterval to the next ping, then pingTimeout.
      assert.ok(elapsed < 300 + 200 + 700, `closed after ${elapsed} ms`);
      await assertSessionGone(ctx.server, sid);
    });
  });
}

describe("100 concurrent engine.io-clients", () => {
  const ctx = useEchoServer();

  for (const mode of Object.keys(MODES)) {
    it(`each echoes its own messages (${mode})`, async (t) => {
      const N = 100;
      const sockets = await Promise.all(Array.from({ length: N }, () => openClient(t, ctx.server, MODES[mode], { timeout: 20_000 })));
      assert.equal(new Set(sockets.map((s) => s.id)).size, N, "distinct sids");
      await Promise.all(
        sockets.map(async (socket, i) => {
          for (let k = 0; k < 5; k++) {
            const text = `client ${i} message ${k} 😀`;
            socket.send(text);
            assert.equal(await nextMessage(socket, 10_000), text);
          }
          const bin = Buffer.from([i, 0, 255, i ^ 0x55]);
          socket.send(bin);
          assert.ok(bytesOf(await nextMessage(socket, 10_000)).equals(bin));
        }),
      );
      if (mode === "polling upgraded to WebSocket") await Promise.all(sockets.map((s) => waitUpgrade(s, 10_000)));
      for (const s of sockets) {
        assert.equal(s.readyState, "open");
        assert.equal(s.transport.name, expectedTransport(mode));
      }
    });
  }
});
