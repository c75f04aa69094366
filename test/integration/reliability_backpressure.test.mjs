// Reliability: backpressure (issue 7, "Backpressure"). A client that stops
// reading is disconnected with reason "backpressure" once the server's own
// queue for it passes --max-buffered, and its socket is closed although it
// never reads; the other clients of the room receive every message; memory
// stays bounded; volatile packets are dropped instead; producers that follow
// sio_socket_writable / the drain callback get to finish.
//
// The slow consumer is a raw WebSocket client (lib/eio.mjs WsConn) that
// completes the Engine.IO and Socket.IO handshakes, joins the room, and then
// pauses its socket. Node's net.Socket has no setRecvBufferSize (that is
// dgram's), so the kernel buffers (a few MiB on loopback) fill first; the
// server's queue fills after them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { eioPath, request } from "./lib/eio.mjs";
import { openReceivers } from "./lib/client-worker.mjs";
import { rawPolling } from "./lib/sio.mjs";
import {
  ack,
  closeAll,
  defaultBin,
  openMany,
  openSio,
  rawSioWebSocket,
  reasons,
  releaseBin,
  rssBytes,
  scrape,
  sleep,
  startServerWith,
  tcpState,
  waitFor,
} from "./lib/reliability.mjs";

const MiB = 1024 * 1024;
const FLOOD = { count: 3000, size: 4096, batch: 4, interval: 10 }; // ~400 messages/s, ~7.5 s

/** Joins a raw Socket.IO WebSocket client to a room (ack awaited) and stops reading. */
async function slowConsumer(server, room) {
  const slow = await rawSioWebSocket(server);
  slow.ws.send(`421["join","${room}"]`);
  const m = await slow.ws.nextText();
  assert.equal(m?.data, '431["ok"]', "the slow consumer joined the room");
  // Shrink the receive buffer where the runtime allows it (net.Socket does not).
  if (typeof slow.ws.sock.setRecvBufferSize === "function") slow.ws.sock.setRecvBufferSize(4096);
  slow.ws.sock.pause();
  slow.localPort = slow.ws.sock.localPort;
  return slow;
}

/** A client counting `event` packets [seq, payload]: seqs must arrive 0, 1, 2, ... */
function counting(socket, event, size) {
  socket.got = 0;
  socket.outOfOrder = 0;
  socket.badPayload = 0;
  socket.on(event, (seq, payload) => {
    if (seq !== socket.got) socket.outOfOrder++;
    if (typeof payload !== "string" || payload.length !== size) socket.badPayload++;
    socket.got++;
  });
  socket.done = new Promise((resolve) => socket.once("flood-done", resolve));
  return socket;
}

/** What the server and the clients that fell short look like (for a failure message). */
async function stallReport(server, clients) {
  const behind = clients.filter((c) => c.got < FLOOD.count);
  const lines = behind.slice(0, 5).map((c) => {
    const e = c.io.engine;
    return `client ${clients.indexOf(c)}: got ${c.got}, connected ${c.connected}, engine ${e.readyState}/${e.transport?.name}, transport polling=${e.transport?._polling}, writeBuffer ${e.writeBuffer?.length}, disconnects ${JSON.stringify(c.disconnects)} errors ${JSON.stringify(c.errors)}`;
  });
  const m = await scrape(server).then(
    (r) => [...r.values].filter(([k]) => /sessions|backpressure|packets/.test(k)).map(([k, v]) => `${k}=${v}`).join(" "),
    (e) => `/metrics failed: ${e.message}`,
  );
  let ss = "";
  try {
    const { execSync } = await import("node:child_process");
    ss = execSync(`ss -tn state all '( sport = :${server.port} )' | awk 'NR>1 {print $1, $2, $3}' | sort | uniq -c | sort -rn | head -8`).toString();
  } catch (e) {
    ss = e.message;
  }
  return `${lines.join("; ")}; metrics: ${m}; server sockets (count state recvq sendq):\n${ss}; stderr tail: ${server.stderr().slice(-600)}`;
}

const POLLING = 10; // of the 100 receivers, long-polling only; the rest WebSocket
// Each polling receiver's pause between an answer and its next GET: its queue
// then holds ~400 KB at every GET, well under the 1 MiB bound even when the
// machine is busy and the receivers' worker is slow to run.
const POLL_LAG_MS = 250;

/**
 * The acceptance scenario: 100 clients (10 of them long-polling only) and one
 * slow consumer in a room, 3,000 x 4 KiB messages flooded into it with
 * --max-buffered 1 MiB. Returns the measurements.
 *
 * The polling receivers run on their own event loop (lib/client-worker.mjs:
 * sharing the test's, behind 90 WebSocket clients' parsing, they fall more
 * than 1 MiB behind and are rightly dropped) and wait POLL_LAG_MS before each
 * GET, like clients on a slow network: at every GET the server holds about
 * 0.4 s of the flood (~650 KB, within the budget) for each of them, which is
 * what the RSS bound is about: a broadcast is kept once, not once per queue.
 */
async function floodScenario(t, bin) {
  const server = await startServerWith(bin, { args: ["--app", "testkit", "--max-buffered", String(MiB), "--log-level", "info"] });
  const clients = [];
  let slow = null;
  let pollers = null;
  t.after(async () => {
    closeAll(clients);
    await pollers?.close();
    slow?.ws.destroy();
    await server.stop();
  });
  const pid = server.proc.pid;
  clients.push(...(await openMany(server.url, 100 - POLLING, { transports: ["websocket"] }, { parallel: 20 })));
  for (const c of clients) counting(c, "flood", FLOOD.size);
  await Promise.all(clients.map((c) => ack(c, "join", ["flood"])));
  pollers = await openReceivers(server.url, POLLING, null, { room: "flood", size: FLOOD.size, lagMs: POLL_LAG_MS });
  slow = await slowConsumer(server, "flood");

  await sleep(300);
  const rssBefore = rssBytes(pid);
  let rssMax = rssBefore;
  const start = Date.now();
  let disconnectedAt = null; // the server printed the backpressure disconnect
  let closedAt = null; // the server's side of the slow TCP connection left ESTABLISHED
  let stateAfterClose = null;
  const monitor = setInterval(() => {
    rssMax = Math.max(rssMax, rssBytes(pid));
    if (disconnectedAt === null && server.stdout().includes(`testkit: disconnect / ${slow.socketId} backpressure`)) disconnectedAt = Date.now();
    if (closedAt === null) {
      const st = tcpState(server.port, slow.localPort);
      if (st !== "ESTABLISHED") {
        closedAt = Date.now();
        stateAfterClose = st;
      }
    }
  }, 20);
  try {
    const [started] = await ack(clients[0], "flood", [{ room: "flood", ...FLOOD }]);
    assert.equal(started, "ok");
    await Promise.race([
      Promise.all([...clients.map((c) => c.done), pollers.done(70_000)]),
      sleep(60_000).then(async () => {
        const ps = await pollers.stats();
        throw new Error(
          `flood not delivered within 60 s: counts ${[...new Set(clients.map((c) => c.got))]}, polling ${JSON.stringify(ps.map((p) => [p.got, p.disconnects]))}; ${await stallReport(server, clients)}`,
        );
      }),
    ]);
    // The slow consumer's disconnect may trail the flood's end slightly.
    await waitFor(() => disconnectedAt !== null && closedAt !== null, { timeout: 10_000, what: "slow consumer disconnected and its socket closed" });
  } finally {
    clearInterval(monitor);
  }
  const floodMs = Date.now() - start;

  // Every other client got every message, in order, and stayed connected.
  for (const [i, c] of clients.entries()) {
    assert.equal(c.got, FLOOD.count, `client ${i} (${c.io.engine.transport.name}) received ${c.got} of ${FLOOD.count}`);
    assert.equal(c.outOfOrder, 0, `client ${i}: messages out of order`);
    assert.equal(c.badPayload, 0, `client ${i}: damaged payloads`);
    assert.deepEqual(c.disconnects, [], `client ${i} was disconnected`);
    assert.equal(c.connected, true);
  }
  // The slow consumer, and only it, left with reason "backpressure".
  for (const [i, p] of (await pollers.stats()).entries()) {
    assert.equal(p.got, FLOOD.count, `polling receiver ${i} received ${p.got} of ${FLOOD.count}`);
    assert.equal(p.outOfOrder, 0, `polling receiver ${i}: messages out of order`);
    assert.equal(p.badPayload, 0, `polling receiver ${i}: damaged payloads`);
    assert.deepEqual(p.disconnects, [], `polling receiver ${i} was disconnected`);
    assert.equal(p.connected, true);
  }
  const rs = await reasons(clients[0]);
  assert.deepEqual(rs, [{ id: slow.socketId, reason: "backpressure" }]);
  assert.match(server.stderr(), /backpressure/, "the server logs the backpressure disconnect");
  const m = await scrape(server);
  assert.equal(m.get("sio_backpressure_disconnects_total"), 1);
  assert.equal(m.get('sio_sessions{transport="websocket"}'), 100 - POLLING);
  assert.equal(m.get('sio_sessions{transport="polling"}'), POLLING);
  // Its connection is closed by the server although it never read: the
  // server's side left ESTABLISHED (FIN_WAIT1 with unread data, or gone).
  const closeDelay = closedAt - disconnectedAt;
  assert.ok(closeDelay <= 3000, `server side of the slow connection closed ${closeDelay} ms after the disconnect`);
  // Once it reads again it gets what the kernel held, then the end of the stream.
  slow.ws.sock.resume();
  assert.equal(await slow.ws.waitClosed(10_000), true, "the slow consumer sees its connection end once it reads");
  return { floodMs, rssBefore, rssMax, disconnectAfterMs: disconnectedAt - start, closeDelay, stateAfterClose };
}

describe("backpressure: a slow consumer in a flooded room", () => {
  test("is disconnected with reason backpressure while 100 clients (10 polling) in the room get all 3,000 messages", async (t) => {
    const r = await floodScenario(t, defaultBin());
    t.diagnostic(`flood ${r.floodMs} ms; slow consumer dropped after ${r.disconnectAfterMs} ms, server side ${r.stateAfterClose} ${r.closeDelay} ms later`);
  });

  test("with --max-buffered 1 MiB the server's RSS grows by less than 16 MiB (Release build)", async (t) => {
    const bin = releaseBin();
    if (!bin) return t.skip("no build without sanitizers (set SIO_RELEASE_BIN or build build-rel-release)");
    const r = await floodScenario(t, bin);
    const growth = r.rssMax - r.rssBefore;
    t.diagnostic(`${bin}: RSS ${(r.rssBefore / MiB).toFixed(1)} MiB before, peak ${(r.rssMax / MiB).toFixed(1)} MiB: +${(growth / MiB).toFixed(2)} MiB; flood ${r.floodMs} ms`);
    assert.ok(growth < 16 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    // The polling queues hold ~400 KB each at every GET: copied into each of
    // the 10 that is ~4 MB on top of the rest (with 400 ms of lag: +13 MiB
    // measured when they were copies), shared it is the flood's last ~0.25 s
    // once (+1.4 MiB measured).
    assert.ok(growth < 4 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB: are broadcasts copied into each polling queue?`);
  });
});

describe("backpressure: other queues", () => {
  test("volatile packets to a slow consumer are dropped instead of queued; it is not disconnected", async (t) => {
    const server = await startServerWith(defaultBin(), { args: ["--app", "testkit", "--max-buffered", String(MiB)] });
    let ctl = null;
    let slow = null;
    t.after(async () => {
      if (ctl) closeAll([ctl]);
      slow?.ws.destroy();
      await server.stop();
    });
    ctl = await openSio(server.url, { transports: ["websocket"] });
    slow = await slowConsumer(server, "v");
    // 12 MiB of volatile packets: far beyond the kernel buffers and 1 MiB.
    await ack(ctl, "flood", [{ room: "v", count: 3000, size: 4096, batch: 20, interval: 1, volatile: true }]);
    await sleep(4000);
    const m = await scrape(server);
    assert.equal(m.get("sio_backpressure_disconnects_total"), 0);
    assert.ok(m.get("sio_volatile_dropped_total") > 0, "volatile packets were dropped");
    assert.deepEqual(await reasons(ctl), []);
    assert.equal(tcpState(server.port, slow.localPort), "ESTABLISHED");
    // Reading again, it gets a prefix of the volatile packets and the (non-volatile) flood-done.
    slow.ws.sock.resume();
    let floods = 0;
    let last = -1;
    for (;;) {
      const msg = await slow.ws.nextText(10_000);
      assert.ok(msg, "connection open");
      if (msg.data.startsWith('42["flood",')) {
        const seq = JSON.parse(msg.data.slice(2))[1];
        assert.ok(seq > last, "volatile packets keep their order");
        last = seq;
        floods++;
      } else if (msg.data.startsWith('42["flood-done"')) break;
    }
    t.diagnostic(`slow consumer got ${floods} of 3000 volatile packets, ${m.get("sio_volatile_dropped_total")} dropped`);
    assert.ok(floods < 3000);
  });

  test("a polling client that stops polling is disconnected (backpressure) once 1 MiB is queued for it", async (t) => {
    const server = await startServerWith(defaultBin(), { args: ["--app", "testkit", "--max-buffered", String(MiB)] });
    let ctl = null;
    t.after(async () => {
      if (ctl) closeAll([ctl]);
      await server.stop();
    });
    ctl = counting(await openSio(server.url, { transports: ["websocket"] }), "flood", 4096);
    await ack(ctl, "join", ["p"]);
    const p = await rawPolling(server);
    assert.equal((await p.post("40")).status, 200);
    const connected = await p.get();
    const socketId = JSON.parse(connected.text.slice(2)).sid;
    assert.equal((await p.post('421["join","p"]')).status, 200);
    assert.equal((await p.get()).text, '431["ok"]');
    // No GET from now on: 400 x 4 KiB (1.6 MB) queue up for it.
    await ack(ctl, "flood", [{ room: "p", count: 400, size: 4096, batch: 10, interval: 1 }]);
    await ctl.done;
    assert.equal(ctl.got, 400);
    assert.deepEqual(await reasons(ctl), [{ id: socketId, reason: "backpressure" }]);
    // Its queue was dropped with the session.
    const after = await request(server, { path: eioPath({ sid: p.sid }) });
    assert.equal(after.status, 400);
    assert.deepEqual(JSON.parse(after.text), { code: 1, message: "Session ID unknown" });
    assert.equal((await scrape(server)).get("sio_backpressure_disconnects_total"), 1);
  });
});

// sio.h: "producers that check sio_socket_writable and wait for the drain
// callback never get there" and sio_on_drain "Called when a socket's queue
// empties after its client fell behind". The testkit's `stream` event is such
// a producer: it emits while sio_socket_writable() and otherwise waits for the
// drain callback.
describe("backpressure API: sio_socket_writable and the drain callback", () => {
  async function streamTo(t, { maxBuffered, transports, count, size, pauseMs = 0, timeout = 15_000 }) {
    const server = await startServerWith(defaultBin(), { args: ["--app", "testkit", "--max-buffered", String(maxBuffered)] });
    let client = null;
    let raw = null;
    t.after(async () => {
      if (client) closeAll([client]);
      raw?.ws.destroy();
      await server.stop();
    });
    let got = 0;
    let outOfOrder = 0;
    let done;
    if (transports === "raw-paused") {
      // A WebSocket client that reads nothing for pauseMs, then everything.
      raw = await rawSioWebSocket(server);
      raw.ws.sock.pause();
      raw.ws.send(`421["stream",{"count":${count},"size":${size}}]`);
      await sleep(pauseMs);
      raw.ws.sock.resume();
      done = (async () => {
        for (;;) {
          const m = await raw.ws.nextText(timeout);
          if (!m) throw new Error(`connection closed after ${got} chunks`);
          if (m.data.startsWith('42["chunk",')) {
            if (JSON.parse(m.data.slice(2))[1] !== got) outOfOrder++;
            got++;
          } else if (m.data.startsWith('42["stream-done",')) return JSON.parse(m.data.slice(2))[1];
        }
      })().catch((e) => e);
    } else {
      client = await openSio(server.url, { transports });
      client.on("chunk", (seq) => {
        if (seq !== got) outOfOrder++;
        got++;
      });
      const finished = new Promise((resolve) => client.once("stream-done", resolve));
      assert.deepEqual(await ack(client, "stream", [{ count, size }]), ["ok"]);
      done = Promise.race([finished, sleep(timeout).then(() => null)]);
    }
    const result = await done;
    let state = "";
    if (!(result && typeof result.count === "number") && client) state = JSON.stringify(await ack(client, "buffered").catch((e) => e.message));
    assert.ok(
      result && typeof result.count === "number",
      `the producer did not finish within ${timeout} ms: ${got} of ${count} chunks arrived, then nothing` +
        (state ? `; the server reports ${state} for the socket, yet no drain callback resumed the producer` : `: ${result}`),
    );
    assert.equal(got, count);
    assert.equal(outOfOrder, 0);
    assert.deepEqual(await reasons(client ?? (await openSio(server.url, { transports: ["websocket"] }).then((c) => ((client = c), c)))), []);
    return result;
  }

  test("a WebSocket client that reads nothing for 1.5 s: the producer pauses, drains, and delivers all 4,000 x 4 KiB", async (t) => {
    const r = await streamTo(t, { maxBuffered: 16 * MiB, transports: "raw-paused", count: 4000, size: 4096, pauseMs: 1500 });
    assert.ok(r.pauses >= 1, "the producer had to pause");
  });

  test("drain is called when the queue empties after the socket stopped being writable (fast WebSocket client)", async (t) => {
    // 2,000 x 1 KiB with --max-buffered 256 KiB: the producer stops at 128 KiB
    // queued; the kernel takes that in one write.
    await streamTo(t, { maxBuffered: 256 * 1024, transports: ["websocket"], count: 2000, size: 1024, timeout: 5000 });
  });

  test("drain is called when the queue empties after the socket stopped being writable (long-polling client)", async (t) => {
    await streamTo(t, { maxBuffered: 256 * 1024, transports: ["polling"], count: 2000, size: 1024, timeout: 5000 });
  });
});
