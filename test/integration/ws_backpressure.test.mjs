// /ws backpressure (issue "Hardening", point 3): plain WebSocket peers of the
// chat app's /ws endpoint are bounded by --max-buffered (default 1 MiB) like
// Engine.IO sessions. A /ws peer that stops reading is closed (code 1013,
// "Try Again Later") once its queue would pass the bound, its socket is
// closed although it never reads, the server logs the peer and the bytes
// queued, /metrics counts it; every peer that reads gets every message in
// order, memory stays bounded.
//
// The flood goes through both bridge directions of the chat app: text frames
// from a /ws sender and Socket.IO "message" events from a socket.io-client
// sender, received by a reading /ws peer, a long-polling and a WebSocket
// socket.io-client. The senders keep at most WINDOW messages in flight to the
// reading receivers (waiting for them, not for time), so a healthy receiver
// is never near the bound however slow the machine is; the stalled peers
// fill their kernel buffers, then their queue on the server.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { wsConnect } from "./lib/eio.mjs";
import {
  closeAll,
  defaultBin,
  openSio,
  releaseBin,
  rssBytes,
  scrape,
  sleep,
  socketInodes,
  startServerWith,
  tcpInodes,
  tcpState,
  waitFor,
} from "./lib/reliability.mjs";

const MiB = 1024 * 1024;
const STALLED = 20;
const WS_COUNT = 4000; // from the /ws sender
const SIO_COUNT = 1000; // from the Socket.IO sender: 5,000 x 2 kB = 10 MB in all
const SIZE = 2000;
const WINDOW = 150; // messages in flight to the reading receivers: ~300 kB

/** The chat text for message `seq` of source `src` ("w" or "s"), SIZE bytes. */
function text(src, seq) {
  const head = `${src}:${seq}:`;
  return head + "x".repeat(SIZE - head.length);
}

/** A /ws connection (lib/eio.mjs WsConn). */
async function wsPeer(server) {
  const r = await wsConnect(server, "/ws");
  assert.equal(r.status, 101, "the /ws upgrade is accepted");
  return r.ws;
}

/**
 * Tracks the chat lines a receiver gets: per source, the next expected seq;
 * anything else (out of order, damaged) is counted as bad.
 */
function tracker(name) {
  const t = { name, got: 0, next: { w: 0, s: 0 }, bad: [] };
  t.line = (line) => {
    const m = /^Client #[^ ]+ said: ([ws]):(\d+):(x*)$/.exec(line);
    if (!m) {
      if (t.bad.length < 5) t.bad.push(`unexpected ${JSON.stringify(line.slice(0, 60))}`);
      return;
    }
    const [, src, seq, pad] = m;
    if (Number(seq) !== t.next[src] || `${src}:${seq}:`.length + pad.length !== SIZE) {
      if (t.bad.length < 5) t.bad.push(`${src}:${seq} (expected ${src}:${t.next[src]}, ${pad.length} pad)`);
    }
    t.next[src] = Number(seq) + 1;
    t.got++;
  };
  return t;
}

async function floodScenario(t, bin) {
  const server = await startServerWith(bin, { args: ["--app", "chat"] });
  const stalled = [];
  const others = [];
  const sios = [];
  t.after(async () => {
    closeAll(sios);
    for (const w of [...stalled, ...others]) w.destroy();
    // A polling session the client closed a moment ago may not have told
    // the server yet; SIGTERM would then wait for it.
    await waitFor(async () => {
      const m = await scrape(server);
      return m.get('sio_sessions{transport="polling"}') + m.get('sio_sessions{transport="websocket"}') === 0;
    }, { timeout: 10_000, what: "Engine.IO sessions closed" }).catch(() => {});
    await server.stop();
  });
  const pid = server.proc.pid;

  // The receivers that read.
  const reader = await wsPeer(server);
  others.push(reader);
  const rWs = tracker("/ws reader");
  reader._push = (m) => (m.binary ? rWs.bad.push("binary frame") : rWs.line(m.data));
  const sioPoll = await openSio(server.url, { transports: ["polling"] });
  const sioWs = await openSio(server.url, { transports: ["websocket"] });
  sios.push(sioPoll, sioWs);
  const rPoll = tracker("socket.io polling");
  const rSioWs = tracker("socket.io websocket");
  sioPoll.on("message", (line) => rPoll.line(line));
  sioWs.on("message", (line) => rSioWs.line(line));
  const receivers = [rWs, rPoll, rSioWs];

  // The senders: a /ws peer (it does not get its own messages back) and a
  // socket.io-client (it does; it just does not look).
  const wsSender = await wsPeer(server);
  others.push(wsSender);
  const sioSender = await openSio(server.url, { transports: ["websocket"] });
  sios.push(sioSender);

  // The peers that stop reading right after the handshake.
  for (let i = 0; i < STALLED; i++) {
    const w = await wsPeer(server);
    w.sock.pause();
    w.localPort = w.sock.localPort;
    w.lines = tracker(`stalled ${i}`);
    w._push = (m) => (m.binary ? w.lines.bad.push("binary frame") : w.lines.line(m.data));
    stalled.push(w);
  }
  const ports = stalled.map((w) => w.localPort);
  await sleep(300);
  // The server's socket of each stalled peer, followed through /proc/<pid>/fd
  // (/proc/net/tcp is too large on a shared box to read every 20 ms).
  const byPort = tcpInodes(server.port);
  const inodes = ports.map((p) => byPort.get(p));
  assert.ok(inodes.every(Boolean), "the server's socket of every stalled peer was found");

  const rssBefore = rssBytes(pid);
  let rssMax = rssBefore;
  const closedAt = new Map(); // client port -> when the server had closed its socket
  // The server's own timestamp of the decision: a busy test process reading
  // its stderr late cannot make a slow close look fast.
  const logRe = /^(\S+) INFO ws: \/ws peer 127\.0\.0\.1:(\d+) has (\d+) bytes queued, (\d+) more would pass max-buffered (\d+): closing it with 1013 \(backpressure\)$/gm;
  const logged = () => [...server.stderr().matchAll(logRe)].map((m) => ({ at: Date.parse(m[1]), port: Number(m[2]), queued: Number(m[3]), more: Number(m[4]), max: Number(m[5]) }));
  const monitor = setInterval(() => {
    rssMax = Math.max(rssMax, rssBytes(pid));
    const open = socketInodes(pid);
    for (const [i, p] of ports.entries()) if (!closedAt.has(p) && !open.has(inodes[i])) closedAt.set(p, Date.now());
  }, 20);

  const start = Date.now();
  const total = WS_COUNT + SIO_COUNT;
  try {
    let sent = 0;
    let w = 0;
    let s = 0;
    while (sent < total) {
      // One Socket.IO message after every four /ws ones.
      if (sent % 5 === 4 && s < SIO_COUNT) sioSender.emit("message", text("s", s++));
      else wsSender.send(text("w", w++));
      sent++;
      if (sent - Math.min(...receivers.map((r) => r.got)) >= WINDOW) {
        await waitFor(() => sent - Math.min(...receivers.map((r) => r.got)) < WINDOW / 2, {
          timeout: 30_000,
          step: 5,
          what: `receivers catching up at ${sent} sent`,
        }).catch((e) => {
          throw new Error(`${e.message} (${receivers.map((r) => `${r.name} ${r.got}`).join(", ")})`);
        });
      }
    }
    await waitFor(() => receivers.every((r) => r.got >= total), {
      timeout: 30_000,
      what: `every message delivered (${receivers.map((r) => `${r.name} ${r.got}`).join(", ")})`,
    });
    await waitFor(() => closedAt.size === STALLED && logged().length === STALLED, {
      timeout: 10_000,
      what: "every stalled peer closed and logged",
    }).catch((e) => {
      throw new Error(`${e.message}: ${closedAt.size} closed; stderr: ${server.stderr().slice(-3000)}`);
    });
  } finally {
    clearInterval(monitor);
  }
  const floodMs = Date.now() - start;

  // The readers got every message of both sources, in order, and stay connected.
  for (const r of receivers) {
    assert.deepEqual(r.bad, [], `${r.name}: damaged or out-of-order messages`);
    assert.deepEqual(r.next, { w: WS_COUNT, s: SIO_COUNT }, `${r.name}: messages received`);
    assert.equal(r.got, total);
  }
  assert.equal(sioPoll.connected && sioWs.connected && sioSender.connected, true);
  assert.deepEqual([sioPoll, sioWs, sioSender].map((c) => c.disconnects), [[], [], []]);
  assert.equal(reader.closed || wsSender.closed, false, "the reading /ws peers are still connected");

  // Each stalled peer, and only they, was logged with the bytes actually
  // queued: at most the bound, and less than one message short of passing it.
  const lines = logged();
  assert.deepEqual(lines.map((l) => l.port).sort(), [...ports].sort(), "one log line per stalled peer");
  for (const { queued, more, max } of lines) {
    assert.equal(max, MiB, "the default --max-buffered applies to /ws");
    assert.ok(queued <= max && queued + more > max, `logged ${queued} + ${more} queued against ${max}`);
  }
  const m = await scrape(server);
  assert.equal(m.get("sio_backpressure_disconnects_total"), STALLED);
  assert.equal(m.get('sio_sessions{transport="polling"}') + m.get('sio_sessions{transport="websocket"}'), 3);

  // Closed although they never read: the server closed each socket within
  // ~2 s of the decision (the linger bound; 3.5 s for a busy box), and its
  // side is no longer ESTABLISHED (FIN_WAIT1 with unread data, or gone).
  const delays = lines.map((l) => closedAt.get(l.port) - l.at);
  assert.ok(Math.max(...delays) <= 3500, `server sockets closed ${Math.max(...delays)} ms after the log line`);
  for (const p of ports) assert.notEqual(tcpState(server.port, p), "ESTABLISHED");

  // Reading again, each gets what the kernel held (a clean prefix of the
  // stream: the dropped backlog was cut at a frame boundary), then the end of
  // the connection; a close frame, if it got that far, says 1013.
  for (const w of stalled) w.sock.resume();
  for (const [i, w] of stalled.entries()) {
    assert.equal(await w.waitClosed(15_000), true, `stalled peer ${i} sees its connection end once it reads`);
    assert.deepEqual(w.lines.bad, [], `stalled peer ${i}: what it got is a clean prefix`);
    assert.ok(w.lines.got < total, `stalled peer ${i} did not get everything (${w.lines.got})`);
    assert.ok(w.closeCode === null || w.closeCode === 1013, `stalled peer ${i}: close code ${w.closeCode}`);
  }
  return { floodMs, rssBefore, rssMax, delays, stalledGot: stalled.map((w) => w.lines.got), codes: stalled.map((w) => w.closeCode) };
}

describe("/ws backpressure: stalled /ws peers in a 10 MB chat flood", () => {
  test("are closed with 1013 while a /ws reader and socket.io-client receivers (polling, websocket) get every message", async (t) => {
    const r = await floodScenario(t, defaultBin());
    t.diagnostic(`flood ${r.floodMs} ms; close after log ${Math.min(...r.delays)}..${Math.max(...r.delays)} ms; stalled peers got ${Math.min(...r.stalledGot)}..${Math.max(...r.stalledGot)} messages; close codes seen ${JSON.stringify([...new Set(r.codes)])}`);
  });

  // A broadcast frame is encoded once and every peer's queue references it
  // (util/segq), so 20 stalled peers at their 1 MiB bound hold the same
  // frames, not 20 copies: the growth stays under 16 MiB (without the bound:
  // +140 MB for this flood; bounded but with a copy per peer: +19-23 MiB).
  test("the server's RSS grows by less than 16 MiB (Release build, default --max-buffered)", async (t) => {
    const bin = releaseBin();
    if (!bin) return t.skip("no build without sanitizers (set SIO_RELEASE_BIN or build build-rel-release)");
    const r = await floodScenario(t, bin);
    const growth = r.rssMax - r.rssBefore;
    t.diagnostic(`${bin}: RSS ${(r.rssBefore / MiB).toFixed(1)} MiB before, peak ${(r.rssMax / MiB).toFixed(1)} MiB: +${(growth / MiB).toFixed(2)} MiB; flood ${r.floodMs} ms`);
    assert.ok(growth < 16 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });
});
