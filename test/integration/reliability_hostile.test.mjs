// Reliability: hostile input (issue 7, "Hostile input"): slowloris, oversized
// headers, malformed WebSocket frames and Engine.IO / Socket.IO packets, and
// session ids. Every hostile connection must get a clear close and leave the
// other clients alone.
//
// The slowloris connections are opened first and checked last, so their wait
// (the server's whole-request deadlines, at most the 30 s idle timeout; 40 s
// allowed) overlaps the other tests, which also show that the server keeps
// serving meanwhile.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { closeSessions, eioPath, handshake, post, request, trackSid, wsConnect } from "./lib/eio.mjs";
import { rawPolling } from "./lib/sio.mjs";
import { ack, closeAll, defaultBin, fdCount, openSio, rawSioWebSocket, rawTcp, reasons, sleep, startServerWith, waitFor, wsFrame } from "./lib/reliability.mjs";

const IDLE_TIMEOUT_MS = 30_000; // the HTTP layer's idle timeout (src/eio/server.c: sio_http_new)
const SLOWLORIS_DEADLINE_MS = 40_000; // the idle timeout plus a margin

let server;
let fd0;
let observer; // a socket.io-client that must be unaffected by everything
let observerPolling;
const slow = {}; // name -> {conn, openedAt}
let trickle = null;

async function observersAlive(tag) {
  for (const c of [observer, observerPolling]) {
    const [echo] = await ack(c, "echo", [`${tag}`], 5000);
    assert.equal(echo, tag, `the ${c.io.engine.transport.name} observer still works after ${tag}`);
  }
}

before(async () => {
  server = await startServerWith(defaultBin(), { args: ["--app", "testkit"] });
  await sleep(200);
  fd0 = fdCount(server.proc.pid);
  const openedAt = Date.now();
  // Partial request line and headers, then silence.
  slow.idle = { conn: await rawTcp(server.port), openedAt };
  slow.idle.conn.sock.write(`GET ${eioPath()} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a`);
  // Connected, nothing sent.
  slow.silent = { conn: await rawTcp(server.port), openedAt };
  // Headers trickled one byte every 2 s, never finished (the classic slowloris).
  slow.trickleHeaders = { conn: await rawTcp(server.port), openedAt };
  slow.trickleHeaders.conn.sock.write(`GET ${eioPath()} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `);
  // A POST body announced as 1000 bytes, trickled one byte every 2 s.
  const { sid } = await handshake(server);
  slow.trickleBody = { conn: await rawTcp(server.port), openedAt };
  slow.trickleBody.conn.sock.write(`POST ${eioPath({ sid })} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 1000\r\n\r\n4`);
  trickle = setInterval(() => {
    if (!slow.trickleHeaders.conn.closed) slow.trickleHeaders.conn.sock.write("a");
    if (!slow.trickleBody.conn.closed) slow.trickleBody.conn.sock.write("x");
  }, 2000);
  observer = await openSio(server.url, { transports: ["websocket"] });
  observerPolling = await openSio(server.url, { transports: ["polling"] });
});

after(async () => {
  clearInterval(trickle);
  for (const s of Object.values(slow)) s.conn.sock.destroy();
  closeAll([observer, observerPolling].filter(Boolean));
  if (server) {
    await closeSessions(server);
    await server.stop();
  }
});

describe("hostile input: oversized headers", () => {
  for (const [name, head] of [
    ["64 KiB of cookies in 16 headers", Array.from({ length: 16 }, () => `Cookie: a=${"x".repeat(4090)}\r\n`).join("")],
    ["one 64 KiB cookie", `Cookie: ${"x".repeat(65536)}\r\n`],
  ]) {
    test(`${name}: 431`, async () => {
      const c = await rawTcp(server.port);
      c.sock.write(`GET ${eioPath()} HTTP/1.1\r\nHost: 127.0.0.1\r\n${head}\r\n`);
      await c.waitData((d) => d.includes("\r\n\r\n"), 5000);
      assert.match(c.data().toString("latin1"), /^HTTP\/1\.1 431 /);
      assert.equal(await c.waitClosed(5000), true, "the connection is closed after the 431");
      await observersAlive(name);
    });
  }

  test("a 64 KiB request URL: 414", async () => {
    const c = await rawTcp(server.port);
    c.sock.write(`GET /socket.io/?EIO=4&transport=polling&x=${"y".repeat(65536)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await c.waitData((d) => d.includes("\r\n\r\n"), 5000);
    assert.match(c.data().toString("latin1"), /^HTTP\/1\.1 414 /);
    assert.equal(await c.waitClosed(5000), true);
    await observersAlive("long URL");
  });
});

describe("hostile input: malformed WebSocket frames", () => {
  const text = '42["echo","x"]';
  const cases = [
    ["unmasked client frame", wsFrame({ opcode: 1, payload: text, mask: false }), 1002],
    ["RSV1 set (no extension negotiated)", wsFrame({ opcode: 1, payload: text, rsv: 4 }), 1002],
    ["RSV2 and RSV3 set", wsFrame({ opcode: 1, payload: text, rsv: 3 }), 1002],
    ["oversized control frame (ping of 126 bytes)", wsFrame({ opcode: 9, payload: Buffer.alloc(126, 0x61) }), 1002],
    ["fragmented control frame (ping without FIN)", wsFrame({ opcode: 9, payload: "ab", fin: false }), 1002],
    ["fragmented close frame", wsFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), fin: false }), 1002],
    ["reserved opcode 3", wsFrame({ opcode: 3, payload: "x" }), 1002],
    ["reserved control opcode 0xB", wsFrame({ opcode: 0xb, payload: "x" }), 1002],
    ["continuation without a first frame", wsFrame({ opcode: 0, payload: "x" }), 1002],
    ["a new text frame inside a fragmented message", Buffer.concat([wsFrame({ opcode: 1, payload: "4a", fin: false }), wsFrame({ opcode: 1, payload: "b" })]), 1002],
    ["close frame with a 1-byte payload", wsFrame({ opcode: 8, payload: Buffer.from([0x03]) }), 1002],
    ["close frame with code 1005 (reserved)", wsFrame({ opcode: 8, payload: Buffer.from([0x03, 0xed]) }), 1002],
    ["invalid UTF-8 in a text frame", wsFrame({ opcode: 1, payload: Buffer.from([0x34, 0xff, 0xfe]) }), 1007],
    ["overlong UTF-8 encoding", wsFrame({ opcode: 1, payload: Buffer.from([0x34, 0xc0, 0xaf]) }), 1007],
    ["UTF-16 surrogate in UTF-8", wsFrame({ opcode: 1, payload: Buffer.from([0x34, 0xed, 0xa0, 0x80]) }), 1007],
    [
      "invalid UTF-8 across fragments",
      Buffer.concat([wsFrame({ opcode: 1, payload: Buffer.from([0x34, 0xe2, 0x82]), fin: false }), wsFrame({ opcode: 0, payload: Buffer.from([0x41]) })]),
      1007,
    ],
    // Only the header of a frame announcing 2^40 bytes: refused before any payload.
    ["a frame announcing 1 TiB", Buffer.concat([Buffer.from([0x81, 0xff, 0, 0, 1, 0, 0, 0, 0, 0]), Buffer.alloc(4), Buffer.from("4abc")]), 1009],
  ];
  for (const [name, bytes, code] of cases) {
    test(`${name}: close ${code}, others unaffected`, async () => {
      const r = await rawSioWebSocket(server);
      try {
        r.ws.sock.write(bytes);
        assert.equal(await r.ws.waitClosed(5000), true, "the server closed the connection");
        assert.equal(r.ws.closeCode, code, `close code ${r.ws.closeCode}`);
        assert.deepEqual(
          r.ws.messages.filter((m) => !(m.data === "2")),
          [],
          "nothing was delivered for the bad frame",
        );
        await waitFor(async () => (await reasons(observer)).some((x) => x.id === r.socketId), { what: "the socket's disconnect" });
        const reason = (await reasons(observer)).find((x) => x.id === r.socketId).reason;
        assert.equal(reason, "transport error");
      } finally {
        r.ws.destroy();
      }
      await observersAlive(name);
    });
  }
});

describe("hostile input: malformed Engine.IO and Socket.IO packets", () => {
  for (const [name, data] of [
    ["unknown Engine.IO packet type", "9zzz"],
    ["empty Engine.IO packet", ""],
    ["a binary frame where the Socket.IO packet is expected", Buffer.from([1, 2, 3])],
    ["truncated Socket.IO JSON", '42["unterminated'],
    ["unknown Socket.IO packet type", "49[]"],
    ["Socket.IO event that is not an array", '42{"a":1}'],
    ["an event for a namespace the client did not join", '42/admin,1["echo","x"]'],
  ]) {
    test(`over WebSocket: ${name} closes the connection (parse error), no crash`, async () => {
      const r = await rawSioWebSocket(server);
      try {
        r.ws.send(data);
        assert.equal(await r.ws.waitClosed(5000), true);
        assert.equal(r.ws.closeCode, 1000);
        assert.deepEqual(r.ws.messages.filter((m) => m.data !== "2"), [], "no answer (no ack from another namespace)");
        await waitFor(async () => (await reasons(observer)).some((x) => x.id === r.socketId), { what: "the socket's disconnect" });
        assert.equal((await reasons(observer)).find((x) => x.id === r.socketId).reason, "parse error");
      } finally {
        r.ws.destroy();
      }
      await observersAlive(name);
    });
  }

  for (const [name, body, next] of [
    ["unknown Engine.IO packet type", "9zzz", 400],
    ["truncated Socket.IO JSON", '42["unterminated', "1"],
    ["an event for a namespace the client did not join", '42/admin,1["echo","x"]', "1"],
  ]) {
    test(`over polling: ${name} ends the session`, async () => {
      const p = await rawPolling(server);
      assert.equal((await p.post("40")).status, 200);
      const socketId = JSON.parse((await p.get()).text.slice(2)).sid;
      assert.equal((await p.post(body)).status, 200);
      const g = await p.get({ timeout: 5000 });
      if (next === 400) assert.equal(g.status, 400);
      else assert.equal(g.text, next, "the next GET carries only the close packet");
      assert.equal((await reasons(observer)).find((x) => x.id === socketId)?.reason, "parse error");
      await observersAlive(name);
    });
  }
});

describe("hostile input: sessions", () => {
  test("session ids are unguessable: 1,000 handshakes give 1,000 distinct 20-character URL-safe ids", async () => {
    const sids = [];
    // 50 at a time, each batch closed before the next: 1,000 bare handshakes
    // at once from one address would meet --max-half-open-per-address.
    for (let i = 0; i < 1000; i += 50) {
      sids.push(...(await Promise.all(Array.from({ length: 50 }, () => handshake(server).then((h) => h.sid)))));
      await closeSessions(server);
    }
    for (const sid of sids) assert.match(sid, /^[A-Za-z0-9_-]{20}$/);
    assert.equal(new Set(sids).size, 1000);
    // The 20,000 characters use the 64-symbol alphabet uniformly (120 random
    // bits per id): chi-square with 63 degrees of freedom; 140 is far out in
    // the tail (p < 1e-6) for a uniform source.
    const counts = new Map();
    for (const sid of sids) for (const ch of sid) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    const expected = 20000 / 64;
    let chi2 = 0;
    for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") chi2 += ((counts.get(ch) ?? 0) - expected) ** 2 / expected;
    assert.ok(chi2 < 140, `character distribution chi-square ${chi2.toFixed(1)}`);
    // No shared prefixes beyond chance between consecutive ids.
    for (let i = 1; i < sids.length; i++) assert.notEqual(sids[i].slice(0, 8), sids[i - 1].slice(0, 8));
    // Guessing does not work either.
    for (let i = 0; i < 50; i++) {
      const guess = sids[i].slice(0, 19) + (sids[i][19] === "A" ? "B" : "A");
      assert.equal((await request(server, { path: eioPath({ sid: guess }) })).status, 400);
    }
    await closeSessions(server);
  });

  test("a WebSocket session's sid cannot be used over polling or upgraded again", async () => {
    const r = await rawSioWebSocket(server);
    try {
      const get = await request(server, { path: eioPath({ sid: r.sid }), timeout: 5000 });
      assert.equal(get.status, 400);
      assert.deepEqual(JSON.parse(get.text), { code: 3, message: "Bad request" });
      const p = await post(server, r.sid, '42["echo","hijack"]');
      assert.equal(p.status, 400);
      assert.deepEqual(JSON.parse(p.text), { code: 3, message: "Bad request" });
      // As the reference: the handshake is accepted and the intruder closed
      // at once, without reaching the session.
      const up = await wsConnect(server, eioPath({ transport: "websocket", sid: r.sid }));
      assert.equal(up.status, 101, "a second WebSocket onto the session gets 101, then a close");
      up.ws.send('421["echo","hijack"]');
      assert.equal(await up.ws.next(2000).catch(() => "timeout"), null, "the intruder is closed, unanswered");
      // The rightful client never saw the attempts and still works.
      r.ws.send('421["echo","mine"]');
      const m = await r.ws.nextText();
      assert.equal(m.data, '431["mine"]');
      assert.deepEqual(r.ws.messages, []);
    } finally {
      r.ws.destroy();
    }
  });

  test("a polling session cannot be read by two clients at once", async () => {
    const p = await rawPolling(server);
    trackSid(server, p.sid);
    assert.equal((await p.post("40")).status, 200);
    await p.get();
    const held = p.get({ timeout: 5000 });
    await sleep(100);
    const intruder = await p.get({ timeout: 5000 });
    assert.equal(intruder.status, 400, "a second concurrent GET is refused");
    const first = await held;
    assert.equal(first.text, "1", "the session is closed rather than shared");
  });
});

describe("hostile input: slowloris", () => {
  test("slow connections are dropped while the server keeps serving", async (t) => {
    // The other tests ran meanwhile; one more round shows the server serving.
    await observersAlive("slowloris wait");
    const idleLeft = slow.idle.openedAt + IDLE_TIMEOUT_MS + 5000 - Date.now();
    if (idleLeft > 0) await Promise.all([slow.idle.conn.waitClosed(idleLeft), slow.silent.conn.waitClosed(idleLeft)]);
    const closedIn = (s) => (s.conn.closed ? `${s.conn.closedAt - s.openedAt} ms` : "open");
    assert.equal(slow.idle.conn.closed, true, "partial headers, then silence: dropped by the idle timeout");
    assert.equal(slow.silent.conn.closed, true, "a connection that sends nothing: dropped by the idle timeout");
    assert.equal(slow.idle.conn.data().length, 0, "dropped without an answer");
    const left = slow.trickleHeaders.openedAt + SLOWLORIS_DEADLINE_MS - Date.now();
    if (left > 0) await Promise.all([slow.trickleHeaders.conn.waitClosed(left), slow.trickleBody.conn.waitClosed(left)]);
    await observersAlive("slowloris end");
    const report = `idle ${closedIn(slow.idle)}, silent ${closedIn(slow.silent)}, headers trickled 1 byte/2 s: ${closedIn(slow.trickleHeaders)}, body trickled 1 byte/2 s: ${closedIn(slow.trickleBody)}`;
    t.diagnostic(report);
    assert.equal(slow.trickleHeaders.conn.closed, true, `headers trickled one byte every 2 s are never timed out (${report})`);
    assert.equal(slow.trickleBody.conn.closed, true, `a body trickled one byte every 2 s is never timed out (${report})`);
  });

  test("no descriptor leaks: once the hostile connections are gone the server holds what it held at the start (+2 observers)", async () => {
    clearInterval(trickle);
    for (const s of Object.values(slow)) s.conn.sock.destroy();
    await closeSessions(server);
    // The observers: a WebSocket connection, and a polling client with a held GET.
    await waitFor(() => fdCount(server.proc.pid) <= fd0 + 2, { timeout: 10_000, what: `server fds back to ${fd0} + 2 (now ${fdCount(server.proc.pid)})` });
  });
});
