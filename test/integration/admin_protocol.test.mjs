// The @socket.io/admin-ui 0.5 protocol at the socket.io-client level: what an
// admin gets on /admin (session, config, server_stats, all_sockets, the
// development-mode events) and the commands it sends (emit, join, leave,
// _disconnect with their filters), against sio-server --admin-auth and, with
// SIO_TEST_TARGET=reference, socket.io 4.8 + instrument()
// (test/reference/admin-node.mjs).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ADMIN_PASSWORD, ADMIN_USER, adminClient, chatClient, until, useAdminServer } from "./lib/admin.mjs";
import { isReference } from "./lib/server.mjs";

const ALL_FEATURES = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"];

describe("admin namespace: authentication", () => {
  test("a wrong password is refused with 'invalid credentials', the right one gets a session id that logs in again", async (t) => {
    const srv = await useAdminServer(t);
    await assert.rejects(adminClient(t, srv.url, { auth: { username: ADMIN_USER, password: "wrong" } }), /invalid credentials/);
    await assert.rejects(adminClient(t, srv.url, { auth: { username: "root", password: ADMIN_PASSWORD } }), /invalid credentials/);
    await assert.rejects(adminClient(t, srv.url, { auth: {} }), /invalid credentials/);
    const admin = await adminClient(t, srv.url);
    const session = await until(() => admin.seen("session"), { what: "session" });
    const id = session.args[0];
    assert.match(id, /^[0-9a-f]{16}$/);
    admin.close();
    // What the UI does when it reloads: the session id alone.
    const again = await adminClient(t, srv.url, { auth: { sessionId: id } });
    await until(() => again.seen("config"), { what: "config after a session login" });
    assert.equal(again.seen("session"), undefined, "no new session for a session login");
    await assert.rejects(adminClient(t, srv.url, { auth: { sessionId: "0123456789abcdef" } }), /invalid credentials/);
    // The credentials never reach the log.
    assert.ok(!srv.stderr().includes(ADMIN_PASSWORD));
  });

  test("failed logins from one address are slowed (sio-server; the reference does not)", { skip: isReference && "sio-server throttling" }, async (t) => {
    const srv = await useAdminServer(t);
    await assert.rejects(adminClient(t, srv.url, { auth: { username: ADMIN_USER, password: "bad1" } }), /invalid credentials/);
    const t0 = Date.now();
    await assert.rejects(adminClient(t, srv.url, { auth: { username: ADMIN_USER, password: "bad2" } }), /invalid credentials/);
    // The second attempt waited for the first failure's delay (1 s, on a timer).
    assert.ok(Date.now() - t0 >= 900, `second failure answered after ${Date.now() - t0} ms`);
    // Meanwhile the loop served others: a chat client connects at once.
    const pending = adminClient(t, srv.url).catch((e) => e);
    const c = await chatClient(t, srv.url);
    assert.ok(c.connected);
    // After the wait, the right password still gets in.
    const ok = await pending;
    assert.ok(ok.connected, `right password after failures: ${ok.message || ""}`);
  });

  test("--admin-auth none: anyone gets in", async (t) => {
    const srv = await useAdminServer(t, { auth: "none" });
    const admin = await adminClient(t, srv.url, { auth: {} });
    await until(() => admin.seen("config"), { what: "config" });
  });
});

describe("admin namespace: development mode", () => {
  test("config, all_sockets, server_stats describe the real clients", async (t) => {
    const srv = await useAdminServer(t);
    const ws = await chatClient(t, srv.url, { transports: ["websocket"] });
    const poll = await chatClient(t, srv.url, { transports: ["polling"], upgrade: false });
    assert.equal(await ws.emitWithAck("join", "lobby"), "ok");
    const admin = await adminClient(t, srv.url);
    const config = await until(() => admin.seen("config"), { what: "config" });
    assert.deepEqual([...config.args[0].supportedFeatures].sort(), [...ALL_FEATURES].sort());
    const all = (await until(() => admin.seen("all_sockets"), { what: "all_sockets" })).args[0];
    const byId = Object.fromEntries(all.map((s) => [s.id, s]));
    for (const [c, transport] of [[ws, "websocket"], [poll, "polling"]]) {
      const s = byId[c.id];
      assert.ok(s, `all_sockets lists ${c.id}: ${JSON.stringify(all.map((x) => x.id))}`);
      assert.equal(s.nsp, "/");
      assert.equal(s.transport, transport);
      assert.equal(s.clientId, c.io.engine.id.slice(0, 12));
      assert.ok(s.rooms.includes(c.id));
      assert.deepEqual(s.data, {});
      assert.equal(typeof s.handshake.address, "string");
      assert.equal(typeof s.handshake.headers, "object");
      assert.equal(typeof s.handshake.query, "object");
      assert.equal(s.handshake.auth, undefined, "no auth in what the admin sees");
    }
    assert.deepEqual(byId[ws.id].rooms.sort(), [ws.id, "lobby"].sort());
    // The admin's own socket is listed too, in its namespace.
    assert.ok(all.some((s) => s.id === admin.id && s.nsp === "/admin"));

    const stats = (await until(() => admin.seen("server_stats", (st) => st.clientsCount >= 3), { what: "server_stats with 3 clients", timeout: 20_000 })).args[0];
    for (const k of ["serverId", "hostname"]) assert.equal(typeof stats[k], "string", k);
    for (const k of ["pid", "uptime", "clientsCount", "pollingClientsCount"]) assert.equal(typeof stats[k], "number", k);
    assert.ok(stats.pollingClientsCount >= 1);
    const nsps = Object.fromEntries(stats.namespaces.map((n) => [n.name, n.socketsCount]));
    assert.equal(nsps["/"], 2);
    assert.equal(nsps["/admin"], 1);
    assert.ok(Array.isArray(stats.aggregatedEvents));
    // Over a few reports: connections and traffic, per second.
    const types = new Set();
    await until(
      () => {
        for (const e of admin.log.filter((x) => x.event === "server_stats"))
          for (const a of e.args[0].aggregatedEvents) {
            assert.equal(a.timestamp % 1000, 0, "second buckets");
            assert.ok(a.count > 0);
            types.add(a.type);
          }
        return ["rawConnection", "packetsIn", "packetsOut", "bytesIn", "bytesOut"].every((x) => types.has(x));
      },
      { what: `aggregated event types (${[...types]})`, timeout: 20_000 },
    );
  });

  test("socket_connected, room_joined, room_left, event_received, event_sent, socket_disconnected as they happen", async (t) => {
    const srv = await useAdminServer(t);
    const admin = await adminClient(t, srv.url);
    await until(() => admin.seen("all_sockets"), { what: "all_sockets" });
    const c = await chatClient(t, srv.url, { transports: ["polling", "websocket"] });
    const conn = await until(() => admin.seen("socket_connected", (s) => s.id === c.id), { what: "socket_connected" });
    assert.equal(conn.args[0].nsp, "/");
    assert.ok(!Number.isNaN(Date.parse(conn.args[1])), "a date");
    await until(() => admin.seen("socket_updated", (u) => u.id === c.id && u.transport === "websocket"), { what: "socket_updated (upgrade)" });
    await c.emitWithAck("join", "room-a");
    await until(() => admin.seen("room_joined", (nsp, room, id) => nsp === "/" && room === "room-a" && id === c.id), { what: "room_joined" });
    await c.emitWithAck("message", "hello admin");
    const rec = await until(() => admin.seen("event_received", (nsp, id, args) => id === c.id && args[0] === "message"), { what: "event_received" });
    assert.deepEqual(rec.args.slice(0, 3), ["/", c.id, ["message", "hello admin"]]);
    await c.emitWithAck("leave", "room-a");
    await until(() => admin.seen("room_left", (nsp, room, id) => room === "room-a" && id === c.id), { what: "room_left" });
    const cid = c.id; // socket.io-client forgets it on disconnect
    c.disconnect();
    const gone = await until(() => admin.seen("socket_disconnected", (nsp, id) => id === cid), { what: "socket_disconnected" });
    assert.equal(gone.args[2], "client namespace disconnect");
    // The chat app's broadcast of the message reached c: event_sent for c (the
    // reference's adapter calls each receiver's onAnyOutgoing listeners).
    const sent = admin.seen("event_sent", (nsp, id, args) => id === cid && args[0] === "message");
    assert.ok(sent, "event_sent for the broadcast");
    assert.match(sent.args[2][1], /said: hello admin$/);
  });

  test("emit, join, leave, _disconnect with and without filters reach the clients", async (t) => {
    const srv = await useAdminServer(t);
    const a = await chatClient(t, srv.url, { transports: ["websocket"] });
    const b = await chatClient(t, srv.url, { transports: ["polling"], upgrade: false });
    const admin = await adminClient(t, srv.url);
    await until(() => admin.seen("config"), { what: "config" });

    admin.emit("emit", "/", null, "notice", "to all", 1);
    for (const c of [a, b]) await until(() => c.got.some((g) => g[0] === "notice" && g[1] === "to all" && g[2] === 1), { what: "emit to all" });
    admin.emit("emit", "/", a.id, "notice", "to a");
    await until(() => a.got.some((g) => g[1] === "to a"), { what: "emit filtered" });

    admin.emit("join", "/", "vip", b.id);
    await until(() => admin.seen("room_joined", (nsp, room, id) => room === "vip" && id === b.id), { what: "join filtered" });
    admin.emit("emit", "/", "vip", "notice", "to vip");
    await until(() => b.got.some((g) => g[1] === "to vip"), { what: "emit to the joined room" });
    admin.emit("join", "/", "everyone");
    await until(() => [a, b].every((c) => admin.seen("room_joined", (nsp, room, id) => room === "everyone" && id === c.id)), { what: "join all" });
    admin.emit("leave", "/", "everyone", a.id);
    await until(() => admin.seen("room_left", (nsp, room, id) => room === "everyone" && id === a.id), { what: "leave filtered" });
    admin.emit("emit", "/", "everyone", "notice", "to everyone room");
    await until(() => b.got.some((g) => g[1] === "to everyone room"), { what: "emit to the room" });
    admin.emit("leave", "/", "vip");
    await until(() => admin.seen("room_left", (nsp, room, id) => room === "vip" && id === b.id), { what: "leave all" });
    // Only a was not in "everyone" any more; b got it.
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!a.got.some((g) => g[1] === "to everyone room"), "a left the room");
    assert.ok(!a.got.some((g) => g[1] === "to vip"), "a was never in vip");

    const bGone = new Promise((r) => b.once("disconnect", r));
    admin.emit("_disconnect", "/", false, b.id);
    assert.equal(await bGone, "io server disconnect");
    assert.ok(a.connected, "the filter spared a");
    const aGone = new Promise((r) => a.once("disconnect", r));
    admin.emit("_disconnect", "/", true);
    assert.equal(await aGone, "io server disconnect");
  });
});

describe("admin namespace: readonly and production", () => {
  test("--admin-readonly: no action features and the commands do nothing", async (t) => {
    const srv = await useAdminServer(t, { args: ["--admin-readonly"] });
    const c = await chatClient(t, srv.url);
    const admin = await adminClient(t, srv.url);
    const config = await until(() => admin.seen("config"), { what: "config" });
    assert.deepEqual(config.args[0].supportedFeatures, ["AGGREGATED_EVENTS", "ALL_EVENTS"]);
    admin.emit("_disconnect", "/", true);
    admin.emit("emit", "/", null, "notice", "no");
    // Proof the commands were processed (and ignored): an event sent after them arrives.
    await c.emitWithAck("message", "after");
    await until(() => admin.seen("event_received", (nsp, id, args) => args[1] === "after"), { what: "event after the commands" });
    assert.ok(c.connected);
    assert.ok(!c.got.some((g) => g[0] === "notice"));
  });

  test("--admin-mode production: stats only, no sockets or events", async (t) => {
    const srv = await useAdminServer(t, { args: ["--admin-mode", "production"] });
    const admin = await adminClient(t, srv.url);
    const config = await until(() => admin.seen("config"), { what: "config" });
    assert.ok(!config.args[0].supportedFeatures.includes("ALL_EVENTS"));
    assert.ok(config.args[0].supportedFeatures.includes("AGGREGATED_EVENTS"));
    const c = await chatClient(t, srv.url);
    await c.emitWithAck("message", "quiet");
    await until(() => admin.seen("server_stats", (st) => st.clientsCount >= 2), { what: "server_stats", timeout: 20_000 });
    for (const ev of ["all_sockets", "socket_connected", "event_received", "room_joined"]) assert.equal(admin.seen(ev), undefined, ev);
  });

  test("without --admin-auth there is no admin namespace", async (t) => {
    const { startServer } = await import("./lib/server.mjs");
    const srv = await startServer({ args: ["--app", "chat"], reference: "test/reference/admin-node.mjs" });
    t.after(() => srv.stop());
    await assert.rejects(adminClient(t, srv.url), /Invalid namespace/);
    const res = await fetch(`${srv.url}/admin/`);
    assert.equal(res.status, 404);
  });
});
