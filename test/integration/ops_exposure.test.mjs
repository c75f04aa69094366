// The operations surface, closed by default:
// - X-Content-Type-Options: nosniff on every answer (Engine.IO polling,
//   errors, 404, /metrics, /healthz, the WebSocket 101);
// - /metrics only for loopback clients, judged on the client's address after
//   --trust-proxy (a remote client behind the local proxy is refused), widened
//   by --metrics-allow / SIO_METRICS_ALLOW; /healthz stays public;
// - a JWT without exp is refused (chat app, Socket.IO auth and /ws ?token=)
//   unless --jwt-allow-no-exp / SIO_JWT_ALLOW_NO_EXP.
// (CORS '*' without credentials: eio_cors.test.mjs.) sio-server only: the
// reference scripts have no /metrics, no token auth and send no nosniff.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";

import { eioPath, handshake, poll, post, request, wsConnect } from "./lib/eio.mjs";
import { makeToken, now } from "./lib/jwt.mjs";
import { httpGet, parseMetrics } from "./lib/reliability.mjs";
import { isReference, serverCommand, startServer } from "./lib/server.mjs";
import { connect, connectError, SIO_MODES, until } from "./lib/sio.mjs";
import { spawnSync } from "node:child_process";

const skip = isReference && "sio-server only";
const REMOTE = "203.0.113.7"; // TEST-NET-3: a client on the Internet
const NOSNIFF = "nosniff";

/** GET path from a chosen local address (127.0.0.x are all loopback). */
function getFrom(server, p, { localAddress = "127.0.0.1", headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port: server.port, path: p, localAddress, agent: false, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text }));
      res.on("error", reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${p}: no answer within 10 s`)));
    req.on("error", reject);
  });
}

function assertMetrics(res, what) {
  assert.equal(res.status, 200, `${what}: ${res.status} ${res.text.slice(0, 80)}`);
  assert.ok(parseMetrics(res.text).has("sio_sessions_opened_total"), `${what}: not the metrics`);
  assert.equal(res.headers["x-content-type-options"], NOSNIFF);
}

function assertForbidden(res, what) {
  assert.equal(res.status, 403, `${what}: ${res.status}`);
  assert.ok(!res.text.includes("sio_"), `${what}: leaked metrics`);
  assert.equal(res.headers["x-content-type-options"], NOSNIFF);
}

describe("nosniff on every answer", { skip }, () => {
  let server;
  before(async () => {
    server = await startServer({ args: ["--app", "eio-echo"] });
  });
  after(async () => {
    if (server) await server.stop();
  });

  test("polling handshake, GET, POST, Engine.IO errors, 404, /metrics, /healthz, the WebSocket 101", async () => {
    const { sid, res } = await handshake(server);
    assert.equal(res.headers["x-content-type-options"], NOSNIFF, "handshake");
    const p = await post(server, sid, "4hello");
    assert.equal(p.status, 200);
    assert.equal(p.headers["x-content-type-options"], NOSNIFF, "POST");
    const g = await poll(server, sid);
    assert.equal(g.text, "4hello");
    assert.equal(g.headers["x-content-type-options"], NOSNIFF, "GET");
    await post(server, sid, "1");
    const answers = {
      "unknown transport": await request(server, { path: eioPath({ transport: "nope" }) }),
      "unknown sid": await request(server, { path: eioPath({ sid: "x".repeat(20) }) }),
      "bad method": await request(server, { method: "PUT", path: eioPath() }),
      "no route": await request(server, { path: "/no/such/thing" }),
      "/healthz": await request(server, { path: "/healthz" }),
      "/metrics": await request(server, { path: "/metrics" }),
    };
    assert.equal(answers["unknown transport"].status, 400);
    assert.equal(answers["unknown sid"].status, 400);
    assert.equal(answers["no route"].status, 404);
    assert.equal(answers["/healthz"].status, 200);
    assert.equal(answers["/metrics"].status, 200);
    for (const [what, r] of Object.entries(answers)) assert.equal(r.headers["x-content-type-options"], NOSNIFF, what);
    const ws = await wsConnect(server, eioPath({ transport: "websocket" }));
    try {
      assert.equal(ws.status, 101);
      assert.equal(ws.headers["x-content-type-options"], NOSNIFF, "101");
    } finally {
      ws.ws?.close();
    }
  });
});

describe("/metrics: loopback only by default, judged after --trust-proxy", { skip }, () => {
  let server;
  before(async () => {
    server = await startServer({ args: ["--app", "eio-echo", "--trust-proxy", "127.0.0.1"] });
  });
  after(async () => {
    if (server) await server.stop();
  });

  test("a loopback client is served (127.0.0.1 and 127.0.0.2: the whole 127/8)", async () => {
    assertMetrics(await getFrom(server, "/metrics"), "from 127.0.0.1");
    assertMetrics(await getFrom(server, "/metrics", { localAddress: "127.0.0.2" }), "from 127.0.0.2");
  });

  test("a remote client seen through the trusted local proxy is refused (403); /healthz stays public", async () => {
    for (const headers of [
      { "X-Forwarded-For": REMOTE },
      { "X-Forwarded-For": `${REMOTE}, 127.0.0.1` }, // a chain ending in the trusted proxy
      { "X-Real-IP": REMOTE },
      { "X-Forwarded-For": "unknown" }, // not an address: never allowed
    ]) {
      assertForbidden(await getFrom(server, "/metrics", { headers }), JSON.stringify(headers));
      const h = await getFrom(server, "/healthz", { headers });
      assert.equal(h.status, 200, `/healthz ${JSON.stringify(headers)}`);
      assert.deepEqual(JSON.parse(h.text), { status: "ok" });
    }
    // A client that forges "127.0.0.1" in front of the proxy's own entry is
    // still seen as itself: the right-most untrusted entry decides.
    assertForbidden(await getFrom(server, "/metrics", { headers: { "X-Forwarded-For": `127.0.0.1, ${REMOTE}` } }), "forged chain");
    // A local client behind the proxy is loopback.
    assertMetrics(await getFrom(server, "/metrics", { headers: { "X-Forwarded-For": "127.0.0.1" } }), "XFF 127.0.0.1");
  });

  test("/metrics/ and /metricsX are not the metrics (the static site or 404)", async () => {
    for (const p of ["/metrics/", "/metricsX"]) {
      const r = await getFrom(server, p, { headers: { "X-Forwarded-For": REMOTE } });
      assert.ok(!r.text.includes("sio_sessions"), p);
    }
  });
});

describe("--metrics-allow widens (and replaces) the default", { skip }, () => {
  test("--metrics-allow 127.0.0.0/8,203.0.113.0/24: the remote /24 is served, others are not", async (t) => {
    const server = await startServer({ args: ["--app", "eio-echo", "--trust-proxy", "127.0.0.1", "--metrics-allow", "127.0.0.0/8,203.0.113.0/24"] });
    t.after(() => server.stop());
    assertMetrics(await getFrom(server, "/metrics", { headers: { "X-Forwarded-For": REMOTE } }), REMOTE);
    assertMetrics(await getFrom(server, "/metrics", { headers: { "X-Forwarded-For": "203.0.113.254" } }), "203.0.113.254");
    assertMetrics(await getFrom(server, "/metrics"), "loopback");
    assertForbidden(await getFrom(server, "/metrics", { headers: { "X-Forwarded-For": "203.0.114.7" } }), "203.0.114.7");
    assertForbidden(await getFrom(server, "/metrics", { headers: { "X-Forwarded-For": "2001:db8::1" } }), "2001:db8::1");
  });

  test("SIO_METRICS_ALLOW=203.0.113.0/24 alone: loopback is no longer allowed; IPv6 CIDRs work", async (t) => {
    const server = await startServer({
      args: ["--app", "eio-echo", "--trust-proxy", "127.0.0.1"],
      env: { SIO_METRICS_ALLOW: "203.0.113.0/24, 2001:db8::/32" },
    });
    t.after(() => server.stop());
    assertMetrics(await getFrom(server, "/metrics", { headers: { "X-Forwarded-For": "203.0.113.9" } }), "203.0.113.9");
    assertMetrics(await getFrom(server, "/metrics", { headers: { "X-Forwarded-For": "2001:db8:1::5" } }), "2001:db8:1::5");
    assertForbidden(await getFrom(server, "/metrics"), "loopback");
  });

  test("--metrics-allow 127.0.0.1: 127.0.0.2 is refused (the peer address itself, no proxy)", async (t) => {
    const server = await startServer({ args: ["--app", "eio-echo", "--metrics-allow", "127.0.0.1"] });
    t.after(() => server.stop());
    assertMetrics(await getFrom(server, "/metrics"), "127.0.0.1");
    assertForbidden(await getFrom(server, "/metrics", { localAddress: "127.0.0.2" }), "127.0.0.2");
  });

  test("an invalid list is refused at start-up (exit code 2, the option named)", () => {
    for (const bad of ["10.0.0.0/33", "localhost", "127.0.0.1,", "::1/129"]) {
      const [cmd, argv] = serverCommand(["--port", "0", "--metrics-allow", bad]);
      const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 30_000 });
      assert.equal(r.status, 2, `${bad}: exit ${r.status} ${r.stderr}`);
      assert.match(r.stderr, /--metrics-allow/);
    }
  });
});

describe("JWT without exp (chat app, --jwt-secret)", { skip }, () => {
  const SECRET = "exposure-test-secret";
  const mode = SIO_MODES["polling only"];
  const noExp = makeToken({ sub: "forever" }, SECRET);
  const withExp = makeToken({ sub: "alice", exp: now() + 3600 }, SECRET);

  /** /ws?token=: "open" when the chat accepted it, else the close code. */
  async function wsOutcome(server, token) {
    const r = await wsConnect(server, `/ws?token=${encodeURIComponent(token)}`);
    assert.equal(r.status, 101);
    try {
      const m = await r.ws.next(10_000);
      return m === null ? r.ws.closeCode : "open";
    } finally {
      r.ws.close?.();
      r.ws.destroy?.();
    }
  }

  test("refused by default, with the reason logged; a token with exp connects", async (t) => {
    const server = await startServer({ args: ["--app", "chat", "--jwt-secret", SECRET, "--log-level", "info"] });
    t.after(() => server.stop());
    const err = await connectError(t, server, mode, { auth: { token: noExp } });
    assert.equal(err.message, "unauthorized");
    const ok = await connect(t, server, mode, { auth: { token: withExp } });
    assert.ok(ok.connected);
    assert.equal(await wsOutcome(server, noExp), 4001);
    await until(() => /refused: token without exp/.test(server.stderr()), { timeout: 10_000, what: "the refusal's reason in the log" });
  });

  test("accepted with --jwt-allow-no-exp (and SIO_JWT_ALLOW_NO_EXP=1)", async (t) => {
    for (const opts of [{ args: ["--jwt-allow-no-exp"] }, { env: { SIO_JWT_ALLOW_NO_EXP: "1" } }]) {
      const server = await startServer({ args: ["--app", "chat", "--jwt-secret", SECRET, ...(opts.args ?? [])], env: opts.env ?? {} });
      t.after(() => server.stop());
      const s = await connect(t, server, mode, { auth: { token: noExp } });
      assert.ok(s.connected, JSON.stringify(opts));
      s.disconnect();
      // Expired tokens are still refused.
      const err = await connectError(t, server, mode, { auth: { token: makeToken({ sub: "old", exp: now() - 3600 }, SECRET) } });
      assert.equal(err.message, "unauthorized");
    }
  });

  test("SIO_JWT_ALLOW_NO_EXP=0 keeps the default; a bad value is refused", async (t) => {
    const server = await startServer({ args: ["--app", "chat", "--jwt-secret", SECRET], env: { SIO_JWT_ALLOW_NO_EXP: "0" } });
    t.after(() => server.stop());
    const err = await connectError(t, server, mode, { auth: { token: noExp } });
    assert.equal(err.message, "unauthorized");
    const [cmd, argv] = serverCommand(["--port", "0", "--jwt-allow-no-exp=maybe"]);
    const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
  });
});
