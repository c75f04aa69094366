// Reliability: observability (issue 7, "/metrics values asserted against a
// known sequence of events"). One fresh server, a scripted sequence of
// sessions, messages, refusals, drops and disconnects, and after each step the
// exact values (or deltas) of the sio_* metrics. Pings are pushed out of the
// way (--ping-interval 60000) so that only the scripted traffic counts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { closeSessions, eioPath, handshake, post, request, SEP, trackSid, wsConnect } from "./lib/eio.mjs";
import { rawPolling } from "./lib/sio.mjs";
import { ack, closeAll, defaultBin, httpGet, openSio, parseMetrics, rawSioWebSocket, scrape, sleep, startServerWith, waitFor } from "./lib/reliability.mjs";

const REASONS = ["max_connections", "handshake_rate", "per_address", "forbidden", "bad_request", "unknown_sid", "bad_method", "protocol_version", "transport_unknown", "half_open_per_address"];
const rej = (r) => `sio_handshake_rejections_total{reason="${r}"}`;
const bytes = (s) => Buffer.byteLength(s, "utf8");

let server;
const polling = []; // rawPolling sessions connected to "/"
const websockets = []; // rawSioWebSocket sessions connected to "/"
const others = []; // socket.io-client sockets
let last; // the previous scrape

/** Scrapes and returns the changes since the previous call for the given keys. */
async function delta(keys) {
  const now = await scrape(server);
  const d = {};
  for (const k of keys) d[k] = now.get(k) - last.get(k);
  last = now;
  return d;
}

/** Polling GET that answers at once (something is queued): the packets. */
async function pollPackets(p) {
  const r = await p.get({ timeout: 5000 });
  assert.equal(r.status, 200);
  return r.text.split(SEP);
}

before(async () => {
  server = await startServerWith(defaultBin(), {
    args: ["--app", "testkit", "--ping-interval", "60000", "--ping-timeout", "60000", "--max-buffered", "65536", "--cors-origin", "http://allowed.example"],
  });
  last = await scrape(server);
});

after(async () => {
  closeAll(others);
  for (const w of websockets) w.ws.destroy();
  if (server) {
    await closeSessions(server);
    await server.stop();
  }
});

describe("metrics: /metrics and /healthz against a known sequence of events", () => {
  test("exposition format 0.0.4; a fresh server starts from zero; /healthz answers 200", async () => {
    const r = await httpGet(server, "/metrics");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/plain; version=0.0.4");
    assert.ok(r.text.endsWith("\n"), "the exposition ends with a newline");
    const values = parseMetrics(r.text);
    // Every family has HELP and TYPE before its samples; names are sio_*;
    // counters end in _total.
    const types = new Map();
    const helped = new Set();
    for (const line of r.text.split("\n")) {
      let m;
      if ((m = /^# HELP (\S+) \S/.exec(line))) helped.add(m[1]);
      else if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) types.set(m[1], m[2]);
      else if (line && !line.startsWith("#")) {
        const name = /^[^{ ]+/.exec(line)[0];
        assert.ok(name.startsWith("sio_"), `metric ${name} is not prefixed sio_`);
        assert.ok(types.has(name) && helped.has(name), `${name}: sample before its # HELP/# TYPE`);
        if (types.get(name) === "counter") assert.ok(name.endsWith("_total"), `counter ${name} does not end in _total`);
      } else if (line.startsWith("#")) assert.fail(`unexpected comment line ${JSON.stringify(line)}`);
    }
    const zero = {
      'sio_sessions{transport="polling"}': 0,
      'sio_sessions{transport="websocket"}': 0,
      sio_sessions_opened_total: 0,
      sio_sessions_closed_total: 0,
      sio_upgrades_total: 0,
      sio_packets_received_total: 0,
      sio_packets_sent_total: 0,
      sio_bytes_received_total: 0,
      sio_bytes_sent_total: 0,
      sio_volatile_dropped_total: 0,
      sio_backpressure_disconnects_total: 0,
      sio_sockets: 0,
      sio_rooms: 0,
      sio_namespaces: 2, // "/" and "/admin" (test/apps/testkit.c)
    };
    for (const [k, v] of Object.entries(zero)) assert.equal(values.get(k), v, k);
    for (const reason of REASONS) {
      // The harness's readiness probe asks for an unknown sid.
      if (reason === "unknown_sid") assert.ok(values.get(rej(reason)) >= 1);
      else assert.equal(values.get(rej(reason)), 0, reason);
    }
    const lag = values.get("sio_event_loop_lag_seconds");
    assert.ok(lag >= 0 && lag < 1, `event loop lag ${lag}`);
    assert.ok(values.get("sio_event_loop_lag_max_seconds") >= lag);

    const h = await httpGet(server, "/healthz");
    assert.equal(h.status, 200);
    assert.deepEqual(JSON.parse(h.text), { status: "ok" });
    last = await scrape(server);
  });

  test("3 polling and 2 WebSocket sessions: sio_sessions by transport, opened, sockets, CONNECT packets", async () => {
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const p = await rawPolling(server);
      trackSid(server, p.sid);
      assert.equal((await p.post("40")).status, 200);
      const [connect] = await pollPackets(p);
      answers.push(connect);
      p.socketId = JSON.parse(connect.slice(2)).sid;
      polling.push(p);
    }
    for (let i = 0; i < 2; i++) {
      const w = await rawSioWebSocket(server);
      answers.push(w.connectPacket);
      websockets.push(w);
    }
    const now = await scrape(server);
    assert.equal(now.get('sio_sessions{transport="polling"}'), 3);
    assert.equal(now.get('sio_sessions{transport="websocket"}'), 2);
    assert.equal(now.get("sio_sessions_opened_total"), 5);
    assert.equal(now.get("sio_sessions_closed_total"), 0);
    assert.equal(now.get("sio_sockets"), 5);
    // Five CONNECT packets in ("40": 1 byte after the Engine.IO type), five answers out.
    assert.equal(now.get("sio_packets_received_total"), 5);
    assert.equal(now.get("sio_bytes_received_total"), 5);
    assert.equal(now.get("sio_packets_sent_total"), 5);
    assert.equal(now.get("sio_bytes_sent_total"), answers.reduce((n, a) => n + bytes(a) - 1, 0));
    last = now;
  });

  test("N messages in: packets_received grows by N, bytes by their size; the answers are counted out", async () => {
    const keys = ["sio_packets_received_total", "sio_bytes_received_total", "sio_packets_sent_total", "sio_bytes_sent_total"];
    const sentIn = [];
    const gotOut = [];
    // 20 events with acks over WebSocket.
    const w = websockets[0];
    for (let i = 0; i < 20; i++) {
      const msg = `42${i}["echo",${i},"é"]`;
      w.ws.send(msg);
      sentIn.push(msg);
      const m = await w.ws.nextText();
      assert.equal(m.data, `43${i}[${i},"é"]`);
      gotOut.push(m.data);
    }
    // 5 events without acks in one polling POST: each is echoed with an "echo" event.
    const p = polling[0];
    const batch = [0, 1, 2, 3, 4].map((i) => `42["echo","poll-${i}"]`);
    assert.equal((await p.post(batch.join(SEP))).status, 200);
    sentIn.push(...batch);
    const packets = [];
    while (packets.length < 5) packets.push(...(await pollPackets(p)));
    assert.deepEqual(packets, [0, 1, 2, 3, 4].map((i) => `42["echo","poll-${i}"]`));
    gotOut.push(...packets);
    assert.deepEqual(await delta(keys), {
      sio_packets_received_total: 25,
      sio_bytes_received_total: sentIn.reduce((n, s) => n + bytes(s) - 1, 0),
      sio_packets_sent_total: 25,
      sio_bytes_sent_total: gotOut.reduce((n, s) => n + bytes(s) - 1, 0),
    });
  });

  test("rooms: two sockets join one room (sio_rooms 1); a room broadcast counts one packet and its bytes per receiver", async () => {
    const w = websockets[1];
    const p = polling[1];
    w.ws.send('421["join","metrics-room"]');
    assert.equal((await w.ws.nextText()).data, '431["ok"]');
    await p.post('421["join","metrics-room"]');
    assert.deepEqual(await pollPackets(p), ['431["ok"]']);
    const now = await scrape(server);
    assert.equal(now.get("sio_rooms"), 1);
    last = now;
    // The WebSocket client broadcasts to the room (itself included), with an ack.
    w.ws.send('422["to","metrics-room","hello","x"]');
    const ws1 = await w.ws.nextText();
    const ws2 = await w.ws.nextText();
    const wsGot = [ws1.data, ws2.data].sort();
    assert.deepEqual(wsGot, ['42["hello","x"]', '432["ok"]']);
    const pollGot = await pollPackets(p);
    assert.deepEqual(pollGot, ['42["hello","x"]']);
    const d = await delta(["sio_packets_received_total", "sio_packets_sent_total", "sio_bytes_sent_total"]);
    assert.equal(d.sio_packets_received_total, 1);
    assert.equal(d.sio_packets_sent_total, 3, "two broadcast copies and the ack");
    // sio_bytes_sent_total: "Engine.IO message bytes queued for clients", as
    // for direct emits (the previous test): the message, not its framing.
    assert.equal(d.sio_bytes_sent_total, [...wsGot, ...pollGot].reduce((n, s) => n + bytes(s) - 1, 0), "bytes counted for the broadcast copies");
  });

  test("refused requests appear under sio_handshake_rejections_total{reason}", async () => {
    const keys = REASONS.map(rej);
    const expectCode = async (req, status, code) => {
      const r = await req;
      assert.equal(r.status, status, `${r.status} ${r.text}`);
      assert.equal(JSON.parse(r.text).code, code);
    };
    await expectCode(request(server, { path: eioPath({ transport: "carrier-pigeon" }) }), 400, 0);
    await expectCode(request(server, { path: eioPath({ sid: "AAAAAAAAAAAAAAAAAAAA" }) }), 400, 1);
    await expectCode(request(server, { method: "POST", path: eioPath(), body: "40" }), 400, 2);
    await expectCode(request(server, { path: eioPath({ transport: "websocket" }) }), 400, 3); // no Upgrade headers
    await expectCode(request(server, { path: eioPath(), headers: { Origin: "http://evil.example" } }), 403, 4);
    await expectCode(request(server, { path: eioPath({ EIO: "3" }) }), 400, 5);
    const d = await delta(keys);
    assert.deepEqual(d, {
      [rej("max_connections")]: 0,
      [rej("handshake_rate")]: 0,
      [rej("per_address")]: 0,
      [rej("forbidden")]: 1,
      [rej("bad_request")]: 1,
      [rej("unknown_sid")]: 1,
      [rej("bad_method")]: 1,
      [rej("protocol_version")]: 1,
      [rej("transport_unknown")]: 1,
      [rej("half_open_per_address")]: 0,
    });
    // No session was opened by any of them.
    assert.equal(last.get("sio_sessions_opened_total"), 5);
  });

  test("capacity refusals: max_connections, handshake_rate, per_address (servers of their own)", async (t) => {
    const counts = async (s) => {
      const m = await scrape(s);
      return Object.fromEntries(["max_connections", "handshake_rate", "per_address"].map((r) => [r, m.get(rej(r))]));
    };
    const b = await startServerWith(defaultBin(), { args: ["--app", "testkit", "--max-handshake-rate", "1", "--max-per-address", "1"] });
    // --max-connections also caps HTTP connections: 2 leaves room for the
    // refused request itself next to nothing held (see reliability_admission).
    const c = await startServerWith(defaultBin(), { args: ["--app", "testkit", "--max-connections", "2"] });
    t.after(async () => {
      await closeSessions(b);
      await closeSessions(c);
      await b.stop();
      await c.stop();
    });
    await handshake(b);
    assert.equal((await request(b, { path: eioPath() })).status, 503); // the bucket (1/s) is empty
    await sleep(1100);
    assert.equal((await request(b, { path: eioPath() })).status, 429); // a token, but one session per address
    assert.deepEqual(await counts(b), { max_connections: 0, handshake_rate: 1, per_address: 1 });
    // Established (namespace "/" joined): a half-open session would be shed
    // to make room instead (reliability_admission).
    for (let i = 0; i < 2; i++) assert.equal((await post(c, (await handshake(c)).sid, "40")).status, 200);
    await waitFor(async () => (await scrape(c)).get("sio_sessions_half_open") === 0, { what: "sessions established" });
    assert.equal((await request(c, { path: eioPath() })).status, 503);
    const ws = await wsConnect(c, eioPath({ transport: "websocket" }));
    assert.equal(ws.status, 503);
    assert.deepEqual(await counts(c), { max_connections: 2, handshake_rate: 0, per_address: 0 });
  });

  test("a volatile packet for a polling client without a pending GET is dropped and counted", async () => {
    const p = polling[2];
    assert.equal((await p.post('42["volatile","lost"]')).status, 200);
    assert.deepEqual(await delta(["sio_volatile_dropped_total", "sio_packets_received_total", "sio_packets_sent_total"]), {
      sio_volatile_dropped_total: 1,
      sio_packets_received_total: 1,
      sio_packets_sent_total: 0,
    });
    // It never arrives: the next answer holds only what came after it.
    await p.post('421["echo","after"]');
    assert.deepEqual(await pollPackets(p), ['431["after"]']);
    // Over WebSocket (ready) the volatile packet goes out and nothing is dropped.
    const w = websockets[0];
    w.ws.send('42["volatile","kept"]');
    assert.equal((await w.ws.nextText()).data, '42["volatile","kept"]');
    assert.equal((await delta(["sio_volatile_dropped_total"])).sio_volatile_dropped_total, 0);
  });

  test("a backpressure disconnect bumps its counter and closes the session", async () => {
    // A WebSocket client that stops reading, in a room flooded with 1 MB at
    // once (--max-buffered 64 KiB).
    const slow = await rawSioWebSocket(server);
    websockets.push(slow);
    slow.ws.send('421["join","bp"]');
    assert.equal((await slow.ws.nextText()).data, '431["ok"]');
    slow.ws.sock.pause();
    let d = await delta(["sio_sessions_opened_total"]);
    assert.equal(d.sio_sessions_opened_total, 1);
    const ctl = await openSio(server.url, { transports: ["websocket"] });
    others.push(ctl);
    await ack(ctl, "flood", [{ room: "bp", count: 250, size: 4096, interval: 0 }]);
    await waitFor(async () => (await scrape(server)).get("sio_backpressure_disconnects_total") === 1, { what: "backpressure disconnect counted" });
    const now = await scrape(server);
    assert.equal(now.get('sio_sessions{transport="websocket"}'), 3, "2 raw + the control client; the slow one is gone");
    assert.equal(now.get("sio_sessions_closed_total"), 1);
    assert.equal(now.get("sio_sockets"), 6);
    last = now;
  });

  test("an upgrade from polling to WebSocket moves the session between the gauges", async () => {
    const before = await scrape(server);
    const s = await openSio(server.url, { transports: ["polling", "websocket"], upgrade: true });
    others.push(s);
    await waitFor(() => s.io.engine.transport.name === "websocket", { what: "upgrade" });
    await waitFor(async () => (await scrape(server)).get("sio_upgrades_total") === before.get("sio_upgrades_total") + 1, { what: "upgrade counted" });
    const now = await scrape(server);
    assert.equal(now.get('sio_sessions{transport="polling"}'), before.get('sio_sessions{transport="polling"}'));
    assert.equal(now.get('sio_sessions{transport="websocket"}'), before.get('sio_sessions{transport="websocket"}') + 1);
    last = now;
  });

  test("a dynamic namespace counts in sio_namespaces", async () => {
    const w = websockets[0];
    w.ws.send("40/dyn-metrics,");
    assert.match((await w.ws.nextText()).data, /^40\/dyn-metrics,\{"sid":/);
    const now = await scrape(server);
    assert.equal(now.get("sio_namespaces"), 3);
    assert.equal(now.get("sio_sockets"), last.get("sio_sockets") + 1);
    last = now;
  });

  test("when everyone has left the gauges are back to zero and closed equals opened", async () => {
    closeAll(others.splice(0));
    for (const w of websockets.splice(0)) w.ws.close();
    await closeSessions(server);
    await waitFor(
      async () => {
        const m = await scrape(server);
        return m.get('sio_sessions{transport="polling"}') === 0 && m.get('sio_sessions{transport="websocket"}') === 0;
      },
      { what: "all sessions closed" },
    );
    const m = await scrape(server);
    assert.equal(m.get("sio_sockets"), 0);
    assert.equal(m.get("sio_rooms"), 0);
    assert.equal(m.get("sio_sessions_closed_total"), m.get("sio_sessions_opened_total"));
  });
});
