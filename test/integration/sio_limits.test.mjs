// Bounds an application can rely on (issue "Hardening", point 5).
//
// Rooms: the library refuses a join past --max-rooms-per-socket (default 256,
// the socket's own id room not counted) or with a name longer than
// --max-room-name (default 256 bytes); the apps ack such a join ["error",
// reason] and close the connection of a client refused more than 16 times.
// A client that tries to join 100,000 rooms of ~200 bytes is stopped long
// before the server's RSS grows 16 MiB (a Release build measures it), and a
// normal client of the same server keeps working; over polling and WebSocket.
// The Node.js reference has no such bounds (its rooms grow with the client's
// requests), so these tests run against sio-server only.
//
// Dynamic namespaces: with --cleanup-empty-namespaces (socket.io's
// cleanupEmptyChildNamespaces, default off in both) a "/dyn-*" namespace is
// removed when its last socket leaves and created again by a later connect;
// the testkit's `namespaces` event lists io._nsps on the reference and the
// namespaces alive in the C app, and /metrics' sio_namespaces gauge follows.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { closeAll, isSanitized, openSio, releaseBin, rssBytes, scrape, sleep, startServerWith, waitFor } from "./lib/reliability.mjs";
import { isReference } from "./lib/server.mjs";
import { connect, emitAck, newManager, until } from "./lib/sio.mjs";

const MiB = 1024 * 1024;
const JOINS = 100_000;
const NAME_BYTES = 200;
const RSS_BOUND = 16 * MiB;
const DEFAULT_MAX_ROOMS = 256;
const REFUSALS_BEFORE_CLOSE = 16;

const TRANSPORTS = {
  polling: { transports: ["polling"], upgrade: false },
  WebSocket: { transports: ["websocket"], upgrade: false },
};

/** A ~200-byte room name, distinct for each i. */
const roomName = (i) => `room-${String(i).padStart(8, "0")}-`.padEnd(NAME_BYTES, "x");

describe("rooms per socket and room names are bounded (chat app, defaults)", { skip: isReference && "the reference has no room bounds" }, () => {
  for (const [name, opts] of Object.entries(TRANSPORTS)) {
    test(`${name}: 100,000 joins are refused, then the client is disconnected, within ${RSS_BOUND / MiB} MiB of RSS`, async (t) => {
      const bin = releaseBin();
      const server = await startServerWith(bin, { args: ["--app", "chat"] });
      t.after(() => server.stop());
      const measured = bin !== null && !isSanitized(bin);
      const good = await openSio(server.url, opts);
      const bad = await openSio(server.url, opts);
      t.after(() => closeAll([good, bad]));
      await sleep(300);
      const rss0 = rssBytes(server.proc.pid);
      let rssMax = rss0;
      const sampler = setInterval(() => {
        try {
          rssMax = Math.max(rssMax, rssBytes(server.proc.pid));
        } catch {
          // the server is gone: stop() reports it
        }
      }, 20);
      t.after(() => clearInterval(sampler));

      const acks = { ok: 0, tooMany: 0, other: [] };
      const started = Date.now();
      for (let i = 0; i < JOINS; i++) {
        bad.emit("join", roomName(i), (...res) => {
          if (res.length === 1 && res[0] === "ok") acks.ok++;
          else if (res[0] === "error" && res[1] === "too many rooms") acks.tooMany++;
          else acks.other.push(res);
        });
      }
      await waitFor(() => bad.disconnects.length > 0, { timeout: 60_000, step: 20, what: "the joining client's disconnect" });
      await sleep(300); // the last samples
      clearInterval(sampler);
      const growth = rssMax - rss0;
      t.diagnostic(
        `${acks.ok} joins ok, ${acks.tooMany} refused ("too many rooms"), disconnected ("${bad.disconnects[0]}") after ` +
          `${Date.now() - started} ms; RSS ${(rss0 / MiB).toFixed(1)} MiB -> peak +${(growth / MiB).toFixed(2)} MiB` +
          (measured ? "" : " (sanitized build: not asserted)"),
      );
      assert.equal(acks.ok, DEFAULT_MAX_ROOMS, "exactly the default number of rooms was joined");
      assert.ok(acks.tooMany >= 1 && acks.tooMany <= REFUSALS_BEFORE_CLOSE + 1, `a few refusals before the close (${acks.tooMany})`);
      assert.deepEqual(acks.other, [], "no other answers");
      assert.ok(["io server disconnect", "transport close"].includes(bad.disconnects[0]), `closed by the server (${bad.disconnects[0]})`);
      if (measured) assert.ok(growth < RSS_BOUND, `RSS grew ${(growth / MiB).toFixed(2)} MiB (bound ${RSS_BOUND / MiB} MiB)`);
      const m = await scrape(server);
      assert.equal(m.get("sio_rooms"), 0, "the disconnected client's rooms are gone");

      // The normal client did not notice.
      assert.deepEqual(await emitAckOf(good, "join", "lobby"), ["ok"]);
      const said = new Promise((resolve) => good.once("message", resolve));
      assert.deepEqual(await emitAckOf(good, "message", "still here", "lobby"), []);
      assert.equal(await said, `Client #${good.id} said: still here`);
      // A 2 KiB room name is refused; one refusal does not disconnect.
      assert.deepEqual(await emitAckOf(good, "join", "n".repeat(2048)), ["error", "room name too long"]);
      assert.deepEqual(await emitAckOf(good, "join", "n".repeat(256)), ["ok"], "256 bytes is still a room name");
      assert.ok(good.connected, "the normal client is still connected");
    });
  }

  test("the own id room does not count; rejoining a room at the limit succeeds; leaving makes room", async (t) => {
    const server = await startServerWith(null, { args: ["--app", "testkit", "--max-rooms-per-socket", "3", "--max-room-name", "8"] });
    t.after(() => server.stop());
    const s = await openSio(server.url, TRANSPORTS.WebSocket);
    t.after(() => closeAll([s]));
    for (const r of ["a", "b", "c"]) assert.deepEqual(await emitAckOf(s, "join", r), ["ok"]);
    assert.deepEqual(await emitAckOf(s, "join", "d"), ["error", "too many rooms"]);
    assert.deepEqual(await emitAckOf(s, "join", "b"), ["ok"], "a room it is in");
    assert.deepEqual(await emitAckOf(s, "join", s.id), ["ok"], "its own id room");
    assert.deepEqual(await emitAckOf(s, "join", "123456789"), ["error", "room name too long"]);
    assert.deepEqual(await emitAckOf(s, "leave", "a"), ["ok"]);
    assert.deepEqual(await emitAckOf(s, "join", "12345678"), ["ok"]);
    const [rooms] = await emitAckOf(s, "rooms");
    assert.deepEqual(rooms.sort(), [s.id, "12345678", "b", "c"].sort());
    // The 17th refusal closes the connection.
    for (let i = 3; i <= REFUSALS_BEFORE_CLOSE; i++) assert.deepEqual(await emitAckOf(s, "join", `x${i}`), ["error", "too many rooms"]);
    s.emit("join", "last");
    await waitFor(() => s.disconnects.length > 0, { timeout: 10_000, what: "the disconnect after the 17th refusal" });
  });
});

/** emitAck with a generous timeout (the box is shared). */
function emitAckOf(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(10_000).emit(event, ...args, (err, ...res) => (err ? reject(new Error(`no ack for "${event}": ${err.message}`)) : resolve(res)));
  });
}

const byName = (list) => [...list].sort();

describe("dynamic namespaces: cleanup of empty children (testkit)", () => {
  for (const [name, opts] of Object.entries(TRANSPORTS)) {
    const mode = { ...opts, transport: opts.transports[0] === "websocket" ? "websocket" : "polling" };

    test(`${name}: with --cleanup-empty-namespaces the last socket leaving removes the namespace; a connect recreates it`, async (t) => {
      const server = await startServerWith(null, { args: ["--app", "testkit", "--cleanup-empty-namespaces"] });
      t.after(() => server.stop());
      const root = await connect(t, server, mode);
      const namespaces = async () => byName((await emitAckOf(root, "namespaces"))[0]);
      assert.deepEqual(await namespaces(), ["/", "/admin"]);

      // Two sockets of /dyn-a on two connections: it goes with the second.
      const a1 = await connect(t, server, mode, { nsp: "/dyn-a" });
      const a2 = await connect(t, server, mode, { nsp: "/dyn-a" });
      assert.deepEqual(await emitAckOf(a1, "join", "r"), ["ok"]);
      assert.deepEqual(await namespaces(), ["/", "/admin", "/dyn-a"]);
      if (!isReference) assert.equal((await scrape(server)).get("sio_namespaces"), 3);
      a1.disconnect();
      await sleep(200);
      assert.deepEqual(await namespaces(), ["/", "/admin", "/dyn-a"], "a socket is left");
      a2.io.engine.close(); // the transport closes: the same cleanup
      await until(async () => !(await namespaces()).includes("/dyn-a"), { timeout: 10_000, what: "/dyn-a removed" });
      if (!isReference) {
        const m = await scrape(server);
        assert.equal(m.get("sio_namespaces"), 2, "the gauge follows");
        assert.equal(m.get("sio_rooms"), 0);
      }

      // A later connect creates it again, with its handlers.
      const a3 = await connect(t, server, mode, { nsp: "/dyn-a" });
      assert.deepEqual(await emitAckOf(a3, "echo", "again"), ["again"]);
      assert.deepEqual(await namespaces(), ["/", "/admin", "/dyn-a"]);
      // Static namespaces stay when emptied.
      const admin = await connect(t, server, mode, { nsp: "/admin" });
      admin.disconnect();
      a3.disconnect();
      await until(async () => !(await namespaces()).includes("/dyn-a"), { timeout: 10_000, what: "/dyn-a removed again" });
      assert.deepEqual(await namespaces(), ["/", "/admin"]);
    });
  }

  test("by default (as in Node) an emptied dynamic namespace stays", async (t) => {
    const server = await startServerWith(null, { args: ["--app", "testkit"] });
    t.after(() => server.stop());
    const mode = { ...TRANSPORTS.WebSocket, transport: "websocket" };
    const root = await connect(t, server, mode);
    const d = await connect(t, server, mode, { nsp: "/dyn-b" });
    d.disconnect();
    await sleep(300);
    assert.deepEqual(byName((await emitAckOf(root, "namespaces"))[0]), ["/", "/admin", "/dyn-b"]);
    if (!isReference) assert.equal((await scrape(server)).get("sio_namespaces"), 3);
  });

  test(
    "churn: 1,000 dynamic namespaces opened and emptied leave nothing with cleanup (memory per empty namespace measured without)",
    { skip: isReference && "RSS and /metrics of sio-server" },
    async (t) => {
      const N = 1000;
      const bin = releaseBin();
      const measured = bin !== null && !isSanitized(bin);
      const perNamespace = {};
      for (const cleanup of [false, true]) {
        const server = await startServerWith(bin, { args: ["--app", "testkit", ...(cleanup ? ["--cleanup-empty-namespaces"] : [])] });
        t.after(() => server.stop());
        const mode = { ...TRANSPORTS.WebSocket, transport: "websocket" };
        const m = newManager(t, server, mode);
        const warm = m.socket("/dyn-warm");
        await new Promise((r) => warm.once("connect", r));
        warm.disconnect();
        await sleep(300);
        const rss0 = rssBytes(server.proc.pid);
        // One connection, N namespaces one after the other.
        for (let i = 0; i < N; i++) {
          const s = m.socket(`/dyn-churn-${i}`);
          await new Promise((resolve, reject) => {
            s.once("connect", resolve);
            s.once("connect_error", reject);
          });
          s.disconnect();
        }
        const metrics = async () => (await scrape(server)).get("sio_namespaces");
        if (cleanup) await waitFor(async () => (await metrics()) === 2, { timeout: 10_000, what: "every churned namespace removed" });
        else assert.equal(await metrics(), N + 3, "without cleanup every namespace stays");
        await sleep(2500); // the server's malloc_trim runs at most every 2 s
        const grown = rssBytes(server.proc.pid) - rss0;
        perNamespace[cleanup] = grown / N;
        await server.stop();
      }
      t.diagnostic(
        `RSS per empty dynamic namespace (testkit, memory adapter): without cleanup ${(perNamespace.false / 1024).toFixed(2)} KiB, ` +
          `with cleanup ${(perNamespace.true / 1024).toFixed(2)} KiB${measured ? "" : " (sanitized build)"}`,
      );
      if (measured) assert.ok(perNamespace.true * N < 2 * MiB, `with cleanup, ${N} namespaces leave < 2 MiB`);
    },
  );
});
