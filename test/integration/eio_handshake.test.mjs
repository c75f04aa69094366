// Engine.IO v4 handshake on both transports, checked on the raw wire.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SEP, eioPath, handshake, request, trackSid, wsConnect } from "./lib/eio.mjs";
import { useEchoServer } from "./lib/server.mjs";

const SID_RE = /^[A-Za-z0-9_-]{20}$/;
const OPEN_KEYS = ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"];

function parseOpen(text) {
  assert.equal(text[0], "0", `open packet expected, got ${JSON.stringify(text)}`);
  assert.ok(!text.includes(SEP), `handshake answer holds only the open packet: ${JSON.stringify(text)}`);
  return JSON.parse(text.slice(1));
}

/** parseOpen for a polling handshake answer; the session is closed after the suite. */
function parsePollingOpen(server, text) {
  const open = parseOpen(text);
  trackSid(server, open.sid);
  return open;
}

describe("handshake with default options", () => {
  const ctx = useEchoServer();

  it("polling handshake answers 0{sid,upgrades,pingInterval,pingTimeout,maxPayload} as text/plain", async () => {
    const res = await request(ctx.server, { path: eioPath() });
    assert.equal(res.status, 200);
    assert.match(res.headers["content-type"], /^text\/plain; ?charset=utf-8$/i);
    assert.equal(Number(res.headers["content-length"]), res.body.length);
    const open = parsePollingOpen(ctx.server, res.text);
    assert.deepEqual(Object.keys(open).sort(), OPEN_KEYS);
    assert.match(open.sid, SID_RE);
    assert.deepEqual(open.upgrades, ["websocket"]);
    // The defaults of npm engine.io and of sio-server.
    assert.equal(open.pingInterval, 25000);
    assert.equal(open.pingTimeout, 20000);
    assert.equal(open.maxPayload, 1000000);
  });

  it("each handshake gets a new, distinct 20-character URL-safe sid", async () => {
    const sids = new Set();
    for (let i = 0; i < 20; i++) {
      const { sid } = await handshake(ctx.server);
      assert.match(sid, SID_RE);
      sids.add(sid);
    }
    assert.equal(sids.size, 20);
  });

  it("WebSocket handshake sends the open packet as the first text frame, with upgrades []", async () => {
    const r = await wsConnect(ctx.server, eioPath({ transport: "websocket" }));
    assert.equal(r.status, 101);
    try {
      const first = await r.ws.next();
      assert.ok(first && !first.binary, "first frame is a text frame");
      const open = parseOpen(first.data);
      assert.deepEqual(Object.keys(open).sort(), OPEN_KEYS);
      assert.match(open.sid, SID_RE);
      assert.deepEqual(open.upgrades, []);
      assert.equal(open.pingInterval, 25000);
      assert.equal(open.pingTimeout, 20000);
      assert.equal(open.maxPayload, 1000000);
    } finally {
      r.ws.close();
    }
  });

  it("query parameters in any order and extra ones (t=...) are accepted", async () => {
    const res = await request(ctx.server, { path: "/socket.io/?t=PZx1abc&transport=polling&foo=bar&EIO=4" });
    assert.equal(res.status, 200);
    assert.match(parsePollingOpen(ctx.server, res.text).sid, SID_RE);
  });

  it("requests with 4 KiB of headers are accepted (polling and WebSocket)", async () => {
    const headers = {
      Cookie: "session=" + "c".repeat(2500),
      "User-Agent": "Mozilla/5.0 " + "u".repeat(600),
      "X-Padding": "p".repeat(800),
    };
    const size = Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
    assert.ok(size >= 3900 && size <= 4096, `header bytes ${size}`);
    const res = await request(ctx.server, { path: eioPath(), headers });
    assert.equal(res.status, 200);
    assert.match(parsePollingOpen(ctx.server, res.text).sid, SID_RE);
    const r = await wsConnect(ctx.server, eioPath({ transport: "websocket" }), { headers });
    assert.equal(r.status, 101);
    try {
      assert.match(parseOpen((await r.ws.next()).data).sid, SID_RE);
    } finally {
      r.ws.close();
    }
  });

  it("a path outside the Engine.IO path is not answered with Engine.IO", async () => {
    const res = await request(ctx.server, { path: "/not-socket-io/?EIO=4&transport=polling" });
    // The reference answers 404; any 4xx is fine as long as no session is made.
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    assert.ok(!res.text.startsWith("0{"), "no handshake outside the path");
  });
});

describe("handshake reflects --ping-interval, --ping-timeout and --max-payload", () => {
  const ctx = useEchoServer({ args: ["--ping-interval", "1234", "--ping-timeout", "567", "--max-payload", "4321"] });

  it("over polling", async () => {
    const { open } = await handshake(ctx.server);
    assert.equal(open.pingInterval, 1234);
    assert.equal(open.pingTimeout, 567);
    assert.equal(open.maxPayload, 4321);
  });

  it("over WebSocket", async () => {
    const r = await wsConnect(ctx.server, eioPath({ transport: "websocket" }));
    assert.equal(r.status, 101);
    try {
      const open = parseOpen((await r.ws.next()).data);
      assert.equal(open.pingInterval, 1234);
      assert.equal(open.pingTimeout, 567);
      assert.equal(open.maxPayload, 4321);
    } finally {
      r.ws.close();
    }
  });
});
