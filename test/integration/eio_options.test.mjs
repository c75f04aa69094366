// The Engine.IO options of the reference that a client or an operator can
// observe: --transports (engine.io's `transports`), --allow-upgrades
// (`allowUpgrades`), --cookie (`cookie`), --add-trailing-slash (attach()'s
// `addTrailingSlash`), and the allowRequest hook (sio_options.allow_request,
// through the testkit app). Every expectation holds against npm engine.io
// 6.6 / socket.io 4.8 too (SIO_TEST_TARGET=reference).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { Socket } from "engine.io-client";
import { eioPath, handshake, jsonBody, poll, post, request, wsConnect } from "./lib/eio.mjs";
import { openClient, nextMessage } from "./lib/client.mjs";
import { REPO_ROOT, isReference, serverCommand, startEcho, useEchoServer } from "./lib/server.mjs";
import { connect, connectError, emitAck, newManager, startSio, until } from "./lib/sio.mjs";

const WS_ONLY = { transports: ["websocket"], upgrade: false, transport: "websocket" };
const POLLING_ONLY = { transports: ["polling"], upgrade: false, transport: "polling" };
const UPGRADE = { transports: ["polling", "websocket"], upgrade: true, transport: "websocket" };

/** The open packet of a raw WebSocket handshake, and the connection. */
async function wsOpen(server, path = eioPath({ transport: "websocket" })) {
  const r = await wsConnect(server, path);
  assert.equal(r.status, 101, `upgrade answered ${r.status} ${r.text ?? ""}`);
  const m = await r.ws.next();
  assert.match(m.data, /^0\{/);
  return { ws: r.ws, headers: r.headers, open: JSON.parse(m.data.slice(1)) };
}

/** The JSON error of a refused upgrade (Node sends it chunked; wsConnect reads raw bytes). */
function errorBody(r) {
  const m = /\{.*\}/s.exec(r.text);
  assert.ok(m, `a JSON body, got ${JSON.stringify(r.text)}`);
  return JSON.parse(m[0]);
}

/** Resolves with the engine.io-client error of a socket that must fail to open. */
function openFails(server, opts) {
  return new Promise((resolve, reject) => {
    const socket = new Socket(server.url, { path: "/socket.io/", ...opts });
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("the client neither opened nor failed within 10 s"));
    }, 10_000);
    socket.once("open", () => {
      clearTimeout(timer);
      socket.close();
      reject(new Error(`opened on ${socket.transport.name} although it should fail`));
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      socket.close();
      resolve(e);
    });
  });
}

describe("--transports websocket (a WebSocket-only server)", () => {
  const ctx = useEchoServer({ args: ["--transports", "websocket"] });

  it("a polling handshake gets 400 code 0 Transport unknown", async () => {
    const res = await request(ctx.server, { path: eioPath() });
    assert.equal(res.status, 400);
    assert.deepEqual(jsonBody(res), { code: 0, message: "Transport unknown" });
  });

  it("an upgrade request naming polling is refused with Transport unknown", async () => {
    // engine.io answers it as a failed upgrade: 400 and the bare message.
    const r = await wsConnect(ctx.server, eioPath({ transport: "polling" }));
    assert.equal(r.status, 400);
    assert.match(r.text, /Transport unknown/);
  });

  it("a WebSocket handshake opens a session whose open packet offers no upgrade", async () => {
    const { ws, open } = await wsOpen(ctx.server);
    assert.deepEqual(open.upgrades, []);
    assert.equal(open.sid.length, 20);
    ws.send("4hello");
    assert.deepEqual(await ws.nextText(), { binary: false, data: "4hello" });
    ws.close();
  });

  it('engine.io-client with transports: ["websocket"] opens and echoes', async (t) => {
    const socket = await openClient(t, ctx.server, { transports: ["websocket"] });
    assert.equal(socket.transport.name, "websocket");
    socket.send("over websocket");
    assert.equal(await nextMessage(socket), "over websocket");
  });

  it("a polling engine.io-client gets the refusal (HTTP 400) as an open error", async () => {
    const e = await openFails(ctx.server, { transports: ["polling"] });
    assert.equal(e.message, "xhr poll error");
    assert.equal(e.description, 400);
  });

  it("a default engine.io-client with tryAllTransports falls back to WebSocket", async (t) => {
    const socket = await openClient(t, ctx.server, { tryAllTransports: true });
    assert.equal(socket.transport.name, "websocket");
    socket.send("fell back");
    assert.equal(await nextMessage(socket), "fell back");
  });
});

describe("--transports polling (a polling-only server)", () => {
  const ctx = useEchoServer({ args: ["--transports", "polling"] });

  it("the open packet offers no upgrade", async () => {
    const { open } = await handshake(ctx.server);
    assert.deepEqual(open.upgrades, []);
  });

  it("a WebSocket handshake gets 400 code 0 Transport unknown", async () => {
    const r = await wsConnect(ctx.server, eioPath({ transport: "websocket" }));
    assert.equal(r.status, 400);
    assert.deepEqual(errorBody(r), { code: 0, message: "Transport unknown" });
  });

  it("an upgrade of a polling session gets 400 code 0 Transport unknown, the session goes on", async () => {
    const { sid } = await handshake(ctx.server);
    const r = await wsConnect(ctx.server, eioPath({ transport: "websocket", sid }));
    assert.equal(r.status, 400);
    assert.deepEqual(errorBody(r), { code: 0, message: "Transport unknown" });
    assert.equal((await post(ctx.server, sid, "4still here")).text, "ok");
    assert.equal((await poll(ctx.server, sid)).text, "4still here");
  });

  it("a default engine.io-client stays on polling and echoes", async (t) => {
    const socket = await openClient(t, ctx.server);
    socket.send("on polling");
    assert.equal(await nextMessage(socket), "on polling");
    assert.equal(socket.transport.name, "polling");
  });
});

describe("--allow-upgrades=0", () => {
  const ctx = useEchoServer({ args: ["--allow-upgrades=0"] });

  it("the open packet offers no upgrade; a default client stays on polling", async (t) => {
    const { open } = await handshake(ctx.server);
    assert.deepEqual(open.upgrades, []);
    const socket = await openClient(t, ctx.server);
    socket.send("a");
    assert.equal(await nextMessage(socket), "a");
    socket.send("b");
    assert.equal(await nextMessage(socket), "b");
    assert.equal(socket.transport.name, "polling");
  });

  it("a client that upgrades all the same is upgraded (engine.io only stops offering it)", async () => {
    const { sid } = await handshake(ctx.server);
    const r = await wsConnect(ctx.server, eioPath({ transport: "websocket", sid }));
    assert.equal(r.status, 101);
    r.ws.send("2probe");
    assert.deepEqual(await r.ws.nextText(), { binary: false, data: "3probe" });
    r.ws.send("5");
    r.ws.send("4upgraded");
    assert.deepEqual(await r.ws.nextText(), { binary: false, data: "4upgraded" });
    r.ws.close();
  });

  it("a WebSocket handshake still opens a session", async () => {
    const { ws, open } = await wsOpen(ctx.server);
    assert.deepEqual(open.upgrades, []);
    ws.close();
  });
});

describe("--cookie", () => {
  it("no cookie by default", async (t) => {
    const server = await startEcho(t);
    const { res } = await handshake(server);
    assert.equal(res.headers["set-cookie"], undefined);
  });

  it("--cookie io: the polling handshake sets io=<sid>; Path=/; HttpOnly; SameSite=Lax, later answers do not", async (t) => {
    const server = await startEcho(t, { args: ["--cookie", "io"] });
    const { sid, res } = await handshake(server);
    assert.deepEqual(res.headers["set-cookie"], [`io=${sid}; Path=/; HttpOnly; SameSite=Lax`]);
    const posted = await post(server, sid, "4x");
    assert.equal(posted.headers["set-cookie"], undefined);
    const got = await poll(server, sid);
    assert.equal(got.text, "4x");
    assert.equal(got.headers["set-cookie"], undefined);
  });

  it("--cookie io: a WebSocket handshake sets none (engine.io answers the 101 before the session exists)", async (t) => {
    const server = await startEcho(t, { args: ["--cookie", "io"] });
    const { ws, headers } = await wsOpen(server);
    assert.equal(headers["set-cookie"], undefined);
    ws.close();
  });

  it("SIO_COOKIE names the cookie; CORS headers and the cookie come together", async (t) => {
    const origin = "http://allowed.example";
    const server = await startEcho(t, { args: ["--cors-origin", origin], env: { SIO_COOKIE: "node" } });
    const { sid, res } = await handshake(server, { headers: { Origin: origin } });
    assert.deepEqual(res.headers["set-cookie"], [`node=${sid}; Path=/; HttpOnly; SameSite=Lax`]);
    assert.equal(res.headers["access-control-allow-origin"], origin);
    assert.equal(res.headers["access-control-allow-credentials"], "true");
  });

  it("a cookie name that is not an RFC 6265 token is refused at start", { skip: isReference && "engine.io takes any name" }, () => {
    const [cmd, argv] = serverCommand(["--app", "eio-echo", "--host", "127.0.0.1", "--port", "0", "--cookie", "a;b"]);
    const r = spawnSync(cmd, argv, { cwd: REPO_ROOT, encoding: "utf8", timeout: 10_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /invalid/);
  });
});

describe("--add-trailing-slash", () => {
  const noSlash = (q = {}) => eioPath(q, "/socket.io");

  it("default: /socket.io/ is served, /socket.io without the slash is not", async (t) => {
    const server = await startEcho(t);
    assert.equal((await request(server, { path: noSlash() })).status, 404);
    assert.equal((await request(server, { path: eioPath() })).status, 200);
  });

  it("--path /socket.io (no slash) serves /socket.io/ as engine.io does", async (t) => {
    const server = await startEcho(t, { args: ["--path", "/socket.io"] });
    assert.equal((await request(server, { path: noSlash() })).status, 404);
    assert.equal((await request(server, { path: eioPath() })).status, 200);
  });

  it("=0: /socket.io and /socket.io/ both handshake, polling and WebSocket", async (t) => {
    const server = await startEcho(t, { args: ["--add-trailing-slash=0"] });
    const res = await request(server, { path: noSlash() });
    assert.equal(res.status, 200);
    const { sid } = JSON.parse(res.text.slice(1));
    assert.equal((await request(server, { method: "POST", path: noSlash({ sid }), body: "4hi" })).text, "ok");
    assert.equal((await request(server, { path: noSlash({ sid }) })).text, "4hi");
    assert.equal((await request(server, { method: "POST", path: noSlash({ sid }), body: "1" })).text, "ok");
    assert.equal((await request(server, { path: eioPath() })).status, 200);
    const { ws } = await wsOpen(server, noSlash({ transport: "websocket" }));
    ws.close();
  });

  for (const [label, mode] of [
    ["polling", POLLING_ONLY],
    ["WebSocket", WS_ONLY],
  ]) {
    it(`socket.io-client with addTrailingSlash: false (${label}): refused by default, connects with =0`, async (t) => {
      const strict = await startSio(t, "testkit");
      const slashless = (server) => ({ manager: newManager(t, server, mode, { addTrailingSlash: false }) });
      const e = await connectError(t, strict, mode, slashless(strict));
      assert.ok(e instanceof Error);
      const loose = await startSio(t, "testkit", { args: ["--add-trailing-slash=0"] });
      const socket = await connect(t, loose, mode, slashless(loose));
      assert.equal(socket.io.engine.transport.name, mode.transport);
      assert.deepEqual(await emitAck(socket, "echo", "slashless"), ["slashless"]);
    });
  }
});

describe("allowRequest (testkit: a handshake with ?deny=MSG is refused with MSG)", () => {
  it("polling: 403 with code 4 and the hook's message, JSON-escaped; none given: Forbidden", async (t) => {
    const server = await startSio(t, "testkit");
    let res = await request(server, { path: eioPath({ deny: "go away" }) });
    assert.equal(res.status, 403);
    assert.deepEqual(jsonBody(res), { code: 4, message: "go away" });
    res = await request(server, { path: eioPath({ deny: 'say "no"\\' }) });
    assert.deepEqual(jsonBody(res), { code: 4, message: 'say "no"\\' });
    res = await request(server, { path: eioPath({ deny: "" }) });
    assert.equal(res.status, 403);
    assert.deepEqual(jsonBody(res), { code: 4, message: "Forbidden" });
  });

  it("the hook runs before the protocol version is looked at (EIO=3 refused: 403, not code 5)", async (t) => {
    const server = await startSio(t, "testkit");
    const res = await request(server, { path: eioPath({ EIO: "3", deny: "no" }) });
    assert.equal(res.status, 403);
    assert.equal(jsonBody(res).code, 4);
  });

  it("WebSocket: the handshake is refused with the hook's message", async (t) => {
    const server = await startSio(t, "testkit");
    const r = await wsConnect(server, eioPath({ transport: "websocket", deny: "go away" }));
    // engine.io answers a refused upgrade 400 with the bare message; sio-server
    // 403 with the same JSON as on polling (a WebSocket client sees a failed
    // handshake either way).
    assert.ok(r.status === 400 || r.status === 403, `status ${r.status}`);
    assert.match(r.text, /go away/);
  });

  it("it judges handshakes only: a session's later requests pass; a refused socket.io-client gets connect_error", async (t) => {
    const server = await startSio(t, "testkit");
    for (const mode of [POLLING_ONLY, WS_ONLY, UPGRADE]) {
      const e = await connectError(t, server, mode, { query: { deny: "x" } });
      assert.ok(e instanceof Error);
      const socket = await connect(t, server, mode);
      assert.deepEqual(await emitAck(socket, "echo", 1), [1]);
      await until(() => socket.io.engine.transport.name === mode.transport, { what: `on ${mode.transport}` });
    }
  });
});

describe("command line", { skip: isReference && "sio-server's own command line" }, () => {
  const run = (args, env = {}) => {
    const [cmd, argv] = serverCommand(args);
    return spawnSync(cmd, argv, { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: "utf8", timeout: 10_000 });
  };

  it("--help lists the options", () => {
    const r = run(["--help"]);
    assert.equal(r.status, 0);
    for (const o of ["--transports", "--allow-upgrades", "--cookie", "--add-trailing-slash"]) assert.ok(r.stdout.includes(o), o);
  });

  for (const v of ["", "webtransport", "polling,carrier-pigeon", ","]) {
    it(`--transports '${v}' is refused with exit 2`, () => {
      const r = run(["--host", "127.0.0.1", "--port", "0", `--transports=${v}`]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--transports/);
    });
  }

  it("SIO_TRANSPORTS=websocket,polling (either order) keeps both", async (t) => {
    const server = await startEcho(t, { env: { SIO_TRANSPORTS: "websocket,polling" } });
    const { open } = await handshake(server);
    assert.deepEqual(open.upgrades, ["websocket"]);
  });
});
