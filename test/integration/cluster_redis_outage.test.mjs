// Redis killed (SIGKILL) and restarted on the same port while two sio-server
// nodes (--app clusterkit) serve clients: local delivery never stops (echo
// acks, local room messages, local fetch / server-side emit / broadcast with
// acks answer at once), the outage is logged once per connection, there is no
// busy loop, publish attempts during the outage do not grow the node's RSS
// (VmRSS of /proc/PID/status) by more than a few MiB, and cross-node delivery
// resumes within 5 s of Redis answering again, exactly once. Also: Redis
// unreachable when the nodes start, and requests still waiting on a stalled
// Redis (SIGSTOP) when their timeout comes.
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, describe, test } from "node:test";

import { laterPort } from "./lib/server.mjs";
import { isReference, rssKiB, startCNode, startRedis, useRedisCluster, waitSubscribers } from "./lib/redis.mjs";
import { SIO_MODES, connect, emitAck, normalize, sleep, until } from "./lib/sio.mjs";

const WS = SIO_MODES["WebSocket only"];
const OUTAGE_MS = 4000;
const RSS_GROWTH_MAX_KIB = 4096;
const SPAM = 5000;
const PAD = "p".repeat(2048);

const msgs = (s) => s.received.filter((e) => e.event === "msg").map((e) => normalize(e.args));
const has = (s, tag) => msgs(s).some((m) => m[0] === tag);

/** CPU seconds (user + system) used so far by a process. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (CLK_TCK 100)
}

/** A message from `from` to `room`, which `to` must receive within `timeout` ms. */
async function roundTrip(from, to, room, tag, timeout = 1000) {
  from.emit("to", room, tag);
  await until(() => has(to, tag), { timeout, step: 5, what: `"${tag}" delivered` });
}

// The Node.js reference (SIO_TEST_TARGET=reference) queues commands while
// Redis is away (its fetchSockets waits for the timeout), so these checks are
// for sio-server only.
const SKIP = isReference && "sio-server behaviour (the reference queues commands while Redis is away)";

describe("Redis adapter: Redis killed and restarted during a run", { skip: SKIP }, () => {
  // A small ASan quarantine (ignored without ASan), so that RSS follows what
  // the node really keeps rather than the freed blocks ASan holds back.
  const asan = [process.env.ASAN_OPTIONS, "quarantine_size_mb=1"].filter(Boolean).join(":");
  const cl = useRedisCluster({ cNodes: 2, env: { ASAN_OPTIONS: asan } });

  test("local delivery never stops, memory stays bounded, cross-node delivery resumes within 5 s", async (t) => {
    const [A, B] = cl.c;
    const redis = cl.redis;
    const o = "o";
    const ob = "only-b";
    const [a1, a2] = await Promise.all([connect(t, A, WS), connect(t, A, WS)]);
    const [b1, b2] = await Promise.all([connect(t, B, WS), connect(t, B, WS)]);
    for (const s of [a1, a2, b1, b2]) await emitAck(s, "join", o);
    await emitAck(b2, "join", ob);

    // Before: cross-node delivery works.
    await roundTrip(a1, b1, o, "pre-a");
    await roundTrip(b1, a2, o, "pre-b");

    // Warm-up of the publish path (a1 -> room only-b, whose only member is on B),
    // so that the allocator is in its steady state before measuring.
    const spam = async (tag) => {
      for (let i = 0; i < SPAM; i++) a1.emit("to", ob, { tag, i, PAD });
      await emitAck(a1, "echo", "flush"); // events of a socket are handled in order
    };
    await spam("warm");
    await until(() => msgs(b2).filter((m) => m[0]?.tag === "warm").length === SPAM, { timeout: 20_000, step: 20, what: "warm-up delivered" });
    await sleep(300);
    const rssBefore = rssKiB(A.proc.pid);
    const stderrBefore = A.stderr().length;

    // Outage.
    await redis.kill();
    const outageStart = Date.now();
    let k = 0;
    const localChecks = async () => {
      const n = k++;
      assert.deepEqual(await emitAck(a1, "echo", n), [n]);
      await roundTrip(a1, a2, o, `local-a-${n}`);
      await roundTrip(b1, b2, o, `local-b-${n}`);
    };
    await localChecks();

    // Cluster operations answer with what the node knows, at once.
    let t0 = Date.now();
    const [sockets, st] = await emitAck(a1, "fetch", o);
    assert.ok(Date.now() - t0 < 1000, `fetch during the outage took ${Date.now() - t0} ms`);
    assert.equal(st, "ok");
    for (const s of [a1, a2]) assert.ok(sockets.some((x) => x.id === s.id), "fetch during the outage misses a local socket");
    t0 = Date.now();
    assert.deepEqual(await emitAck(a1, "server-emit", "echo", 1), [[], "ok"]);
    assert.ok(Date.now() - t0 < 1000, `server-side emit during the outage took ${Date.now() - t0} ms`);
    for (const s of [a1, a2]) s.on("q", (x, cb) => cb(s.id));
    t0 = Date.now();
    const [bres] = await emitAck(a1, "broadcast-ack", o, "q", 0, 2000);
    assert.ok(Date.now() - t0 < 1000, `broadcast with acks during the outage took ${Date.now() - t0} ms`);
    assert.equal(bres.status, "ok");
    assert.deepEqual([...bres.responses].sort(), [a1.id, a2.id].sort());

    // Publish attempts during the outage: the node's memory stays bounded.
    await spam("outage");
    await sleep(300);
    const rssAfter = rssKiB(A.proc.pid);
    t.diagnostic(`RSS of node A: ${rssBefore} KiB before the outage, ${rssAfter} KiB after ${SPAM} publish attempts of ${PAD.length} bytes during it`);
    assert.ok(rssAfter - rssBefore <= RSS_GROWTH_MAX_KIB, `RSS grew by ${rssAfter - rssBefore} KiB during the outage`);
    assert.equal(msgs(b2).filter((m) => m[0]?.tag === "outage").length, 0, "a message crossed while Redis was down");

    // No busy loop: an idle node uses (almost) no CPU while it retries.
    const cpu0 = cpuSeconds(A.proc.pid);
    await sleep(1000);
    const cpu = cpuSeconds(A.proc.pid) - cpu0;
    assert.ok(cpu < 0.2, `node A used ${cpu.toFixed(2)} s of CPU in 1 s idle during the outage`);

    // Local delivery during the rest of the outage.
    while (Date.now() - outageStart < OUTAGE_MS) {
      await localChecks();
      await sleep(100);
    }

    // Restart on the same port; cross-node delivery must resume within 5 s.
    await redis.restart();
    const back = Date.now();
    let resumedAB = null;
    let resumedBA = null;
    for (let i = 0; (resumedAB === null || resumedBA === null) && Date.now() - back < 8000; i++) {
      const ta = `resume-a-${i}`;
      const tb = `resume-b-${i}`;
      a1.emit("to", o, ta);
      b1.emit("to", o, tb);
      await sleep(50);
      // Local delivery goes on meanwhile.
      await until(() => has(a2, ta), { timeout: 1000, step: 5, what: `local delivery of ${ta} on A after the restart` });
      if (resumedAB === null && msgs(b1).some((m) => typeof m[0] === "string" && m[0].startsWith("resume-a-"))) resumedAB = Date.now() - back;
      if (resumedBA === null && msgs(a1).some((m) => typeof m[0] === "string" && m[0].startsWith("resume-b-"))) resumedBA = Date.now() - back;
    }
    t.diagnostic(`cross-node delivery resumed ${resumedAB} ms (A->B) and ${resumedBA} ms (B->A) after Redis answered again`);
    assert.ok(resumedAB !== null && resumedAB <= 5000, `A->B resumed after ${resumedAB} ms`);
    assert.ok(resumedBA !== null && resumedBA <= 5000, `B->A resumed after ${resumedBA} ms`);
    await waitSubscribers(redis.port, 2, { nsps: ["/", "/admin"] });

    // Exactly once after the reconnection (no doubled subscriptions).
    await emitAck(a1, "to", o, "after", Buffer.from([1, 2]));
    await until(() => [a2, b1, b2].every((s) => has(s, "after")), { what: "after delivered" });
    await sleep(300);
    for (const s of [a1, a2, b1, b2]) assert.equal(msgs(s).filter((m) => m[0] === "after").length, 1);
    assert.deepEqual(msgs(b2).find((m) => m[0] === "after"), ["after", { bin: "0102" }]);

    // The outage is logged once per connection (pub and sub), not per retry.
    for (const [name, node] of [["A", A], ["B", B]]) {
      const log = node.stderr().slice(name === "A" ? stderrBefore : 0);
      const downs = log.split("\n").filter((l) => /unreachable/.test(l)).length;
      assert.ok(downs >= 1 && downs <= 2, `node ${name} logged the outage ${downs} times:\n${log}`);
    }
  });

  test("requests waiting on a stalled Redis (SIGSTOP) time out, and its late answers are harmless", async (t) => {
    const [A] = cl.c;
    const redis = cl.redis;
    if (!redis.pid()) await redis.restart(); // the test before failed during its outage
    const a1 = await connect(t, A, WS);
    await emitAck(a1, "join", "stall");
    a1.on("q", (x, cb) => cb("a1"));
    process.kill(redis.pid(), "SIGSTOP");
    let resumed = false;
    const resume = () => {
      if (!resumed) process.kill(redis.pid(), "SIGCONT");
      resumed = true;
    };
    t.after(resume);
    // Each asks Redis for PUBSUB NUMSUB first, which stays unanswered.
    const ack = (...args) =>
      new Promise((resolve, reject) => a1.timeout(9000).emit(...args, (err, ...res) => (err ? reject(new Error(`no ack for ${args[0]}`)) : resolve(res))));
    const t0 = Date.now();
    const [[sockets, fetchStatus], [responses, emitStatus], [bres]] = await Promise.all([
      ack("fetch", null),
      ack("server-emit", "echo", 1),
      ack("broadcast-ack", "stall", "q", 0, 1000),
    ]);
    t.diagnostic(`answers during the stall after ${Date.now() - t0} ms: fetch ${fetchStatus}, server-emit ${emitStatus} ${JSON.stringify(responses)}, broadcast-ack ${bres.status}`);
    assert.ok(sockets.some((s) => s.id === a1.id), "fetch during the stall lost the local sockets");
    assert.equal(bres.status, "timeout");
    assert.deepEqual(bres.responses, ["a1"]);
    // Redis answers the NUMSUB commands now, long after the requests ended.
    resume();
    await sleep(1000);
    const report = () => {
      const e = A.stderr();
      const at = Math.max(0, e.search(/ERROR: AddressSanitizer|runtime error/));
      return e.slice(at, at + 2500);
    };
    assert.equal(A.proc.exitCode, null, `node A died when the stalled Redis answered:\n${report()}`);
    assert.ok(!/AddressSanitizer|runtime error/.test(A.stderr()), `sanitizer report on node A:\n${report()}`);
    assert.deepEqual(await emitAck(a1, "echo", "alive"), ["alive"]);
  });
});

describe("Redis adapter: Redis unreachable when the nodes start", { skip: SKIP }, () => {
  const procs = [];
  after(async () => {
    const r = await Promise.allSettled(procs.map((p) => p.stop()));
    const bad = r.find((x) => x.status === "rejected");
    if (bad) throw bad.reason;
  });

  test("the nodes serve their clients at once and join the cluster when Redis comes up", async (t) => {
    const port = await laterPort();
    const url = `redis://127.0.0.1:${port}`;
    const [A, B] = await Promise.all([startCNode(url), startCNode(url)]);
    procs.push(A, B);
    const [a1, a2] = await Promise.all([connect(t, A, WS), connect(t, A, WS)]);
    const b1 = await connect(t, B, WS);
    for (const s of [a1, a2, b1]) await emitAck(s, "join", "u");
    assert.deepEqual(await emitAck(a1, "echo", 1), [1]);
    await roundTrip(a1, a2, "u", "local-before");
    const [sockets, st] = await emitAck(a1, "fetch", "u");
    assert.equal(st, "ok");
    assert.deepEqual(sockets.map((s) => s.id).sort(), [a1.id, a2.id].sort());

    await sleep(1000);
    const redis = await startRedis({ port });
    procs.push(redis);
    const up = Date.now();
    await waitSubscribers(port, 2, { nsps: ["/", "/admin"] });
    let i = 0;
    await until(
      async () => {
        a1.emit("to", "u", `cross-${i++}`);
        await sleep(50);
        return msgs(b1).some((m) => typeof m[0] === "string" && m[0].startsWith("cross-"));
      },
      { timeout: 5000, what: "cross-node delivery after Redis came up" },
    );
    t.diagnostic(`cross-node delivery ${Date.now() - up} ms after Redis came up`);
    const [all] = await emitAck(b1, "fetch", "u");
    assert.deepEqual(all.map((s) => s.id).sort(), [a1.id, a2.id, b1.id].sort());
    for (const [name, node] of [["A", A], ["B", B]]) {
      const downs = node.stderr().split("\n").filter((l) => /unreachable/.test(l)).length;
      assert.ok(downs >= 1 && downs <= 2, `node ${name} logged the outage ${downs} times:\n${node.stderr()}`);
    }
  });
});
