// WebSocket permessage-deflate (RFC 7692) with --ws-deflate: the negotiation
// in the 101, RSV1 on server frames from 1024 bytes on (engine.io's and npm
// ws' threshold), compressed client messages inflated and bounded, and the
// stock clients (socket.io-client in Node rides npm ws, which offers
// permessage-deflate by default) over WebSocket and the polling upgrade.
// The server answers with server_no_context_takeover and
// client_no_context_takeover whatever was offered (it keeps no compressor
// per session); the reference (engine.io perMessageDeflate: true) keeps
// context takeover, so that header is checked on sio-server only.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eioPath, wsConnect } from "./lib/eio.mjs";
import { releaseBin, rssBytes, startServerWith } from "./lib/reliability.mjs";
import { isReference, startServer, useEchoServer } from "./lib/server.mjs";
import { SIO_MODES, connect, emitAck, newManager, nextEvent, until, useSioServer } from "./lib/sio.mjs";

const OFFER = "permessage-deflate; client_max_window_bits";

/** A direct Engine.IO WebSocket session; returns {r, ws, open}. */
async function openWs(t, server, opts = {}) {
  const r = await wsConnect(server, eioPath({ transport: "websocket" }), opts);
  assert.equal(r.status, 101, `upgrade refused: ${r.status} ${r.text}`);
  t.after(() => r.ws.sock.destroy());
  const first = await r.ws.next();
  assert.ok(first && !first.binary && first.data[0] === "0", `open packet expected, got ${JSON.stringify(first)}`);
  return { r, ws: r.ws, open: JSON.parse(first.data.slice(1)) };
}

/** The next message that is not a ping (pings are answered). */
async function nextData(ws, timeout = 10_000) {
  for (;;) {
    const m = await ws.next(timeout);
    if (m && !m.binary && m.data === "2") {
      ws.send("3");
      continue;
    }
    return m;
  }
}

/** Reads until the server's close frame; returns its code. */
async function closeCode(ws, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  while ((await ws.next(Math.max(1, deadline - Date.now())).catch(() => null)) !== null);
  return ws.closeCode;
}

/** Text that compresses well, n bytes. */
function words(n) {
  const w = ["socket ", "engine ", "deflate ", "message ", "frame ", "reference "];
  let s = "";
  for (let i = 0; s.length < n; i++) s += w[(i * 7 + (i >> 3)) % w.length];
  return s.slice(0, n);
}

describe("without --ws-deflate", () => {
  const ctx = useEchoServer();

  it("an offer gets a 101 without the extension, and frames without RSV1", async (t) => {
    const { r, ws } = await openWs(t, ctx.server, { deflate: true });
    assert.equal(r.headers["sec-websocket-extensions"], undefined);
    assert.equal(ws.deflate, false);
    const big = words(5000);
    ws.send("4" + big);
    const m = await nextData(ws);
    assert.equal(m.data, "4" + big);
    assert.ok(ws.frameLog.every((f) => f.rsv === 0), JSON.stringify(ws.frameLog));
    assert.equal(ws.protocolError, undefined);
  });

  it("a frame with RSV1 is a protocol error (1002)", async (t) => {
    const { ws } = await openWs(t, ctx.server, { deflate: true });
    ws.sendCompressed("4" + words(2000));
    assert.equal(await closeCode(ws), 1002);
  });
});

describe("with --ws-deflate", () => {
  const ctx = useEchoServer({ args: ["--ws-deflate", "--max-payload", "100000"] });

  it("the 101 accepts permessage-deflate with no context takeover both ways", async (t) => {
    const { r, ws } = await openWs(t, ctx.server, { deflate: true });
    const ext = r.headers["sec-websocket-extensions"];
    assert.match(ext, /^permessage-deflate\b/);
    assert.ok(ws.deflate);
    if (!isReference) {
      assert.equal(ext, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    }
  });

  it("no offer, no extension", async (t) => {
    const { r, ws } = await openWs(t, ctx.server);
    assert.equal(r.headers["sec-websocket-extensions"], undefined);
    ws.send("4" + words(3000));
    assert.equal((await nextData(ws)).data, "4" + words(3000));
    assert.ok(ws.frameLog.every((f) => f.rsv === 0));
  });

  it("server frames from the threshold on carry RSV1, smaller ones do not", async (t) => {
    const { ws } = await openWs(t, ctx.server, { deflate: true });
    // npm ws applies its threshold only with no context takeover on its side
    // (sender.js): the reference, which keeps context, compresses everything.
    if (!isReference) assert.equal(ws.frameLog[0].rsv, 0, "the open packet is small");
    // The frame payload is "4" + message: 1023 bytes go plain, 1024 compressed.
    for (const [n, compressed] of [[100, false], [1022, false], [1023, true], [20_000, true]]) {
      const text = words(n);
      ws.send("4" + text);
      const m = await nextData(ws);
      assert.equal(m.data, "4" + text, `echo of ${n} bytes`);
      if (compressed || !isReference) {
        assert.equal(m.compressed === true, compressed, `${n + 1}-byte frame compressed: ${m.compressed}`);
      }
    }
    const last = ws.frameLog[ws.frameLog.length - 1];
    assert.ok(last.rsv === 0x40 && last.len < 20_001 / 3, `20 KB of words went as ${last.len} bytes`);
    assert.equal(ws.protocolError, undefined);
  });

  it("compressed client messages are inflated, text and binary", async (t) => {
    const { ws } = await openWs(t, ctx.server, { deflate: true });
    const text = words(30_000);
    ws.sendCompressed("4" + text);
    assert.equal((await nextData(ws)).data, "4" + text);
    ws.sendCompressed("4small");
    assert.equal((await nextData(ws)).data, "4small");
    const bin = Buffer.from(words(5000));
    ws.sendCompressed(bin);
    const m = await nextData(ws);
    assert.ok(m.binary && Buffer.compare(m.data, bin) === 0);
    assert.equal(ws.protocolError, undefined);
  });

  it("a compressed message that inflates past --max-payload is closed with 1009", async (t) => {
    const { ws } = await openWs(t, ctx.server, { deflate: true });
    ws.sendCompressed("4" + "a".repeat(1_000_000)); // ~1 KB on the wire
    assert.equal(await closeCode(ws), 1009);
  });

  it("bytes that are not deflate data are closed with 1007, as npm ws", async (t) => {
    const { ws } = await openWs(t, ctx.server, { deflate: true });
    ws.sendCompressed("4x", { raw: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01, 0x02]) });
    assert.equal(await closeCode(ws), 1007);
  });

  it("an offer asking for server_max_window_bits below 15 is declined", async (t) => {
    const { r, ws } = await openWs(t, ctx.server, {
      headers: { "Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=10" },
    });
    if (!isReference) assert.equal(r.headers["sec-websocket-extensions"], undefined);
    ws.send("4" + words(3000));
    assert.equal((await nextData(ws)).data, "4" + words(3000));
  });
});

describe("socket.io-client with --ws-deflate", () => {
  const ctx = useSioServer("bench", { args: ["--ws-deflate"] });
  for (const name of ["WebSocket only", "polling upgraded to WebSocket"]) {
    it(`${name}: 20 KB strings echo both ways, compressed`, async (t) => {
      const socket = await connect(t, ctx.server, SIO_MODES[name]);
      const m = socket.io;
      // engine.io-client hands npm ws perMessageDeflate: {threshold: 1024}.
      assert.match(m.engine.transport.ws.extensions, /^permessage-deflate/);
      for (let i = 0; i < 5; i++) {
        const s = words(20_000) + i;
        const [back] = await emitAck(socket, "echo", s);
        assert.equal(back, s);
      }
      assert.equal(m.engine.transport.name, "websocket");
    });
  }
});

describe("broadcasts with --ws-deflate (chat app)", { skip: isReference && "the reference has no /ws" }, () => {
  it("reach deflate and plain receivers alike, compressed for those that negotiated it", async (t) => {
    const server = await startServer({ args: ["--app", "chat", "--ws-deflate"] });
    t.after(() => server.stop());
    const clients = [];
    const mode = SIO_MODES["WebSocket only"];
    for (const perMessageDeflate of [{ threshold: 1024 }, false]) {
      const m = newManager(t, server, mode, { perMessageDeflate });
      clients.push({ m, s: await connect(t, server, mode, { manager: m }) });
    }
    assert.match(clients[0].m.engine.transport.ws.extensions, /permessage-deflate/);
    assert.equal(clients[1].m.engine.transport.ws.extensions, "");
    // A raw Socket.IO client and a raw /ws peer that read the frames.
    const { ws: raw } = await openWs(t, server, { deflate: true });
    raw.send("40");
    assert.match((await nextData(raw)).data, /^40\{/);
    const wr = await wsConnect(server, "/ws", { deflate: true });
    assert.equal(wr.status, 101);
    t.after(() => wr.ws.sock.destroy());
    assert.match(wr.headers["sec-websocket-extensions"], /^permessage-deflate/);
    const text = words(8000);
    clients[1].s.emit("message", text);
    for (const { s } of clients) {
      for (;;) {
        const [msg] = await nextEvent(s, "message", 10_000);
        if (msg.endsWith(text)) break;
      }
    }
    let m;
    do m = await nextData(raw);
    while (!m.data.includes(text));
    assert.ok(m.compressed, "the Engine.IO broadcast frame carries RSV1");
    do m = await wr.ws.next(10_000);
    while (!m.data.includes(text));
    assert.ok(m.compressed, "the /ws broadcast frame carries RSV1");
    // And a /ws peer's compressed message reaches the Socket.IO clients.
    wr.ws.sendCompressed(text + "!");
    for (;;) {
      const [msg] = await nextEvent(clients[1].s, "message", 10_000);
      if (msg.endsWith(text + "!")) break;
    }
    assert.equal(raw.protocolError, undefined);
    assert.equal(wr.ws.protocolError, undefined);
  });
});

describe("memory with --ws-deflate (Release build)", { skip: isReference && "RSS of sio-server" }, () => {
  const N = 1000;
  /**
   * Opens N sessions that each send and get back one 20 KB message (compressed
   * both ways when deflate is on), then go idle; returns the server's RSS
   * growth per session, over a baseline taken after one such exchange (the
   * loop's one zlib context is made then, a fixed cost).
   */
  async function perSession(t, bin, deflate) {
    const server = await startServerWith(bin, { args: ["--app", "eio-echo", ...(deflate ? ["--ws-deflate"] : [])] });
    t.after(() => server.stop());
    const text = "4" + words(20_000);
    const exchange = async () => {
      const { ws } = await openWs(t, server, { deflate: true });
      ws.send(text);
      const m = await nextData(ws);
      assert.equal(m.data, text);
      assert.equal(m.compressed === true, deflate);
      return ws;
    };
    (await exchange()).sock.destroy();
    await until(async () => (await fetch(`${server.url}/metrics`).then((r) => r.text())).includes("sio_sessions{transport=\"websocket\"} 0"), {
      timeout: 10_000,
      what: "the warm-up session gone",
    });
    const before = rssBytes(server.proc.pid);
    const conns = [];
    for (let i = 0; i < N; i += 50) conns.push(...(await Promise.all(Array.from({ length: 50 }, exchange))));
    const after = rssBytes(server.proc.pid);
    for (const ws of conns) ws.sock.destroy();
    return (after - before) / N;
  }

  it("an idle session that negotiated deflate and used it costs under twice one without", async (t) => {
    const bin = releaseBin();
    if (!bin) return t.skip("no build without sanitizers (set SIO_RELEASE_BIN or build build-rel-release)");
    const plain = await perSession(t, bin, false);
    const deflated = await perSession(t, bin, true);
    t.diagnostic(`RSS per idle session: ${(plain / 1024).toFixed(2)} KiB without deflate, ${(deflated / 1024).toFixed(2)} KiB with`);
    // Node keeps a zlib context per socket: ~236 KiB per idle session.
    assert.ok(deflated < 2 * plain + 512, `${deflated} bytes per session with deflate, ${plain} without`);
  });
});
