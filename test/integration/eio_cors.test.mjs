// CORS for polling (--cors-origin), preflight, and the Origin check on handshakes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eioPath, handshake, jsonBody, poll, post, request, wsConnect } from "./lib/eio.mjs";
import { useEchoServer } from "./lib/server.mjs";

const ALLOWED = "http://allowed.example";
const OTHER = "http://evil.example";

describe("CORS with --cors-origin http://allowed.example", () => {
  const ctx = useEchoServer({ args: ["--cors-origin", ALLOWED] });

  it("OPTIONS preflight from the allowed origin: 204 with the CORS headers", async () => {
    const res = await request(ctx.server, {
      method: "OPTIONS",
      path: eioPath(),
      headers: {
        Origin: ALLOWED,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers["access-control-allow-origin"], ALLOWED);
    assert.equal(res.headers["access-control-allow-credentials"], "true");
    const methods = (res.headers["access-control-allow-methods"] ?? "").toUpperCase().split(/\s*,\s*/);
    for (const m of ["GET", "POST"]) assert.ok(methods.includes(m), `Allow-Methods ${methods} lacks ${m}`);
    assert.match(res.headers["access-control-allow-headers"] ?? "", /content-type/i);
  });

  it("OPTIONS preflight on an existing session (with sid) from the allowed origin: 204", async () => {
    const { sid } = await handshake(ctx.server, { headers: { Origin: ALLOWED } });
    const res = await request(ctx.server, {
      method: "OPTIONS",
      path: eioPath({ sid }),
      headers: { Origin: ALLOWED, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers["access-control-allow-origin"], ALLOWED);
    assert.equal(res.headers["access-control-allow-credentials"], "true");
    await post(ctx.server, sid, "1");
  });

  it("OPTIONS preflight from another origin does not allow that origin", async () => {
    const res = await request(ctx.server, {
      method: "OPTIONS",
      path: eioPath(),
      headers: { Origin: OTHER, "Access-Control-Request-Method": "POST" },
    });
    // The reference still answers 204, but without Access-Control-Allow-Origin.
    assert.notEqual(res.headers["access-control-allow-origin"], OTHER);
    assert.notEqual(res.headers["access-control-allow-origin"], "*");
  });

  it("handshake, GET and POST from the allowed origin carry Allow-Origin and Allow-Credentials", async () => {
    const headers = { Origin: ALLOWED };
    const { sid, res } = await handshake(ctx.server, { headers });
    assert.equal(res.headers["access-control-allow-origin"], ALLOWED);
    assert.equal(res.headers["access-control-allow-credentials"], "true");
    const p = await post(ctx.server, sid, "4cors", { headers });
    assert.equal(p.status, 200);
    assert.equal(p.headers["access-control-allow-origin"], ALLOWED);
    assert.equal(p.headers["access-control-allow-credentials"], "true");
    const g = await poll(ctx.server, sid, { headers });
    assert.equal(g.text, "4cors");
    assert.equal(g.headers["access-control-allow-origin"], ALLOWED);
    assert.equal(g.headers["access-control-allow-credentials"], "true");
    await post(ctx.server, sid, "1", { headers });
  });

  it("a handshake without an Origin header (non-browser client) is allowed", async () => {
    const { sid } = await handshake(ctx.server);
    assert.equal(sid.length, 20);
    await post(ctx.server, sid, "1");
  });

  it("a polling handshake from another origin -> 403 code 4 Forbidden", async () => {
    const res = await request(ctx.server, { path: eioPath(), headers: { Origin: OTHER } });
    assert.equal(res.status, 403);
    assert.match(res.headers["content-type"] ?? "", /^application\/json\b/);
    assert.deepEqual(jsonBody(res), { code: 4, message: "Forbidden" });
    assert.notEqual(res.headers["access-control-allow-origin"], OTHER);
  });

  it("a WebSocket handshake from another origin is refused (Forbidden)", async () => {
    const r = await wsConnect(ctx.server, eioPath({ transport: "websocket" }), { headers: { Origin: OTHER } });
    // The reference refuses upgrades with "HTTP/1.1 400 Bad Request" and the bare
    // message "Forbidden" as text/html (engine.io's abortUpgrade); the issue asks
    // for 403 code 4 as on polling. Either is accepted here.
    assert.ok(r.status === 400 || r.status === 403, `status ${r.status}`);
    assert.match(r.text, /Forbidden/);
    if (r.status === 403) assert.deepEqual(JSON.parse(r.text), { code: 4, message: "Forbidden" });
  });

  it("a WebSocket handshake from the allowed origin is accepted", async () => {
    const r = await wsConnect(ctx.server, eioPath({ transport: "websocket" }), { headers: { Origin: ALLOWED } });
    assert.equal(r.status, 101);
    try {
      const open = await r.ws.next();
      assert.match(open.data, /^0\{/);
      r.ws.send("4hi");
      assert.deepEqual(await r.ws.nextText(), { binary: false, data: "4hi" });
    } finally {
      r.ws.close();
    }
  });
});

describe("without --cors-origin", () => {
  const ctx = useEchoServer();

  it("no Access-Control-Allow-Origin for a foreign origin, and the request is served", async () => {
    const { sid, res } = await handshake(ctx.server, { headers: { Origin: OTHER } });
    // With no origin configured the reference sends no CORS headers at all.
    assert.notEqual(res.headers["access-control-allow-origin"], OTHER);
    assert.notEqual(res.headers["access-control-allow-origin"], "*");
    await post(ctx.server, sid, "1");
  });
});

describe("CORS with --cors-origin '*'", () => {
  const ctx = useEchoServer({ args: ["--cors-origin", "*"] });
  // Like the npm cors package with origin '*' (engine.io's cors option): a
  // literal "*" and never Allow-Credentials. Reflecting any Origin with
  // credentials would hand every web site the user's cookies-backed session.

  it("handshake, GET and POST from any origin: Allow-Origin *, no Allow-Credentials", async () => {
    const headers = { Origin: OTHER };
    const { sid, res } = await handshake(ctx.server, { headers });
    assert.equal(res.headers["access-control-allow-origin"], "*");
    assert.equal(res.headers["access-control-allow-credentials"], undefined);
    const p = await post(ctx.server, sid, "4any", { headers });
    assert.equal(p.status, 200);
    assert.equal(p.headers["access-control-allow-origin"], "*");
    assert.equal(p.headers["access-control-allow-credentials"], undefined);
    const g = await poll(ctx.server, sid, { headers });
    assert.equal(g.text, "4any");
    assert.equal(g.headers["access-control-allow-origin"], "*");
    assert.equal(g.headers["access-control-allow-credentials"], undefined);
    await post(ctx.server, sid, "1", { headers });
  });

  it("OPTIONS preflight from any origin: 204, Allow-Origin *, no Allow-Credentials", async () => {
    for (const path of [eioPath(), eioPath({ sid: "doesnotexist00000000" })]) {
      const res = await request(ctx.server, {
        method: "OPTIONS",
        path,
        headers: { Origin: OTHER, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
      });
      assert.equal(res.status, 204);
      assert.equal(res.headers["access-control-allow-origin"], "*");
      assert.equal(res.headers["access-control-allow-credentials"], undefined);
      const methods = (res.headers["access-control-allow-methods"] ?? "").toUpperCase().split(/\s*,\s*/);
      assert.ok(methods.includes("POST"), `Allow-Methods ${methods}`);
      assert.match(res.headers["access-control-allow-headers"] ?? "", /content-type/i);
    }
  });

  it("an error answer from any origin carries Allow-Origin * (readable), still no credentials", async () => {
    const res = await request(ctx.server, { path: eioPath({ transport: "carrier-pigeon" }), headers: { Origin: OTHER } });
    assert.equal(res.status, 400);
    assert.equal(res.headers["access-control-allow-origin"], "*");
    assert.equal(res.headers["access-control-allow-credentials"], undefined);
  });
});

describe("CORS with '*' among named origins", () => {
  const ctx = useEchoServer({ args: ["--cors-origin", ALLOWED, "--cors-origin", "*"] });

  it("'*' wins for every origin, the named one included: no credentials anywhere", async () => {
    for (const origin of [ALLOWED, OTHER]) {
      const { sid, res } = await handshake(ctx.server, { headers: { Origin: origin } });
      assert.equal(res.headers["access-control-allow-origin"], "*");
      assert.equal(res.headers["access-control-allow-credentials"], undefined);
      await post(ctx.server, sid, "1");
    }
  });
});
