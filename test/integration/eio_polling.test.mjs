// HTTP long-polling, driven by hand with raw HTTP requests.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SEP, decodePayload, eioPath, handshake, jsonBody, poll, post, sleep } from "./lib/eio.mjs";
import { httpHead } from "./lib/lifecycle.mjs";
import { rawTcp } from "./lib/reliability.mjs";
import { isReference, useEchoServer } from "./lib/server.mjs";

async function assertSessionGone(server, sid) {
  const res = await poll(server, sid, { timeout: 3000 });
  assert.equal(res.status, 400, `session ${sid} should be gone, got ${res.status} ${JSON.stringify(res.text)}`);
  assert.deepEqual(jsonBody(res), { code: 1, message: "Session ID unknown" });
}

/** Sends a message and polls until the echo (skipping pings, answering them) arrives. */
async function echoOverPolling(server, sid, packet) {
  const p = await post(server, sid, packet);
  assert.equal(p.status, 200);
  const got = [];
  while (got.length === 0) {
    const r = await poll(server, sid);
    assert.equal(r.status, 200);
    for (const pkt of decodePayload(r.text)) {
      if (pkt === "2") await post(server, sid, "3");
      else got.push(pkt);
    }
  }
  return got;
}

describe("long-polling", () => {
  const ctx = useEchoServer();

  it("POST is answered 200 'ok' (text/html) and the echo comes back on the next GET", async () => {
    const { sid } = await handshake(ctx.server);
    const p = await post(ctx.server, sid, "4hello");
    assert.equal(p.status, 200);
    assert.equal(p.text, "ok");
    assert.match(p.headers["content-type"], /^text\/html\b/);
    const r = await poll(ctx.server, sid);
    assert.equal(r.status, 200);
    assert.match(r.headers["content-type"], /^text\/plain; ?charset=utf-8$/i);
    assert.equal(r.text, "4hello");
  });

  it("several packets in one POST, separated by \\x1e, come back joined by \\x1e in one GET", async () => {
    const { sid } = await handshake(ctx.server);
    const sent = ["4one", "4two", "bAAEC/w==", "4three"];
    const p = await post(ctx.server, sid, sent.join(SEP));
    assert.equal(p.text, "ok");
    const r = await poll(ctx.server, sid);
    assert.equal(r.status, 200);
    assert.deepEqual(decodePayload(r.text), sent);
  });

  it("binary travels as b<base64> and comes back byte-exact", async () => {
    const { sid } = await handshake(ctx.server);
    const bytes = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) bytes[i] = i;
    const got = await echoOverPolling(ctx.server, sid, "b" + bytes.toString("base64"));
    assert.equal(got.length, 1);
    assert.equal(got[0][0], "b");
    assert.deepEqual(Buffer.from(got[0].slice(1), "base64"), bytes);
  });

  it("an empty binary message round-trips as 'b'", async () => {
    const { sid } = await handshake(ctx.server);
    assert.deepEqual(await echoOverPolling(ctx.server, sid, "b"), ["b"]);
  });

  it("unicode (emoji, CJK, accents) round-trips and Content-Length counts bytes", async () => {
    const { sid } = await handshake(ctx.server);
    const text = "4héllo wörld 😀🎉 你好世界 こんにちは 𝄞";
    await post(ctx.server, sid, text);
    const r = await poll(ctx.server, sid);
    assert.equal(r.text, text);
    assert.equal(Number(r.headers["content-length"]), Buffer.byteLength(text));
  });

  it("an empty message round-trips as '4'", async () => {
    const { sid } = await handshake(ctx.server);
    assert.deepEqual(await echoOverPolling(ctx.server, sid, "4"), ["4"]);
  });

  it("a GET is held open until a packet is queued", async () => {
    const { sid } = await handshake(ctx.server);
    let answered = false;
    const pending = poll(ctx.server, sid).then((r) => {
      answered = true;
      return r;
    });
    await sleep(300);
    assert.equal(answered, false, "GET answered while nothing was queued");
    await post(ctx.server, sid, "4wake up");
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.text, "4wake up");
  });

  it("a large message (200 kB) round-trips", async () => {
    const { sid } = await handshake(ctx.server);
    const big = "4" + "abcdefghij".repeat(20_000);
    assert.deepEqual(await echoOverPolling(ctx.server, sid, big), [big]);
  });

  it("a second concurrent GET closes the session: the first gets '1', the second 400", async () => {
    const { sid } = await handshake(ctx.server);
    const first = poll(ctx.server, sid);
    await sleep(100);
    const second = await poll(ctx.server, sid);
    const firstRes = await first;
    assert.equal(firstRes.status, 200);
    assert.equal(firstRes.text, "1");
    // The reference answers the overlapping GET with a bare 400 (no body).
    assert.equal(second.status, 400);
    await assertSessionGone(ctx.server, sid);
  });

  it("an aborted (client-cancelled) GET drops the session", async () => {
    const { sid } = await handshake(ctx.server);
    const pending = poll(ctx.server, sid);
    pending.catch(() => {});
    await sleep(100);
    pending.req.destroy();
    await sleep(200);
    await assertSessionGone(ctx.server, sid);
  });

  // The server watches a polling connection for the client's hang-up from its
  // first held GET until it closes (not per GET): a later GET on the same
  // keep-alive connection, sent together with the client's FIN, must still
  // end the session at once, whether the first GET was held (the watch exists
  // already) or answered at once (the watch starts with this GET). The
  // reference (Node's http server, no half-open) aborts the request the same.
  for (const firstHeld of [true, false]) {
    it(`a client hanging up with its second GET on one connection ends the session at once (first GET ${firstHeld ? "held" : "answered at once"})`, async () => {
      const { sid } = await handshake(ctx.server);
      const conn = await rawTcp(ctx.server.port);
      try {
        const answers = () => (conn.data().toString().match(/HTTP\/1\.1 200/g) || []).length;
        if (!firstHeld) assert.equal((await post(ctx.server, sid, "4first")).status, 200);
        conn.sock.write(httpHead("GET", eioPath({ sid })));
        if (firstHeld) assert.equal((await post(ctx.server, sid, "4first")).status, 200);
        assert.ok(await conn.waitData((d) => d.toString().includes("4first"), 10_000), "the first GET's answer");
        assert.equal(answers(), 1);
        conn.sock.end(httpHead("GET", eioPath({ sid })));
        // Gone long before the heartbeat (25 s + 20 s) would notice. The probe
        // is a POST of a noop ("6": 200 while the session lives, ignored by
        // it), not a GET, which would overlap the held one and end the
        // session by itself.
        let res;
        for (const t0 = Date.now(); Date.now() - t0 < 15_000; await sleep(50)) {
          res = await post(ctx.server, sid, "6", { timeout: 3000 });
          if (res.status !== 200) break;
        }
        assert.equal(res.status, 400, "the session outlived its client");
        assert.deepEqual(jsonBody(res), { code: 1, message: "Session ID unknown" });
        assert.ok(await conn.waitClosed(10_000), "the server closes the connection");
      } finally {
        conn.sock.destroy();
      }
    });
  }

  it("the close packet '1' from the client closes the session and releases the pending GET", async () => {
    const { sid } = await handshake(ctx.server);
    const pending = poll(ctx.server, sid);
    await sleep(100);
    const p = await post(ctx.server, sid, "1");
    assert.equal(p.status, 200);
    const r = await pending;
    assert.equal(r.status, 200);
    // As the reference (engine.io 6.6.12, and the official v4 suite's
    // "forcefully closes the session"): the waiting GET gets a noop, and the
    // session is gone at once (a later GET: 400).
    assert.equal(r.text, "6");
    await assertSessionGone(ctx.server, sid);
  });

  it("an invalid packet closes the session", async () => {
    const { sid } = await handshake(ctx.server);
    // The reference answers this POST 'ok' and closes the session; the answer itself is not checked.
    await post(ctx.server, sid, "9not-a-packet-type");
    await sleep(100);
    await assertSessionGone(ctx.server, sid);
  });

  it("a ping from the client (wrong heartbeat direction in v4) closes the session", async () => {
    const { sid } = await handshake(ctx.server);
    await post(ctx.server, sid, "2");
    await sleep(100);
    await assertSessionGone(ctx.server, sid);
  });

  it("a binary (application/octet-stream) POST body is refused with 400 in EIO v4", async () => {
    const { sid } = await handshake(ctx.server);
    const res = await post(ctx.server, sid, Buffer.from([1, 2, 3]), { headers: { "Content-Type": "application/octet-stream" } });
    assert.equal(res.status, 400);
  });
});

describe("long-polling limits (--max-payload 1000)", () => {
  const ctx = useEchoServer({ args: ["--max-payload", "1000"] });

  it("a POST of exactly maxPayload bytes is accepted", async () => {
    const { sid } = await handshake(ctx.server);
    const body = "4" + "x".repeat(999);
    assert.deepEqual(await echoOverPolling(ctx.server, sid, body), [body]);
  });

  it("a POST larger than maxPayload gets 413 and the session is closed", async () => {
    const { sid } = await handshake(ctx.server);
    const res = await post(ctx.server, sid, "4" + "x".repeat(5000));
    assert.equal(res.status, 413);
    await sleep(100);
    if (isReference) {
      // npm engine.io 6.6 answers 413 but keeps the session open. The issue
      // requires the session to be closed, so sio-server deliberately differs.
      const r = await post(ctx.server, sid, "4still here");
      assert.equal(r.status, 200);
      await post(ctx.server, sid, "1");
    } else {
      await assertSessionGone(ctx.server, sid);
    }
  });
});

describe("heartbeat over polling (--ping-interval 300 --ping-timeout 200)", () => {
  const ctx = useEchoServer({ args: ["--ping-interval", "300", "--ping-timeout", "200"] });

  it("the server pings every pingInterval; a client answering '3' stays open", async () => {
    const { sid } = await handshake(ctx.server);
    const t0 = Date.now();
    let pings = 0;
    while (pings < 4) {
      const r = await poll(ctx.server, sid, { timeout: 2000 });
      assert.equal(r.status, 200);
      for (const pkt of decodePayload(r.text)) {
        assert.equal(pkt, "2", `only pings expected, got ${JSON.stringify(r.text)}`);
        pings++;
        const p = await post(ctx.server, sid, "3");
        assert.equal(p.status, 200);
      }
    }
    const elapsed = Date.now() - t0;
    // 4 pings 300 ms apart: about 1.2 s; neither much faster nor much slower.
    assert.ok(elapsed >= 1000 && elapsed < 2500, `4 pings took ${elapsed} ms`);
    // Still open: a message is echoed.
    assert.deepEqual(await echoOverPolling(ctx.server, sid, "4alive"), ["4alive"]);
    await post(ctx.server, sid, "1");
  });

  it("a client that never answers the ping is closed after pingTimeout: its next request gets 400 code 1", async () => {
    const { sid } = await handshake(ctx.server);
    const t0 = Date.now();
    const r = await poll(ctx.server, sid, { timeout: 2000 });
    assert.equal(r.text, "2");
    const pingAt = Date.now() - t0;
    assert.ok(pingAt >= 200 && pingAt < 1000, `ping after ${pingAt} ms`);
    // No pong: the session must be gone once pingTimeout (200 ms) has passed.
    await sleep(200 + 300);
    await assertSessionGone(ctx.server, sid);
  });

  it("a GET waiting when the ping timeout fires is released, and the session is gone", async () => {
    const { sid } = await handshake(ctx.server);
    const r = await poll(ctx.server, sid, { timeout: 2000 });
    assert.equal(r.text, "2");
    const t0 = Date.now();
    const waiting = await poll(ctx.server, sid, { timeout: 3000 });
    const waited = Date.now() - t0;
    assert.ok(waited < 1000, `the waiting GET was released after ${waited} ms`);
    // The reference answers it with the close packet "1".
    if (waiting.status === 200) assert.equal(waiting.text, "1");
    else assert.deepEqual(jsonBody(waiting), { code: 1, message: "Session ID unknown" });
    await assertSessionGone(ctx.server, sid);
  });
});

describe("long-polling answers are not cached", () => {
  const ctx = useEchoServer();
  it("GET and POST answers carry Cache-Control: no-store, as the reference's", async () => {
    const { sid } = await handshake(ctx.server);
    const p = await post(ctx.server, sid, "4x");
    assert.equal(p.status, 200);
    assert.equal(p.headers["cache-control"], "no-store");
    const g = await poll(ctx.server, sid);
    assert.equal(g.status, 200);
    assert.equal(g.headers["cache-control"], "no-store");
    await post(ctx.server, sid, "1");
  });
});
