// Reliability: graceful shutdown (issue 7, "Graceful shutdown"): on SIGTERM
// every client is told (WebSocket close 1001, the Engine.IO close packet over
// polling), nobody sees an error, and the process exits 0 within
// --shutdown-timeout, also when some clients cannot be told.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { eioPath, request } from "./lib/eio.mjs";
import { rawPolling } from "./lib/sio.mjs";
import { ack, closeAll, defaultBin, openMany, rawSioWebSocket, sleep, startServerWith } from "./lib/reliability.mjs";

/** Sends SIGTERM; resolves {code, signal, ms} when the process exits (or ms=null after `wait`). */
async function terminate(server, wait) {
  const t0 = Date.now();
  const exited = new Promise((resolve) => server.proc.once("exit", (code, signal) => resolve({ code, signal, ms: Date.now() - t0 })));
  server.proc.kill("SIGTERM");
  return Promise.race([exited, sleep(wait).then(() => ({ code: null, signal: null, ms: null }))]);
}

describe("graceful shutdown", () => {
  test("SIGTERM with 500 clients (250 polling, 250 WebSocket): all disconnected, no error, exit 0 within --shutdown-timeout", async (t) => {
    const TIMEOUT = 5000;
    const server = await startServerWith(defaultBin(), { args: ["--app", "testkit", "--shutdown-timeout", String(TIMEOUT)] });
    const clients = [];
    const raws = [];
    t.after(async () => {
      closeAll(clients);
      for (const r of raws) r.ws.destroy();
      await server.stop();
    });
    clients.push(...(await openMany(server.url, 500, (i) => ({ transports: i % 2 ? ["polling"] : ["websocket"] }), { parallel: 25 })));
    for (const c of clients) {
      c.engineClose = null;
      c.io.engine.on("close", (reason, desc) => (c.engineClose = { reason, code: desc?.context?.code, description: desc?.description }));
      c.io.engine.on("error", (e) => c.errors.push(`engine error: ${e?.message ?? e}`));
      c.on("error", (e) => c.errors.push(`socket error: ${e?.message ?? e}`));
    }
    // Everyone is live (and polling clients have a GET held again afterwards).
    await Promise.all(clients.map((c, i) => ack(c, "echo", [i])));
    // A few raw clients: WebSocket ones record the close code; a polling one holds a GET.
    for (let i = 0; i < 3; i++) raws.push(await rawSioWebSocket(server));
    const poll = await rawPolling(server);
    await poll.post("40");
    assert.match((await poll.get()).text, /^40\{"sid":/);
    const held = poll.get();
    await sleep(300);

    const exit = await terminate(server, TIMEOUT + 3000);
    t.diagnostic(`exit code ${exit.code} after ${exit.ms} ms (deadline ${TIMEOUT} ms)`);
    assert.equal(exit.code, 0);
    assert.ok(exit.ms <= TIMEOUT, `exited after ${exit.ms} ms`);

    // Every socket.io-client socket got a disconnect, none an error.
    await sleep(200);
    const summary = {};
    for (const c of clients) {
      const key = `${c.io.opts.transports[0]}: ${c.disconnects.join(",") || "no disconnect"} / engine ${c.engineClose?.reason} ${c.engineClose?.code ?? ""} ${c.engineClose?.description ?? ""}`;
      summary[key] = (summary[key] ?? 0) + 1;
    }
    assert.deepEqual(summary, {
      "websocket: transport close / engine transport close 1001 websocket connection closed": 250,
      "polling: transport close / engine transport close  transport closed by the server": 250,
    });
    assert.deepEqual(
      clients.filter((c) => c.errors.length).map((c) => c.errors),
      [],
    );
    // Raw WebSocket clients saw a close frame with 1001 (not a bare reset).
    assert.deepEqual(
      raws.map((r) => [r.ws.closeCode, r.ws.closed]),
      [
        [1001, true],
        [1001, true],
        [1001, true],
      ],
    );
    // The held GET was answered with the close packet.
    const last = await held;
    assert.equal(last.status, 200);
    assert.equal(last.text, "1");
  });

  test("clients that cannot be told (one never reads, one never polls again) do not keep the process past the deadline", async (t) => {
    const TIMEOUT = 3000;
    const server = await startServerWith(defaultBin(), { args: ["--app", "testkit", "--shutdown-timeout", String(TIMEOUT)] });
    let slow = null;
    t.after(async () => {
      slow?.ws.destroy();
      await server.stop();
    });
    // A WebSocket client with a full queue that reads nothing.
    slow = await rawSioWebSocket(server);
    slow.ws.send('421["join","s"]');
    assert.equal((await slow.ws.nextText())?.data, '431["ok"]');
    slow.ws.sock.pause();
    slow.ws.send('422["flood",{"room":"s","count":200,"size":4096,"interval":0}]');
    // A polling client that got its open packet and never comes back.
    const idle = await rawPolling(server);
    await idle.post("40");
    await sleep(300);

    const t0 = Date.now();
    const exiting = terminate(server, TIMEOUT + 3000);
    // Meanwhile new clients are not served a session.
    await sleep(100);
    const late = await request(server, { path: eioPath(), timeout: 2000 }).then(
      (r) => `${r.status} ${r.text.slice(0, 40)}`,
      (e) => `refused (${e.code ?? e.message})`,
    );
    assert.doesNotMatch(late, /^200 0\{/, "a handshake during the shutdown opened a session");
    const exit = await exiting;
    t.diagnostic(`exit code ${exit.code} after ${exit.ms} ms (deadline ${TIMEOUT} ms); handshake during shutdown: ${late}`);
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - t0 <= TIMEOUT + 500, `exited after ${Date.now() - t0} ms`);
  });

  test("a polling session the server has already closed does not hold the shutdown until the deadline", async (t) => {
    // The server closes a polling session (here: a malformed Socket.IO
    // packet, "parse error"); its client has not come back for the close
    // packet when SIGTERM arrives. src/eio/server.c gives a polling client
    // that has gone away SHUTDOWN_GRACE_MS (1 s) so that it "must not hold up
    // the exit".
    const TIMEOUT = 4000;
    const server = await startServerWith(defaultBin(), { args: ["--app", "testkit", "--shutdown-timeout", String(TIMEOUT)] });
    t.after(() => server.stop());
    const p = await rawPolling(server);
    assert.equal((await p.post("4hello")).status, 200); // not a Socket.IO packet
    await sleep(200);
    const exit = await terminate(server, TIMEOUT + 3000);
    t.diagnostic(`exit code ${exit.code} after ${exit.ms} ms (deadline ${TIMEOUT} ms)`);
    assert.equal(exit.code, 0);
    assert.ok(exit.ms <= 2000, `SIGTERM took ${exit.ms} ms with one closed-but-uncollected polling session (deadline ${TIMEOUT} ms)`);
  });
});
