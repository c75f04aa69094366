// A reconnect storm on a surviving node (issue 12 point 7): 5,000 clients of
// a node that died come back at once to one sio-server node (--adapter
// redis-streams --recovery-window 120000), each with its pid and offset; their
// session records are in Redis (written as the reference writes them: SET
// sio:session:<pid> base64(msgpack({sid, pid, rooms, data}))) and 20 room
// messages were added to the stream after their offset. Every client must be
// recovered with its 20 missed messages, and the node must stay responsive:
// its event-loop lag (the runtime's 100 ms probe, /metrics) is sampled every
// 100 ms during the storm and stays bounded (generously: the box is shared),
// because restores are bounded work: at most 32 read Redis at a time, each
// in XRANGE batches, the rest wait in order. The figures are printed.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { encode } from "@msgpack/msgpack";
import { createClient } from "redis";
import WebSocket from "ws";

import { scrape } from "./lib/reliability.mjs";
import { startCNode, startRedis, waitStreamsReady } from "./lib/redis.mjs";

const N = Number(process.env.SIO_STORM_CLIENTS || 5000);
const MISSED = 20;
const PARALLEL = 500; // connections being opened at once by this process
// 20-character ids, as socket.io's (base64id) and sio-server's.
const sid = (k) => `s${String(k).padStart(19, "0")}`;
const pid = (k) => `p${String(k).padStart(19, "0")}`;

describe(`a storm of ${N} restores on one node`, () => {
  let redis = null;
  let node = null;
  let offset = null;
  before(async () => {
    redis = await startRedis();
    node = await startCNode(redis.url, { args: ["--adapter", "redis-streams", "--recovery-window", "120000"] });
    await waitStreamsReady(redis.port, 1, { nsps: ["/"] });
    const c = createClient({ url: redis.url });
    await c.connect();
    const dead = "deadbeefdeadbeef"; // the node that died
    offset = await c.xAdd("socket.io", "*", { uid: dead, nsp: "/", type: "3", data: JSON.stringify({ packet: { type: 2, data: ["msg", 0] }, opts: { rooms: ["r"], except: [], flags: {} } }) });
    for (let i = 1; i <= MISSED; i++)
      await c.xAdd("socket.io", "*", { uid: dead, nsp: "/", type: "3", data: JSON.stringify({ packet: { type: 2, data: ["msg", i] }, opts: { rooms: ["r"], except: [], flags: {} } }) });
    for (let i = 0; i < N; i += 500) {
      const m = c.multi();
      for (let k = i; k < Math.min(N, i + 500); k++) {
        const rec = { sid: sid(k), pid: pid(k), rooms: [sid(k), "r"], data: {} };
        m.set(`sio:session:${pid(k)}`, Buffer.from(encode(rec)).toString("base64"), { PX: 120000 });
      }
      await m.exec();
    }
    await c.quit();
  });
  after(async () => {
    if (node) await node.stop();
    if (redis) await redis.stop();
  });

  test("every client is recovered with its missed messages; the event loop stays responsive", async () => {
    const url = node.url.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket";
    const lags = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await scrape(node);
        lags.push(m.get("sio_event_loop_lag_seconds"));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const sockets = [];
    const results = new Array(N);
    const restore = (i) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        const r = { sid: null, missed: [], t0: Date.now(), ms: 0 };
        const timer = setTimeout(() => reject(new Error(`client ${i}: not restored within 60 s (${JSON.stringify(r)})`)), 60_000);
        ws.on("error", (e) => {
          clearTimeout(timer);
          reject(new Error(`client ${i}: ${e.message}`));
        });
        ws.on("message", (d) => {
          const s = d.toString();
          if (s[0] === "0") ws.send(`40${JSON.stringify({ pid: pid(i), offset })}`);
          else if (s === "2") ws.send("3");
          else if (s.startsWith("40")) r.sid = JSON.parse(s.slice(2)).sid;
          else if (s.startsWith("42")) r.missed.push(JSON.parse(s.slice(2))[1]); // [event, n, offset]
          if (r.sid && r.missed.length === MISSED) {
            clearTimeout(timer);
            r.ms = Date.now() - r.t0;
            results[i] = r;
            resolve();
          }
        });
      });
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < N) await restore(next++);
      }),
    );
    const wall = Date.now() - t0;
    sampling = false;
    await sampler;
    const lagMax = (await scrape(node)).get("sio_event_loop_lag_max_seconds"); // since start
    for (const ws of sockets) ws.terminate();

    const want = Array.from({ length: MISSED }, (_, k) => k + 1);
    for (let i = 0; i < N; i++) {
      assert.equal(results[i].sid, sid(i), `client ${i} got its id back`);
      assert.deepEqual(results[i].missed.map((x) => x), want, `client ${i}: its ${MISSED} missed messages, in order`);
    }
    const sorted = [...lags].sort((a, b) => a - b);
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    const q = (v, p) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
    const line = `storm: ${N} restores in ${wall} ms (${Math.round((N * 1000) / wall)}/s); restore latency p50 ${q(ms, 0.5)} ms p99 ${q(ms, 0.99)} ms; ` + `event-loop lag over ${lags.length} samples: p50 ${(q(sorted, 0.5) * 1000).toFixed(1)} ms, p99 ${(q(sorted, 0.99) * 1000).toFixed(1)} ms, max ${(sorted.at(-1) * 1000).toFixed(1)} ms; largest since start ${(lagMax * 1000).toFixed(1)} ms`;
    console.log(line);
    // Generous: a shared 2-core box, this process opening the connections.
    assert.ok(lagMax < 2.0, `event-loop lag reached ${lagMax} s: ${line}`);
  });
});
