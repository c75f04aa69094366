// Reliability: admission control (issue 7, "Admission control"): beyond
// --max-connections handshakes get 503 + Retry-After while connected clients
// are unaffected; --max-handshake-rate spreads a reconnection storm out
// without losing anyone; --max-per-address answers 429. Half-open sessions
// (no namespace joined yet; "Hardening", point 4): one client's flood of bare
// handshakes cannot lock anyone else out, --max-half-open-per-address answers
// 429, and at --max-connections the oldest half-open session makes room.
import assert from "node:assert/strict";
import http from "node:http";
import { describe, test } from "node:test";

import { closeSessions, eioPath, handshake, poll, post, request, trackSid, wsConnect } from "./lib/eio.mjs";
import { ack, closeAll, defaultBin, openMany, openSio, rawSioWebSocket, scrape, sleep, startServerWith, waitFor } from "./lib/reliability.mjs";

async function start(t, args) {
  const server = await startServerWith(defaultBin(), { args: ["--app", "testkit", ...args] });
  const clients = [];
  t.after(async () => {
    closeAll(clients);
    await closeSessions(server);
    await server.stop();
  });
  return { server, clients };
}

/** Asserts a 503 answer with Retry-After (whole seconds) and a JSON body. */
function assertRefused(res, status, what) {
  assert.equal(res.status, status, `${what}: status ${res.status} ${res.text}`);
  assert.match(String(res.headers["retry-after"]), /^[1-9]\d*$/, `${what}: Retry-After ${res.headers["retry-after"]}`);
  assert.equal(JSON.parse(res.text).code, status);
}

/** Every client answers an echo with its own payload. */
async function echoAll(clients, timeout = 5000) {
  const res = await Promise.allSettled(clients.map((c, i) => ack(c, "echo", [`echo-${i}`], timeout)));
  const bad = res.map((r, i) => (r.status === "fulfilled" && r.value[0] === `echo-${i}` ? null : `${i}: ${r.reason?.message ?? JSON.stringify(r.value)}`)).filter(Boolean);
  assert.deepEqual(bad, [], `${bad.length} of ${clients.length} connected clients got no echo`);
}

describe("admission: --max-connections", () => {
  test("50 WebSocket clients connected: the 51st handshake gets 503 + Retry-After, the 50 keep working", async (t) => {
    const { server, clients } = await start(t, ["--max-connections", "50"]);
    clients.push(...(await openMany(server.url, 50, { transports: ["websocket"] }, { parallel: 10 })));
    await echoAll(clients);

    assertRefused(await request(server, { path: eioPath(), timeout: 5000 }), 503, "51st polling handshake");
    const ws = await wsConnect(server, eioPath({ transport: "websocket" }), { timeout: 5000 });
    assert.notEqual(ws.status, 101, "51st WebSocket handshake upgraded");
    assertRefused(ws, 503, "51st WebSocket handshake");
    await assert.rejects(openSio(server.url, { transports: ["websocket"] }, { timeout: 5000 }), /connect_error/);

    await echoAll(clients);
    const m = await scrape(server);
    assert.equal(m.get('sio_handshake_rejections_total{reason="max_connections"}'), 3);
    assert.equal(m.get('sio_sessions{transport="websocket"}'), 50);

    // A place freed is a place taken.
    closeAll([clients.pop()]);
    await waitFor(async () => (await scrape(server)).get('sio_sessions{transport="websocket"}') === 49, { what: "session closed" });
    clients.push(await openSio(server.url, { transports: ["websocket"] }));
    await echoAll(clients);
  });

  test("50 long-polling clients connected: the 51st handshake gets 503 + Retry-After, the 50 keep working", async (t) => {
    const { server, clients } = await start(t, ["--max-connections", "50"]);
    clients.push(...(await openMany(server.url, 50, { transports: ["polling"] }, { parallel: 10 })));
    // Each polling client holds a GET open; sending needs a second HTTP request.
    const seen = {};
    const r51 = await request(server, { path: eioPath(), timeout: 5000 }).catch((e) => ({ status: "no answer", headers: {}, text: e.message }));
    seen.handshake51 = r51.status;
    const echoes = await Promise.allSettled(clients.map((c, i) => ack(c, "echo", [i], 5000)));
    seen.echoed = echoes.filter((r) => r.status === "fulfilled").length;
    // And once 10 of them have left, there is room again.
    closeAll(clients.splice(0, 10));
    await sleep(1000);
    seen.healthzAfter10Left = await request(server, { path: "/healthz", timeout: 3000 }).then((r) => r.status, () => "no answer");
    seen.newClientAfter10Left = await openSio(server.url, { transports: ["websocket"] }, { timeout: 3000 }).then(
      (s) => (clients.push(s), "connected"),
      (e) => e.message,
    );
    assert.deepEqual(
      seen,
      { handshake51: 503, echoed: 50, healthzAfter10Left: 200, newClientAfter10Left: "connected" },
      `with --max-connections 50 and 50 polling clients: ${JSON.stringify(seen)}`,
    );
    assertRefused(r51, 503, "51st polling handshake");
  });
});

describe("admission: --max-handshake-rate", () => {
  test("a storm of 2,000 reconnects is admitted at about 500/s and nobody is lost", async (t) => {
    const RATE = 500;
    const N = 2000;
    const RAW = 200; // raw polling handshakes that follow Retry-After
    const { server, clients } = await start(t, ["--max-handshake-rate", String(RATE)]);
    const t0 = Date.now();
    const admittedAt = [];
    const samples = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const at = Date.now() - t0;
        const m = await scrape(server).catch(() => null);
        if (m) samples.push([at, m.get("sio_sessions_opened_total")]);
        await sleep(250);
      }
    })();

    // socket.io-client: reconnection on, as after a server restart; 3/4 WebSocket, 1/4 polling.
    const sio = [];
    for (let i = 0; i < N - RAW; i++) {
      sio.push(
        openSio(
          server.url,
          { transports: i % 4 === 3 ? ["polling"] : ["websocket"], reconnection: true, reconnectionDelay: 500, reconnectionDelayMax: 2000, randomizationFactor: 0.5 },
          { timeout: 60_000 },
        ).then((s) => {
          admittedAt.push(Date.now() - t0);
          clients.push(s);
          return s;
        }),
      );
    }
    // Raw handshakes: on 503, wait Retry-After seconds (plus jitter) and retry.
    let raw503 = 0;
    const raw = [];
    for (let i = 0; i < RAW; i++) {
      raw.push(
        (async () => {
          for (;;) {
            const res = await request(server, { path: eioPath(), timeout: 10_000 });
            if (res.status === 200) {
              const sid = JSON.parse(res.text.slice(1)).sid;
              trackSid(server, sid);
              admittedAt.push(Date.now() - t0);
              return sid;
            }
            assertRefused(res, 503, "rate-limited handshake");
            raw503++;
            await sleep(Number(res.headers["retry-after"]) * 1000 * (0.5 + Math.random()));
          }
        })(),
      );
    }
    // Nothing reaches the server before this point: the requests are written
    // from the event loop, which the loops above kept busy. Client-side
    // timestamps lag the server's decisions, so measuring from here errs on
    // the side of a lower observed rate, never a higher one.
    const tStart = Date.now() - t0;
    const results = await Promise.allSettled([...sio, ...raw]);
    const connectedMs = Date.now() - t0;
    sampling = false;
    await sampler;
    const failed = results.filter((r) => r.status === "rejected");
    assert.equal(failed.length, 0, `${failed.length} clients never got in: ${failed[0]?.reason?.message}`);
    assert.equal(admittedAt.length, N);

    const m = await scrape(server);
    assert.equal(m.get("sio_sessions_opened_total"), N);
    const rejected = m.get('sio_handshake_rejections_total{reason="handshake_rate"}');
    const sioErrors = clients.reduce((n, s) => n + s.errors.filter((e) => e.startsWith("connect_error")).length, 0);
    assert.equal(rejected, sioErrors + raw503, "every refused handshake is counted once");
    assert.ok(rejected > 0);

    // A token bucket refilled at RATE/s and holding at most one second's worth
    // admits at most RATE + RATE*x sessions by time x after the first request.
    admittedAt.sort((a, b) => a - b);
    let worst = 0;
    for (let k = 0; k < N; k++) worst = Math.max(worst, k + 1 - (RATE + (RATE * (admittedAt[k] - tStart)) / 1000));
    assert.ok(worst <= 1, `admissions ran ahead of the rate by ${worst.toFixed(0)} sessions`);
    // While hundreds are still waiting (between the 600th and the 1,500th
    // admission, past any initial burst) the bucket, not the clients'
    // backoff, sets the pace.
    const K1 = 600;
    const K2 = 1500;
    const steady = (K2 - K1) / ((admittedAt[K2 - 1] - admittedAt[K1 - 1]) / 1000);
    const span = (admittedAt[N - 1] - tStart) / 1000;
    // From /metrics: sessions opened per second over windows of >= 1 s.
    const perSecond = [];
    for (let i = 0, j = 0; j < samples.length; j++) {
      if (samples[j][0] - samples[i][0] < 1000) continue;
      const rate = ((samples[j][1] - samples[i][1]) * 1000) / (samples[j][0] - samples[i][0]);
      perSecond.push(`${rate.toFixed(0)}/s@${(samples[i][0] / 1000).toFixed(1)}s`);
      i = j;
    }
    t.diagnostic(
      `all ${N} admitted ${span.toFixed(2)} s after the storm began (client creation took ${tStart} ms); ${steady.toFixed(0)}/s from the ${K1}th to the ${K2}th admission; first ${admittedAt.filter((x) => x - tStart <= 250).length} within 250 ms; ` +
        `${rejected} refusals; sio_sessions_opened_total rate (window start): ${perSecond.join(", ")}; total ${connectedMs} ms`,
    );
    assert.ok(steady <= RATE * 1.2, `admitted ${steady.toFixed(0)}/s with clients waiting`);
    assert.ok(steady >= RATE * 0.6, `admitted only ${steady.toFixed(0)}/s with clients waiting`);

    // Everyone admitted works; then close them promptly.
    await echoAll(clients, 15_000);
    closeAll(clients.splice(0));
    await closeSessions(server);
  });
});

describe("admission: --max-per-address", () => {
  test("the 4th session from one address gets 429 + Retry-After; a freed place is available again", async (t) => {
    const { server } = await start(t, ["--max-per-address", "3"]);
    const sids = [];
    for (let i = 0; i < 3; i++) sids.push((await handshake(server)).sid);
    const res = await request(server, { path: eioPath() });
    assertRefused(res, 429, "4th handshake");
    const ws = await wsConnect(server, eioPath({ transport: "websocket" }));
    assertRefused(ws, 429, "4th handshake over WebSocket");
    // The existing sessions are unaffected.
    assert.equal((await post(server, sids[0], "40")).status, 200);
    assert.equal((await post(server, sids[2], "1")).status, 200);
    await waitFor(
      async () => {
        const r = await request(server, { path: eioPath() });
        if (r.status === 200) trackSid(server, JSON.parse(r.text.slice(1)).sid);
        return r.status === 200;
      },
      { what: "admitted after a session closed" },
    );
    assert.equal((await scrape(server)).get('sio_handshake_rejections_total{reason="per_address"}') >= 2, true);
  });
});

// ---------------------------------------------------------------------------
// Half-open sessions

/**
 * `n` polling handshakes that nobody follows up (GET, then nothing), `inFlight`
 * at a time on keep-alive connections from `addresses` (loopback ones; the
 * default 127.0.0.1), spread evenly: {answered(), counts (status or error
 * code -> number), done (a promise of counts)}.
 */
function handshakeFlood(server, n, { inFlight = 100, addresses = ["127.0.0.1"] } = {}) {
  const agents = addresses.map((localAddress) => new http.Agent({ keepAlive: true, localAddress }));
  const counts = {};
  let started = 0;
  let answered = 0;
  const count = (k) => {
    counts[k] = (counts[k] ?? 0) + 1;
    answered++;
  };
  const one = (agent) =>
    new Promise((resolve) => {
      const req = http.get({ host: "127.0.0.1", port: server.port, path: eioPath(), agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(count(res.statusCode)));
        res.on("error", (e) => resolve(count(e.code ?? e.message)));
      });
      req.setTimeout(15_000, () => req.destroy(new Error("no answer within 15 s")));
      req.on("error", (e) => resolve(count(e.code ?? e.message)));
    });
  const worker = async (_, i) => {
    while (started < n) {
      started++;
      await one(agents[i % agents.length]);
    }
  };
  const done = Promise.all(Array.from({ length: inFlight }, worker)).then(() => {
    agents.forEach((a) => a.destroy());
    return counts;
  });
  return { answered: () => answered, counts, done };
}

/** An HTTP agent whose connections leave from `address` (another loopback address). */
function agentFrom(address) {
  return new http.Agent({ keepAlive: true, localAddress: address });
}

/**
 * A socket.io-client from `address` on one transport (polling: through the
 * agent; WebSocket: localAddress, which engine.io-client hands to ws), checked
 * to work and to be seen by the server at that address: {socket, ms}.
 */
async function connectFrom(server, address, transport, agents, timeout) {
  const agent = agentFrom(address);
  agents.push(agent);
  const t0 = Date.now();
  const socket = await openSio(server.url, { transports: [transport], agent, localAddress: address }, { timeout });
  const ms = Date.now() - t0;
  assert.equal(socket.io.engine.transport.name, transport);
  const [hs] = await ack(socket, "handshake", [], 10_000);
  assert.equal(hs.address, address, "the server saw the client's own address");
  return { socket, ms };
}

/** The Engine.IO sessions open now (both transports), from /metrics. */
function sessionsOf(m) {
  return m.get('sio_sessions{transport="polling"}') + m.get('sio_sessions{transport="websocket"}');
}

describe("admission: half-open sessions", () => {
  test("a flood of 20,000 bare handshakes from one address locks nobody else out (default options)", { timeout: 240_000 }, async (t) => {
    const N = 20_000;
    const CAP = 1000; // the default --max-half-open-per-address
    const CONNECT_MS = 3000;
    const { server, clients } = await start(t, []);
    const agents = [];
    t.after(() => agents.forEach((a) => a.destroy()));

    let peakSessions = 0;
    let peakHalfOpen = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await scrape(server).catch(() => null);
        if (m) {
          peakSessions = Math.max(peakSessions, sessionsOf(m));
          peakHalfOpen = Math.max(peakHalfOpen, m.get("sio_sessions_half_open"));
        }
        await sleep(250);
      }
    })();
    t.after(async () => {
      sampling = false;
      await sampler.catch(() => {});
    });

    const flood = handshakeFlood(server, N, { inFlight: 100 });
    const timings = [];
    const connectBoth = async (what, { inFlood = false } = {}) => {
      const at = flood.answered();
      if (inFlood) assert.ok(at < N, `${what}: the flood was over before the clients started (${at} answers)`);
      // Both transports at once, from 127.0.0.2.
      const pair = await Promise.all(["polling", "websocket"].map((tr) => connectFrom(server, "127.0.0.2", tr, agents, CONNECT_MS)));
      for (const [i, c] of pair.entries()) {
        clients.push(c.socket);
        timings.push(`${what} ${i ? "websocket" : "polling"} ${c.ms} ms (flood at ${at})`);
        assert.ok(c.ms <= CONNECT_MS, `${what}: connected after ${c.ms} ms`);
      }
    };
    // Well past the cap, 429s flowing: twice during the flood.
    await waitFor(() => flood.answered() >= 3 * CAP, { timeout: 120_000, step: 20, what: "flood under way" });
    await connectBoth("during the flood", { inFlood: true });
    await waitFor(() => flood.answered() >= N / 2, { timeout: 120_000, step: 20, what: "flood half done" });
    await connectBoth("mid-flood", { inFlood: true });
    const counts = await flood.done;
    const floodEnd = Date.now();
    await sleep(1000);
    await connectBoth("1 s after");
    await sleep(Math.max(0, floodEnd + 10_000 - Date.now()));
    await connectBoth("10 s after");
    sampling = false;
    await sampler;

    // The flood was real: every handshake answered, and beyond the cap refused.
    const answers = (counts[200] ?? 0) + (counts[429] ?? 0) + (counts[503] ?? 0);
    t.diagnostic(`flood answers ${JSON.stringify(counts)}; peak sessions ${peakSessions}, peak half-open ${peakHalfOpen}; ${timings.join("; ")}`);
    assert.equal(answers, N, `answers other than 200/429/503: ${JSON.stringify(counts)}`);
    assert.ok(counts[200] >= CAP, `only ${counts[200]} handshakes admitted`);
    assert.ok(counts[429] >= N / 2, `only ${counts[429]} refused`);
    const m = await scrape(server);
    assert.equal(m.get('sio_handshake_rejections_total{reason="half_open_per_address"}'), counts[429]);
    assert.equal(m.get("sio_sessions_opened_total"), counts[200] + clients.length, "the flood's sessions and the clients'");
    // Bounded: the flood holds at most CAP sessions, beside the 8 clients.
    assert.ok(peakHalfOpen <= CAP + clients.length, `peak half-open ${peakHalfOpen}`);
    assert.ok(peakSessions <= CAP + clients.length, `peak sessions ${peakSessions}`);
    assert.ok(sessionsOf(m) <= CAP + clients.length);
    // The clients are established: only the flood is half-open.
    assert.ok(m.get("sio_sessions_half_open") <= CAP);
    assert.equal(m.get("sio_sessions_shed_total"), 0, "nothing shed below --max-connections");
    await echoAll(clients);
  });

  test("a flood from 5 addresses fills --max-connections: the oldest half-open sessions make room and clients still connect", { timeout: 240_000 }, async (t) => {
    // Each address stays under the default half-open cap (1000 of their 3,000
    // handshakes each): together they reach --max-connections, and every
    // newcomer sheds the oldest. A client's session would be shed only after
    // MAX newer handshakes, far longer than its round trip.
    const MAX = 4000;
    const N = 15_000;
    const { server, clients } = await start(t, ["--max-connections", String(MAX)]);
    const agents = [];
    t.after(() => agents.forEach((a) => a.destroy()));
    let peakSessions = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await scrape(server).catch(() => null);
        if (m) peakSessions = Math.max(peakSessions, sessionsOf(m));
        await sleep(250);
      }
    })();
    t.after(async () => {
      sampling = false;
      await sampler.catch(() => {});
    });
    const flood = handshakeFlood(server, N, { addresses: ["127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"] });
    await waitFor(async () => (await scrape(server)).get("sio_sessions_shed_total") > 0, { timeout: 120_000, what: "shedding under way" });
    const timings = [];
    for (const tr of ["polling", "websocket"]) {
      const at = flood.answered();
      const c = await connectFrom(server, "127.0.0.2", tr, agents, 3000);
      clients.push(c.socket);
      timings.push(`${tr} ${c.ms} ms (flood at ${at})`);
    }
    const counts = await flood.done;
    sampling = false;
    await sampler;
    const m = await scrape(server);
    t.diagnostic(`flood answers ${JSON.stringify(counts)}; shed ${m.get("sio_sessions_shed_total")}; peak sessions ${peakSessions}; ${timings.join("; ")}`);
    assert.equal((counts[200] ?? 0) + (counts[429] ?? 0) + (counts[503] ?? 0), N, `answers: ${JSON.stringify(counts)}`);
    assert.ok(counts[200] > MAX, `only ${counts[200]} flood handshakes admitted`);
    assert.ok(peakSessions <= MAX, `peak sessions ${peakSessions}`);
    // Every session closed was shed (nothing else closes in this time).
    const opened = m.get("sio_sessions_opened_total");
    assert.equal(opened, counts[200] + clients.length);
    assert.equal(m.get("sio_sessions_shed_total"), opened - sessionsOf(m));
    assert.equal(m.get('sio_handshake_rejections_total{reason="max_connections"}'), counts[503] ?? 0);
    await echoAll(clients);
  });

  test("--max-half-open-per-address 3: the 4th bare handshake gets 429 + Retry-After; a session that joins a namespace frees its place", async (t) => {
    const { server } = await start(t, ["--max-half-open-per-address", "3"]);
    const sids = [];
    for (let i = 0; i < 3; i++) sids.push((await handshake(server)).sid);
    assertRefused(await request(server, { path: eioPath() }), 429, "4th handshake");
    assertRefused(await wsConnect(server, eioPath({ transport: "websocket" })), 429, "4th handshake over WebSocket");
    // Joining "/" establishes the first: its place is free again, the others keep theirs.
    assert.equal((await post(server, sids[0], "40")).status, 200);
    await waitFor(async () => (await scrape(server)).get("sio_sessions_half_open") === 2, { what: "established" });
    sids.push((await handshake(server)).sid);
    assertRefused(await request(server, { path: eioPath() }), 429, "handshake with 3 half-open again");
    const m = await scrape(server);
    assert.equal(m.get('sio_handshake_rejections_total{reason="half_open_per_address"}'), 3);
    assert.equal(m.get('sio_handshake_rejections_total{reason="per_address"}'), 0);
    assert.equal(sessionsOf(m), 4);
    // Other addresses are not concerned.
    const agents = [];
    t.after(() => agents.forEach((a) => a.destroy()));
    const { socket } = await connectFrom(server, "127.0.0.2", "polling", agents, 10_000);
    closeAll([socket]);
  });

  test("at --max-connections the oldest half-open session makes room (its held GET answered), established ones never do", async (t) => {
    const MAX = 20;
    const { server, clients } = await start(t, ["--max-connections", String(MAX)]);
    // The oldest holds a GET; then 18 more polling ones and a WebSocket one.
    const oldest = (await handshake(server)).sid;
    const held = poll(server, oldest, { timeout: 15_000 });
    const polling = [];
    for (let i = 0; i < MAX - 2; i++) polling.push((await handshake(server)).sid);
    const w = await rawSioWebSocket(server, { connect: false });
    let m = await scrape(server);
    assert.equal(sessionsOf(m), MAX);
    assert.equal(m.get("sio_sessions_half_open"), MAX);

    // A newcomer sheds the oldest: its held GET is answered with the close packet.
    clients.push(await openSio(server.url, { transports: ["websocket"] }));
    const r = await held;
    assert.deepEqual([r.status, r.text], [200, "1"], "the shed session's held GET");
    // The next one sheds the next oldest, which had no GET: it is gone.
    clients.push(await openSio(server.url, { transports: ["polling"] }));
    const gone = await post(server, polling[0], "40");
    assert.equal(gone.status, 400);
    assert.equal(JSON.parse(gone.text).code, 1, "Session ID unknown");
    m = await scrape(server);
    assert.equal(m.get("sio_sessions_shed_total"), 2);
    assert.ok(sessionsOf(m) <= MAX);

    // 17 more take the other polling sessions' places, then the WebSocket one's.
    clients.push(...(await openMany(server.url, MAX - 3, (i) => ({ transports: [i % 2 ? "polling" : "websocket"] }), { parallel: 1 })));
    assert.equal(w.ws.closed, false, "the WebSocket session is the last half-open one");
    clients.push(await openSio(server.url, { transports: ["polling"] }));
    assert.ok(await w.ws.waitClosed(5000), "the shed WebSocket session was closed");
    m = await scrape(server);
    assert.equal(m.get("sio_sessions_shed_total"), MAX);
    assert.equal(m.get("sio_sessions_half_open"), 0);
    assert.equal(sessionsOf(m), MAX);

    // All established: a newcomer gets 503, nobody is shed, everyone works.
    assertRefused(await request(server, { path: eioPath(), timeout: 5000 }), 503, "handshake with every session established");
    await assert.rejects(openSio(server.url, { transports: ["websocket"] }, { timeout: 5000 }), /connect_error/);
    m = await scrape(server);
    assert.equal(m.get("sio_sessions_shed_total"), MAX);
    assert.equal(m.get('sio_handshake_rejections_total{reason="max_connections"}'), 2);
    await echoAll(clients);
  });

  test("eio-echo: a bare Engine.IO echo's sessions are established when they open (idle clients are not capped)", async (t) => {
    const server = await startServerWith(defaultBin(), { args: ["--app", "eio-echo", "--max-half-open-per-address", "2"] });
    t.after(async () => {
      await closeSessions(server);
      await server.stop();
    });
    // An Engine.IO-only app has no handshake after the transport's: its
    // idle clients (that only answer pings) must not count as half-open.
    for (let i = 0; i < 5; i++) assert.equal((await request(server, { path: eioPath() })).status, 200, `handshake ${i + 1}`);
    const m = await scrape(server);
    assert.equal(m.get("sio_sessions_half_open"), 0);
    assert.equal(m.get('sio_handshake_rejections_total{reason="half_open_per_address"}'), 0);
  });

});
