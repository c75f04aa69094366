// Reliability: lifecycle races (issue "Hardening", points 1-2). Connections are
// reset at every stage of a session's life while broadcasts flow, against the
// chat app with its defaults: the ASan/UBSan server must report nothing, keep
// answering /healthz, keep its normal clients served, give back every fd and
// exit 0 on SIGTERM. The first test is the regression for the remote
// use-after-free in http_resume (a held long-poll reset after its resume).
//
// SIO_RACE_SECONDS (default 60) sets how long the driver runs, SIO_RACE_SEED
// its seed (printed), SIO_RACE_WORKERS its parallel connections (default 6).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { eioPath, request, wsConnect } from "./lib/eio.mjs";
import { drainedSession, fdSettle, healthProber, holdGet, httpHead, postRequest, reset, seededRandom, steadyFdCount, upgradeHead } from "./lib/lifecycle.mjs";
import { closeAll, httpGet, openSio, rawSioWebSocket, rawTcp, scrape, sleep, waitFor, wsFrame } from "./lib/reliability.mjs";
import { startServer } from "./lib/server.mjs";

const RACE_MS = Number(process.env.SIO_RACE_SECONDS ?? 60) * 1000;
const SEED = Number(process.env.SIO_RACE_SEED ?? 0x5eed5);
const WORKERS = Number(process.env.SIO_RACE_WORKERS ?? 6);
const SHUTDOWN_TIMEOUT_MS = 10_000; // the product's default --shutdown-timeout
const FD_SLACK = 4; // a health probe and a polling client's POST may be open when counted

/** Runs fn(i) for i in [0, n) with at most `parallel` at a time; resolves the results. */
async function mapLimit(n, parallel, fn) {
  const out = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, parallel) }, worker));
  return out;
}

/** From the server's log: ms from "shutting down" to "stopped" (the rest of the exit is the sanitizers' own). */
function shutdownSpan(server) {
  const at = (re) => {
    const m = new RegExp(`^(\\S+) \\S+ ${re}`, "m").exec(server.stderr());
    return m ? Date.parse(m[1]) : NaN;
  };
  return at("sio-server stopped") - at("signal \\d+: shutting down");
}

/** Sends SIGTERM; resolves {code, signal, ms} at exit, or ms=null after `wait`. */
async function terminate(server, wait) {
  const t0 = Date.now();
  const exited = new Promise((resolve) => server.proc.once("exit", (code, signal) => resolve({ code, signal, ms: Date.now() - t0 })));
  server.proc.kill("SIGTERM");
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve({ code: null, signal: null, ms: null }), wait)));
  const r = await Promise.race([exited, late]);
  clearTimeout(timer);
  return r;
}

/**
 * Runs the test body; when it fails, the failure carries what stop() finds
 * (a sanitizer report, a crash), which is what a reset race usually causes.
 */
async function reporting(server, body) {
  try {
    await body();
  } catch (e) {
    const why = await server.stop().then(
      () => "",
      (stopErr) => stopErr.message,
    );
    if (why) e.message += `\n--- the server: ${why}`;
    throw e;
  }
}

const has = (s) => (buf) => buf.includes(s);
const text = (s) => wsFrame({ opcode: 0x1, payload: s });

// ---------------------------------------------------------------------------
// The stages of a session at which the driver resets a connection. Each takes
// (server, rnd, ctx) and leaves no socket of its own open.

/** Writes a random prefix of `data` (at least one byte, never all of it), then resets. */
async function cutAndReset(conn, data, rnd) {
  conn.sock.write(data.slice(0, 1 + rnd.int(data.length - 1)));
  if (rnd.chance(0.5)) await sleep(rnd.int(20));
  reset(conn.sock);
}

/** Resets now, after the next turn of the event loop, or after a few ms. */
async function resetSoon(socks, rnd) {
  const how = rnd.int(3);
  if (how === 1) await new Promise((r) => setImmediate(r));
  else if (how === 2) await sleep(1 + rnd.int(10));
  for (const s of socks) reset(s);
}

/**
 * After the resets, most sessions a scenario leaves open (its GET was answered
 * before the reset, its POST or probe was the one reset) are ended with a
 * close packet; the rest are left to the heartbeat, as vanished clients are.
 * Thousands of idle sessions would otherwise collect every broadcast for
 * 45 s and make the run a load test.
 */
async function leave(server, sids, rnd) {
  await Promise.all(
    sids.filter(() => rnd.chance(0.8)).map((sid) => request(server, { method: "POST", path: eioPath({ sid }), headers: { "Content-Type": "text/plain;charset=UTF-8" }, body: "1" }).catch(() => {})),
  );
}

const SCENARIOS = {
  async "handshake: mid-headers"(server, rnd) {
    await cutAndReset(await rawTcp(server.port), httpHead("GET", eioPath()), rnd);
  },

  async "handshake: before the answer"(server, rnd) {
    const c = await rawTcp(server.port);
    c.sock.write(httpHead("GET", eioPath()));
    await resetSoon([c.sock], rnd);
  },

  async "handshake: WebSocket, before or after the 101"(server, rnd) {
    const c = await rawTcp(server.port);
    const head = upgradeHead(eioPath({ transport: "websocket" }));
    if (rnd.chance(0.3)) return cutAndReset(c, head, rnd);
    c.sock.write(head);
    if (rnd.chance(0.5)) await c.waitData(has("101"), 5000);
    await resetSoon([c.sock], rnd);
  },

  async "held GET reset"(server, rnd) {
    const sid = await drainedSession(server);
    if (!sid) return;
    const g = await holdGet(server, sid);
    await sleep(10 + rnd.int(60));
    reset(g.sock);
    await leave(server, [sid], rnd);
  },

  // The regression's race in small: a message resumes held GETs and their
  // clients reset before the answer goes out.
  async "resume then reset (broadcast in the same tick)"(server, rnd, ctx) {
    const k = 1 + rnd.int(8);
    const sids = (await mapLimit(k, k, () => drainedSession(server))).filter(Boolean);
    if (!sids.length) return;
    const holds = await Promise.all(sids.map((sid) => holdGet(server, sid)));
    await sleep(30 + rnd.int(70));
    let poster = null;
    if (rnd.chance(0.5)) {
      // A raw POST from one of the held sessions, written before the resets.
      poster = await rawTcp(server.port);
      poster.sock.write(postRequest(sids[0], `42["message","race-${rnd.int(1e6)}"]`));
    } else {
      ctx.sender.emit("message", `race-${rnd.int(1e6)}`);
    }
    if (rnd.chance(0.7)) for (const h of holds) reset(h.sock);
    else await resetSoon(holds.map((h) => h.sock), rnd);
    if (poster) {
      if (rnd.chance(0.3)) reset(poster.sock);
      else {
        await poster.waitData(has("\r\n\r\n"), 5000);
        poster.sock.destroy();
      }
    }
    await leave(server, sids, rnd);
  },

  async "POST: partial body, then reset"(server, rnd) {
    const sid = await drainedSession(server);
    if (!sid) return;
    const held = rnd.chance(0.5) ? await holdGet(server, sid) : null;
    const c = await rawTcp(server.port);
    const req = postRequest(sid, `42["message","partial-${rnd.int(1e6)}"]`);
    if (rnd.chance(0.8)) await cutAndReset(c, req, rnd);
    else {
      c.sock.write(req); // the whole POST, reset under its answer
      await resetSoon([c.sock], rnd);
    }
    if (held) await resetSoon([held.sock], rnd);
    await leave(server, [sid], rnd);
  },

  // polling -> WebSocket upgrade: reset at each step of the probe, with or
  // without a GET held on the polling side (real clients hold one).
  async "upgrade probe"(server, rnd) {
    const sid = await drainedSession(server);
    if (!sid) return;
    const held = rnd.chance(0.7) ? await holdGet(server, sid) : null;
    const c = await rawTcp(server.port);
    const socks = held ? [c.sock, held.sock] : [c.sock];
    try {
      const head = upgradeHead(eioPath({ transport: "websocket", sid }));
      const stage = rnd.int(7);
      if (stage === 0) return await cutAndReset(c, head, rnd);
      c.sock.write(head);
      if (stage === 1) return await resetSoon(socks, rnd); // before the 101
      if (!(await c.waitData(has("101"), 5000)) || stage === 2) return await resetSoon(socks, rnd);
      c.sock.write(text("2probe"));
      if (stage === 3) return await resetSoon(socks, rnd); // 2probe sent, 3probe not yet back
      if (!(await c.waitData(has("3probe"), 5000)) || stage === 4) return await resetSoon(socks, rnd);
      if (stage === 5) {
        // Between 3probe and 5: the held GET was released; mid-frame "5".
        const f = text("5");
        c.sock.write(f.subarray(0, 1 + rnd.int(f.length - 1)));
        return await resetSoon(socks, rnd);
      }
      c.sock.write(text("5"));
      if (rnd.chance(0.5)) c.sock.write(text(`42["message","upgraded-${rnd.int(1e6)}"]`));
      await resetSoon(socks, rnd);
    } finally {
      for (const s of socks) reset(s);
      await leave(server, [sid], rnd);
    }
  },

  // A WebSocket Engine.IO session on namespace "/": reset on its close or
  // mid-frame.
  async "WebSocket session: close or mid-frame, then reset"(server, rnd) {
    const c = await rawTcp(server.port);
    try {
      c.sock.write(upgradeHead(eioPath({ transport: "websocket" })));
      if (!(await c.waitData(has('0{"sid"'), 5000))) return;
      c.sock.write(text("40"));
      if (rnd.chance(0.7)) await c.waitData(has("40{"), 5000);
      const stage = rnd.int(4);
      const close = wsFrame({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8]) });
      if (stage === 0) c.sock.write(close); // close frame, reset before the answer
      else if (stage === 1) {
        c.sock.write(close);
        await c.waitData((b) => b.includes(Buffer.from([0x88])), 3000);
      } else if (stage === 2) {
        const f = text(`42["message","mid-frame-${"x".repeat(rnd.int(300))}"]`);
        c.sock.write(f.subarray(0, 1 + rnd.int(f.length - 1)));
      } else c.sock.write(text(`42["message","ws-${rnd.int(1e6)}"]`)); // a message in flight
      await resetSoon([c.sock], rnd);
    } finally {
      reset(c.sock);
    }
  },

  async "/ws peer: mid-handshake, mid-message, on close"(server, rnd) {
    const c = await rawTcp(server.port);
    try {
      const head = upgradeHead("/ws");
      const stage = rnd.int(6);
      if (stage === 0) return await cutAndReset(c, head, rnd);
      c.sock.write(head);
      if (stage === 1) return await resetSoon([c.sock], rnd);
      if (!(await c.waitData(has("101"), 5000))) return;
      const msg = `peer-${rnd.int(1e6)} ${"y".repeat(rnd.int(500))}`;
      if (stage === 2) c.sock.write(text(msg)); // a message in flight
      else if (stage === 3) {
        const f = text(msg);
        c.sock.write(f.subarray(0, 1 + rnd.int(f.length - 1)));
      } else if (stage === 4) {
        c.sock.write(wsFrame({ opcode: 0x1, payload: msg, fin: false })); // first fragment only
      } else c.sock.write(wsFrame({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8]) }));
      await resetSoon([c.sock], rnd);
    } finally {
      reset(c.sock);
    }
  },
};

/**
 * Runs `workers` loops, each picking scenarios with its own seeded random
 * source, until stopped. Resolves {runs: {name: n}, errors: {message: n}, total}.
 */
function raceDriver(server, ctx, { seed, workers, until }) {
  const names = Object.keys(SCENARIOS);
  const runs = Object.fromEntries(names.map((n) => [n, 0]));
  const errors = {};
  let total = 0;
  const loops = Array.from({ length: workers }, async (_, w) => {
    const rnd = seededRandom(seed + w);
    while (!until()) {
      const name = rnd.pick(names);
      try {
        await SCENARIOS[name](server, rnd, ctx);
      } catch (e) {
        // A refused connection during shutdown, a reset seen by our side: not
        // the server's failure; counted for the report.
        const key = `${name}: ${e.code ?? e.message}`;
        errors[key] = (errors[key] ?? 0) + 1;
      }
      runs[name]++;
      total++;
    }
  });
  return Promise.all(loops).then(() => ({ runs, errors, total }));
}

// ---------------------------------------------------------------------------

describe("lifecycle races", () => {
  test("regression: 200 held long-polls resumed by a broadcast and reset before the answer, 5 rounds: no use-after-free, /healthz answers, exit 0", async (t) => {
    const server = await startServer({ args: ["--app", "chat"] });
    t.after(() => server.stop());
    await reporting(server, async () => {
      const N = 200;
      for (let round = 0; round < 5; round++) {
        const sids = await mapLimit(N, 25, () => drainedSession(server));
        assert.ok(sids.every(Boolean), `round ${round}: every session opened and joined "/"`);
        const sender = await drainedSession(server);
        assert.ok(sender);
        // The later joins queued "users" counts: take them, so the next GET is held.
        const drained = await Promise.all(sids.map((sid) => request(server, { path: eioPath({ sid }) })));
        assert.ok(drained.every((r) => r.status === 200), `round ${round}: queues drained`);
        const holds = await Promise.all(sids.map((sid) => holdGet(server, sid)));
        await sleep(200); // the GETs reach the server and are held
        const raw = await rawTcp(server.port);
        raw.sock.write(postRequest(sender, `42["message","r${round}"]`));
        // Same tick: the broadcast resumes all 200, whose clients are gone.
        for (const h of holds) reset(h.sock);
        await sleep(100);
        raw.sock.destroy();
        // The second message resumes whatever the sessions still hold.
        const second = await request(server, { method: "POST", path: eioPath({ sid: sender }), headers: { "Content-Type": "text/plain;charset=UTF-8" }, body: `42["message","x${round}"]` });
        assert.equal(second.status, 200, `round ${round}: second message accepted`);
        await sleep(100);
        const h = await httpGet(server, "/healthz", { timeout: 10_000 });
        assert.equal(h.status, 200, `round ${round}: /healthz`);
        await request(server, { method: "POST", path: eioPath({ sid: sender }), headers: { "Content-Type": "text/plain;charset=UTF-8" }, body: "1" });
      }
      const exit = await terminate(server, SHUTDOWN_TIMEOUT_MS + 5000);
      assert.equal(exit.code, 0, `exit code after SIGTERM: ${server.stderr().slice(-4000)}`);
      await server.stop(); // exit 0, no sanitizer report on stderr
    });
  });

  // The WebSocket flush list named a connection freed in the same round: a
  // /ws peer's first message queued a frame to a slow Socket.IO WebSocket
  // client (put on the Engine.IO flush list after that list's hook had run),
  // its second pushed that client over --max-buffered, whose connection was
  // aborted and freed at the end of the round, still on the list. The small
  // --max-buffered only makes the slow client's backlog quick to reach.
  test("a /ws message that pushes a slow WebSocket client over --max-buffered right after another queued it a frame: no use-after-free in the flush list", async (t) => {
    const server = await startServer({ args: ["--app", "chat", "--max-buffered", "65536"] });
    t.after(() => server.stop());
    await reporting(server, async () => {
      for (let round = 0; round < 3; round++) {
        const slow = await rawSioWebSocket(server);
        slow.ws.sock.pause(); // reads nothing: the kernel's buffers fill, then its queue
        let dropped = false;
        for (let i = 0; i < 1000 && !dropped; i++) {
          // Both messages ride in the upgrade request's packet, so they are
          // parsed in one go by the /ws flush hook.
          const c = await rawTcp(server.port);
          c.sock.write(Buffer.concat([Buffer.from(upgradeHead("/ws")), text("a"), text("b".repeat(60_000))]));
          await c.waitData(has("101"), 5000);
          c.sock.destroy();
          dropped = (await scrape(server)).get("sio_backpressure_disconnects_total") > round;
        }
        slow.ws.destroy();
        assert.ok(dropped, `round ${round}: the slow client was dropped for backpressure`);
        assert.equal((await httpGet(server, "/healthz")).status, 200);
      }
      const exit = await terminate(server, SHUTDOWN_TIMEOUT_MS + 5000);
      assert.equal(exit.code, 0);
      await server.stop();
    });
  });

  test(`race driver: resets at every stage for ${RACE_MS / 1000} s with broadcasts flowing (seed ${SEED}): no sanitizer report, /healthz always answers, receivers keep receiving, fds given back, exit 0`, async (t) => {
    t.diagnostic(`seed ${SEED} (SIO_RACE_SEED), ${WORKERS} workers, ${RACE_MS} ms (SIO_RACE_SECONDS)`);
    console.log(`# lifecycle race seed: ${SEED}`);
    const server = await startServer({ args: ["--app", "chat"] });
    const clients = [];
    let wsReceiver = null;
    t.after(async () => {
      closeAll(clients);
      wsReceiver?.destroy();
      await server.stop();
    });
    await reporting(server, async () => {
      // Normal clients: a sender and receivers over polling, WebSocket and the
      // upgrade; a plain /ws peer gets the chat too.
      const sender = await openSio(server.url, { transports: ["websocket"] });
      clients.push(sender);
      const modes = [["polling"], ["polling"], ["websocket"], ["websocket"], ["polling", "websocket"]];
      const receivers = [];
      for (const transports of modes) {
        const r = await openSio(server.url, { transports });
        r.seqs = [];
        r.lastAt = null;
        r.maxGap = 0;
        r.on("message", (line) => {
          const m = /said: seq-(\d+)$/.exec(line);
          if (!m) return;
          const now = Date.now();
          if (r.lastAt !== null) r.maxGap = Math.max(r.maxGap, now - r.lastAt);
          r.lastAt = now;
          r.seqs.push(Number(m[1]));
        });
        r.label = transports.join("+");
        receivers.push(r);
        clients.push(r);
      }
      const up = await wsConnect(server, "/ws");
      assert.equal(up.status, 101);
      wsReceiver = up.ws;
      const wsSeqs = [];
      const wsPump = (async () => {
        for (;;) {
          const m = await wsReceiver.next(3_600_000).catch(() => null);
          if (!m) return;
          const mm = /said: seq-(\d+)$/.exec(m.data);
          if (mm) wsSeqs.push(Number(mm[1]));
        }
      })();

      const base = await steadyFdCount(server.proc.pid);
      t.diagnostic(`fds at the start (normal clients connected): ${base}`);

      let seq = 0;
      let sending = true;
      const pump = (async () => {
        while (sending) {
          sender.emit("message", `seq-${seq++}`);
          await sleep(50);
        }
      })();
      const prober = healthProber(server, { interval: 500, timeout: 5000 });
      const t0 = Date.now();
      const result = await raceDriver(server, { sender }, { seed: SEED, workers: WORKERS, until: () => Date.now() - t0 > RACE_MS });
      sending = false;
      await pump;
      t.diagnostic(`${result.total} iterations in ${Date.now() - t0} ms: ${JSON.stringify(result.runs)}`);
      if (Object.keys(result.errors).length) t.diagnostic(`client-side errors: ${JSON.stringify(result.errors)}`);

      // The sender's last message reaches every receiver, and so did all before it.
      const last = seq - 1;
      await waitFor(() => receivers.every((r) => r.seqs.includes(last)) && wsSeqs.includes(last), { timeout: 15_000, what: `seq-${last} at every receiver` });
      const health = await prober.stop();
      const metrics = await scrape(server);
      t.diagnostic(`/healthz: ${health.probes} probes, slowest ${health.slowest} ms, ${health.failures.length} failed; loop lag max ${metrics.get("sio_event_loop_lag_max_seconds")} s; sessions open: ${metrics.get('sio_sessions{transport="polling"}')} polling, ${metrics.get('sio_sessions{transport="websocket"}')} WebSocket, ${metrics.get("sio_sessions_opened_total")} opened`);
      for (const r of receivers) t.diagnostic(`receiver ${r.label}: ${r.seqs.length}/${seq} messages, longest gap ${r.maxGap} ms`);
      assert.deepEqual(health.failures, [], "every /healthz probe answered 200 in time");
      for (const r of receivers) {
        assert.deepEqual(r.disconnects, [], `receiver ${r.label} stayed connected`);
        assert.deepEqual(r.errors, [], `receiver ${r.label}: no errors`);
        assert.deepEqual(r.seqs, Array.from({ length: seq }, (_, i) => i), `receiver ${r.label} got every message in order`);
      }
      assert.deepEqual(wsSeqs, Array.from({ length: seq }, (_, i) => i), "the /ws peer got every message in order");
      for (const name of Object.keys(SCENARIOS)) assert.ok(result.runs[name] > 0, `scenario "${name}" ran`);

      // Every connection the driver reset is closed on the server's side too.
      const fds = await fdSettle(server.proc.pid, base + FD_SLACK, { timeout: 15_000 });
      t.diagnostic(`fds after the driver: ${fds.count} (start ${base}), settled in ${fds.ms} ms`);
      assert.ok(fds.settled, `fd count back to ${base} (+${FD_SLACK}): still ${fds.count} after ${fds.ms} ms`);

      closeAll(clients);
      clients.length = 0;
      wsReceiver.close();
      await wsPump;
      const exit = await terminate(server, SHUTDOWN_TIMEOUT_MS + 5000);
      t.diagnostic(`exit ${exit.code} ${exit.ms} ms after SIGTERM (${shutdownSpan(server)} ms from "shutting down" to "stopped")`);
      assert.equal(exit.code, 0);
      assert.ok(exit.ms <= SHUTDOWN_TIMEOUT_MS, `exited ${exit.ms} ms after SIGTERM`);
    });
  });

  test(`shutdown under resets: SIGTERM while connections are reset at every stage (seed ${SEED + 1000}): exit 0 within the shutdown timeout, no sanitizer report`, async (t) => {
    const server = await startServer({ args: ["--app", "chat"] });
    t.after(() => server.stop());
    await reporting(server, async () => {
      const sender = await openSio(server.url, { transports: ["websocket"] });
      const receiver = await openSio(server.url, { transports: ["polling"] });
      t.after(() => closeAll([sender, receiver]));
      const peer = (await wsConnect(server, "/ws")).ws; // told with close 1001, like the rest
      t.after(() => peer.destroy());
      let sending = true;
      const pump = (async () => {
        for (let i = 0; sending && sender.connected; i++) {
          sender.emit("message", `seq-${i}`);
          await sleep(50);
        }
      })();
      let exited = false;
      server.proc.once("exit", () => (exited = true));
      const t0 = Date.now();
      const driving = raceDriver(server, { sender }, { seed: SEED + 1000, workers: WORKERS, until: () => exited || Date.now() - t0 > 30_000 });
      await sleep(5000);
      const exit = await terminate(server, SHUTDOWN_TIMEOUT_MS + 5000);
      sending = false;
      const result = await driving;
      await pump;
      t.diagnostic(`exit ${exit.code} ${exit.ms} ms after SIGTERM (${shutdownSpan(server)} ms from "shutting down" to "stopped"); ${result.total} iterations: ${JSON.stringify(result.runs)}`);
      assert.equal(exit.code, 0, `exit after SIGTERM: ${server.stderr().slice(-4000)}`);
      assert.ok(exit.ms <= SHUTDOWN_TIMEOUT_MS, `exited ${exit.ms} ms after SIGTERM (timeout ${SHUTDOWN_TIMEOUT_MS})`);
      assert.ok(await peer.waitClosed(5000));
      assert.equal(peer.closeCode, 1001, "the /ws peer got the close frame 1001 before its socket closed");
      await server.stop();
    });
  });
});
