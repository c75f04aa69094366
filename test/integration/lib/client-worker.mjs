// socket.io-client receivers on their own event loop (a worker thread), for
// flood tests: 90 WebSocket clients parsing 4 KiB messages keep the test's
// event loop so busy that a long-polling client sharing it sends its next GET
// only after a backlog of those, falls more than --max-buffered behind and
// is (rightly) dropped. In a worker, the polling clients are as prompt as a
// separate process would make them.
//
// Main side: openReceivers(url, n, opts, {room, event, size, lagMs}) -> {stats(), done(ms), close()}.
// Each receiver joins `room` (ack awaited) and counts `event` packets [seq, payload]
// (seqs must arrive 0, 1, 2, ...) until "flood-done". The receivers are
// socket.io-client sockets opened with `opts`, or, with lagMs, raw
// long-polling clients that pause lagMs between an answer and their next GET.
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

import { EventEmitter } from "node:events";

import { ack, closeAll, openMany } from "./reliability.mjs";
import { rawPolling } from "./sio.mjs";

/** One receiver's counters, as the worker reports them. */
function statsOf(c) {
  return {
    got: c.got,
    outOfOrder: c.outOfOrder,
    badPayload: c.badPayload,
    done: c.isDone,
    connected: c.connected,
    transport: c.io?.engine?.transport?.name ?? null,
    disconnects: c.disconnects,
    errors: c.errors,
  };
}

/**
 * A long-polling Socket.IO client on raw HTTP requests that waits lagMs after
 * each answer before its next GET (a client on a slow network), so the
 * server's queue for it holds lagMs worth of the flood at every GET. It
 * looks like a socket.io-client socket to statsOf and the counting code.
 */
async function slowPoller(url, lagMs) {
  const server = { port: Number(new URL(url).port) };
  const c = new EventEmitter();
  Object.assign(c, { connected: false, disconnects: [], errors: [], io: { engine: { transport: { name: "polling" } } } });
  const p = await rawPolling(server);
  const post = async (body) => {
    const r = await p.post(body);
    if (r.status !== 200) throw new Error(`POST ${body.slice(0, 20)}: ${r.status}`);
  };
  await post("40");
  const acks = new Map();
  let nextAck = 0;
  c.emitWithAckRaw = (ev, ...args) => {
    const id = nextAck++;
    return new Promise((resolve) => {
      acks.set(id, resolve);
      post(`42${id}${JSON.stringify([ev, ...args])}`).catch((e) => c.errors.push(e.message));
    });
  };
  let connected;
  c.ready = new Promise((r) => (connected = r));
  c.stop = false;
  (async () => {
    while (!c.stop) {
      const r = await p.get({ timeout: 60_000 });
      if (r.status !== 200) throw new Error(`GET: ${r.status} ${r.text}`);
      for (const pkt of r.text.split("\x1e")) {
        if (pkt === "2") await post("3");
        else if (pkt === "1" || pkt === "6" || pkt === "") continue;
        else if (pkt.startsWith("40")) {
          c.connected = true;
          connected();
        } else if (pkt.startsWith("43")) {
          const m = /^43(\d+)(.*)$/s.exec(pkt);
          acks.get(Number(m[1]))?.(JSON.parse(m[2]));
          acks.delete(Number(m[1]));
        } else if (pkt.startsWith("42")) {
          const [ev, ...args] = JSON.parse(pkt.slice(2));
          c.emit(ev, ...args);
        } else if (pkt.startsWith("41")) {
          c.connected = false;
          c.disconnects.push("io server disconnect");
        }
        if (pkt === "1") {
          c.connected = false;
          c.disconnects.push("transport close");
          return;
        }
      }
      if (!c.stop) await new Promise((res) => setTimeout(res, lagMs));
    }
  })().catch((e) => {
    c.connected = false;
    c.disconnects.push(`transport error: ${e.message}`);
  });
  await c.ready;
  c.close = () => {
    c.stop = true;
    return post("1").catch(() => {});
  };
  return c;
}

async function workerMain() {
  const { url, n, opts, room, event, size, lagMs } = workerData;
  const clients = [];
  if (lagMs !== undefined) for (let i = 0; i < n; i++) clients.push(await slowPoller(url, lagMs));
  else clients.push(...(await openMany(url, n, opts, { parallel: 10 })));
  for (const c of clients) {
    c.got = 0;
    c.outOfOrder = 0;
    c.badPayload = 0;
    c.isDone = false;
    c.on(event, (seq, payload) => {
      if (seq !== c.got) c.outOfOrder++;
      if (typeof payload !== "string" || payload.length !== size) c.badPayload++;
      c.got++;
    });
    c.once("flood-done", () => {
      c.isDone = true;
      if (clients.every((x) => x.isDone)) parentPort.postMessage({ type: "done" });
    });
  }
  const join = (c) => (c.emitWithAckRaw ? c.emitWithAckRaw("join", room) : ack(c, "join", [room]));
  await Promise.all(clients.map(join));
  parentPort.on("message", (m) => {
    if (m.type === "stats") parentPort.postMessage({ type: "stats", id: m.id, stats: clients.map(statsOf) });
    if (m.type === "close") {
      if (lagMs !== undefined) for (const c of clients) c.close();
      else closeAll(clients);
      // Let the close packets go out, then end the thread.
      setTimeout(() => parentPort.close(), 200);
    }
  });
  parentPort.postMessage({ type: "ready" });
}

/** Starts n receivers in a worker thread; resolves once all joined the room. */
export function openReceivers(url, n, opts, { room, event = "flood", size, lagMs }) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { url, n, opts, room, event, size, lagMs } });
  let nextId = 0;
  const pending = new Map();
  let doneResolve;
  const donePromise = new Promise((r) => (doneResolve = r));
  let exited = false;
  const exitPromise = new Promise((r) => worker.once("exit", () => ((exited = true), r())));
  return new Promise((resolve, reject) => {
    worker.once("error", reject);
    worker.on("message", (m) => {
      if (m.type === "ready") {
        resolve({
          /** Every receiver's counters. */
          stats() {
            const id = nextId++;
            worker.postMessage({ type: "stats", id });
            return new Promise((r) => pending.set(id, r));
          },
          /** Resolves true once every receiver saw "flood-done", false after ms. */
          done(ms) {
            return Promise.race([donePromise.then(() => true), new Promise((r) => setTimeout(() => r(false), ms).unref())]);
          },
          /** Disconnects the receivers and ends the thread. */
          async close() {
            if (exited) return;
            worker.postMessage({ type: "close" });
            const t = setTimeout(() => worker.terminate(), 5000);
            await exitPromise;
            clearTimeout(t);
          },
        });
      } else if (m.type === "done") doneResolve();
      else if (m.type === "stats") {
        pending.get(m.id)?.(m.stats);
        pending.delete(m.id);
      }
    });
    worker.once("exit", (code) => reject(new Error(`receiver worker exited (${code}) before it was ready`)));
  });
}

if (!isMainThread && workerData?.url) await workerMain();
