// HTTP compression, as the reference's: long-polling answers of at least
// httpCompression.threshold (1024 bytes) go out gzip- or deflate-coded when the
// GET's Accept-Encoding asks (Content-Encoding, no Vary; the reference streams
// them chunked where sio-server sends a Content-Length), decoded by real
// clients (engine.io-client and socket.io-client on their fetch() polling
// transport: Node's XMLHttpRequest sends no Accept-Encoding and gets identity
// answers from both servers); smaller answers, clients that take neither
// coding, and --http-compression-threshold 0 get identity. The static demo
// page and the client bundle (sio-server only: the reference serves neither
// here) are compressed once, with their own ETag, Vary: Accept-Encoding and a
// 304 on it, and made again when the file changes.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import zlib from "node:zlib";
import { Fetch } from "engine.io-client";

import { nextMessage, openClient } from "./lib/client.mjs";
import { SEP, handshake, poll, post, request } from "./lib/eio.mjs";
import { isReference, startServer, useEchoServer } from "./lib/server.mjs";
import { connect, emitAck, nextEvent, startSio, until } from "./lib/sio.mjs";

const BIG = 5000; // over the default threshold, and compressible

/** A text message of n characters that compresses well but not trivially. */
function text(n, seed = 1) {
  const words = ["socket", "io", "room", "event", "ack", "polling", " ", "{", "}", "\""];
  let s = "";
  let x = seed;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += words[(x >>> 16) % words.length];
  }
  return s.slice(0, n);
}

/** Opens a session, has the echo app queue `msg`, and GETs it with `headers`. */
async function echoedPoll(server, msg, headers) {
  const { sid } = await handshake(server);
  const p = await post(server, sid, `4${msg}`);
  assert.equal(p.status, 200);
  // The echo is queued before the POST is answered, or very soon after: a GET
  // sent now gets it at once or holds until it is queued.
  const res = await poll(server, sid, { headers });
  assert.equal(res.status, 200);
  return { sid, res };
}

function decode(res) {
  const enc = res.headers["content-encoding"];
  if (enc === "gzip") return zlib.gunzipSync(res.body).toString("utf8");
  if (enc === "deflate") return zlib.inflateSync(res.body).toString("utf8");
  assert.equal(enc, undefined, `unexpected Content-Encoding ${enc}`);
  return res.text;
}

/** The framing is the server's own business: a Content-Length that is right, or chunked. */
function assertFraming(res) {
  if (res.headers["content-length"] !== undefined) assert.equal(Number(res.headers["content-length"]), res.body.length);
  else assert.equal(res.headers["transfer-encoding"], "chunked");
}

/**
 * Records the Content-Encoding of every polling GET answer fetch() gets while
 * the test runs (engine.io-client's Fetch transport calls the global fetch).
 */
function watchFetch(t) {
  const seen = [];
  const orig = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    const res = await orig(url, init);
    if ((init?.method ?? "GET") === "GET") seen.push(res.headers.get("content-encoding"));
    return res;
  };
  t.after(() => (globalThis.fetch = orig));
  return seen;
}

describe("long-polling answers, default threshold", () => {
  const ctx = useEchoServer();

  test("Accept-Encoding: gzip: a big answer is gzip-coded, Content-Encoding without Vary, the bytes gunzip to the payload", async () => {
    const msg = text(BIG);
    const { res } = await echoedPoll(ctx.server, msg, { "Accept-Encoding": "gzip" });
    assert.equal(res.headers["content-encoding"], "gzip");
    assert.equal(res.headers.vary, undefined, "the reference sends no Vary on polling answers");
    assert.equal(res.headers["content-type"], "text/plain; charset=UTF-8");
    assertFraming(res);
    assert.ok(res.body.length < BIG / 4, `${res.body.length} bytes on the wire for ${BIG}`);
    assert.equal(zlib.gunzipSync(res.body).toString("utf8"), `4${msg}`);
  });

  test("Accept-Encoding: deflate (and gzip;q=0.5, deflate): the zlib format, inflateSync decodes it", async () => {
    const msg = text(BIG, 2);
    for (const ae of ["deflate", "gzip;q=0.5, deflate"]) {
      const { res } = await echoedPoll(ctx.server, msg, { "Accept-Encoding": ae });
      assert.equal(res.headers["content-encoding"], "deflate", ae);
      assertFraming(res);
      assert.equal(zlib.inflateSync(res.body).toString("utf8"), `4${msg}`, ae);
    }
  });

  test("several packets in one answer are compressed together, separators included", async () => {
    const { sid } = await handshake(ctx.server);
    const parts = [text(800, 3), text(900, 4), text(700, 5)];
    await post(ctx.server, sid, parts.map((p) => `4${p}`).join(SEP));
    let got = [];
    await until(
      async () => {
        const res = await poll(ctx.server, sid, { headers: { "Accept-Encoding": "gzip, deflate" } });
        assertFraming(res);
        got.push(...decode(res).split(SEP));
        return got.length >= 3;
      },
      { timeout: 10_000, what: "the three echoes" },
    );
    assert.deepEqual(got, parts.map((p) => `4${p}`));
  });

  test("no compression under the threshold, without Accept-Encoding, or for codings not offered (br, identity, q=0)", async () => {
    const small = await echoedPoll(ctx.server, text(1022), { "Accept-Encoding": "gzip" }); // "4" + 1022 = 1023 bytes
    assert.equal(small.res.headers["content-encoding"], undefined);
    assert.equal(small.res.text.length, 1023);
    const at = await echoedPoll(ctx.server, text(1023), { "Accept-Encoding": "gzip" }); // 1024: compressed
    assert.equal(at.res.headers["content-encoding"], "gzip");
    assert.equal(zlib.gunzipSync(at.res.body).length, 1024);
    for (const headers of [{}, { "Accept-Encoding": "br" }, { "Accept-Encoding": "identity" }, { "Accept-Encoding": "gzip;q=0, deflate;q=0" }]) {
      const msg = text(BIG, 6);
      const { res } = await echoedPoll(ctx.server, msg, headers);
      assert.equal(res.headers["content-encoding"], undefined, JSON.stringify(headers));
      assert.equal(Number(res.headers["content-length"]), BIG + 1);
      assert.equal(res.text, `4${msg}`);
    }
  });

  test("engine.io-client on fetch() polling: big messages round trip, the answers came gzip-coded", async (t) => {
    const seen = watchFetch(t);
    const socket = await openClient(t, ctx.server, { transports: [Fetch], upgrade: false });
    for (let i = 0; i < 3; i++) {
      const msg = text(BIG + i * 1000, 10 + i);
      socket.send(msg);
      assert.equal(await nextMessage(socket, 10_000), msg);
    }
    assert.ok(seen.includes("gzip"), `answers' Content-Encoding: ${JSON.stringify(seen)}`);
  });

  test("engine.io-client on fetch() asking for deflate only: the answers are deflate-coded and decoded", async (t) => {
    const seen = watchFetch(t);
    const socket = await openClient(t, ctx.server, { transports: [Fetch], upgrade: false, extraHeaders: { "Accept-Encoding": "deflate" } });
    const msg = text(BIG * 2, 20);
    socket.send(msg);
    assert.equal(await nextMessage(socket, 10_000), msg);
    assert.ok(seen.includes("deflate") && !seen.includes("gzip"), `answers' Content-Encoding: ${JSON.stringify(seen)}`);
  });

  test("engine.io-client on XMLHttpRequest (the Node default) sends no Accept-Encoding: identity answers, still right", async (t) => {
    const socket = await openClient(t, ctx.server, { transports: ["polling"], upgrade: false });
    const msg = text(BIG, 30);
    socket.send(msg);
    assert.equal(await nextMessage(socket, 10_000), msg);
  });
});

describe("long-polling answers, --http-compression-threshold", () => {
  test("0: never compressed, whatever the client accepts", async (t) => {
    const server = await startServer({ args: ["--app", "eio-echo", "--http-compression-threshold", "0"] });
    t.after(() => server.stop());
    const msg = text(BIG * 4, 40);
    const { res } = await echoedPoll(server, msg, { "Accept-Encoding": "gzip, deflate" });
    assert.equal(res.headers["content-encoding"], undefined);
    assert.equal(res.text, `4${msg}`);
  });

  test("100 (SIO_HTTP_COMPRESSION_THRESHOLD): answers from 100 bytes are compressed", async (t) => {
    const server = await startServer({ args: ["--app", "eio-echo"], env: { SIO_HTTP_COMPRESSION_THRESHOLD: "100" } });
    t.after(() => server.stop());
    const under = await echoedPoll(server, text(98), { "Accept-Encoding": "gzip" });
    assert.equal(under.res.headers["content-encoding"], undefined);
    const msg = text(99);
    const { res } = await echoedPoll(server, msg, { "Accept-Encoding": "gzip" });
    assert.equal(res.headers["content-encoding"], "gzip");
    assert.equal(zlib.gunzipSync(res.body).toString(), `4${msg}`);
  });
});

describe("Socket.IO over fetch() polling", () => {
  test("a big acked echo, and a big broadcast to many polling receivers, all decoded; the answers were compressed", async (t) => {
    const server = await startSio(t, "testkit");
    const seen = watchFetch(t);
    const mode = { transports: [Fetch], upgrade: false };
    const sender = await connect(t, server, mode);
    const big = text(3000, 50);
    assert.deepEqual(await emitAck(sender, "echo", big, { nested: big.slice(0, 1500) }), [big, { nested: big.slice(0, 1500) }]);
    const receivers = [];
    for (let i = 0; i < 12; i++) {
      const s = await connect(t, server, mode); // recorded (see record())
      assert.deepEqual(await emitAck(s, "join", "room-z"), ["ok"]);
      receivers.push(s);
    }
    // Every receiver's GET is held when the broadcasts go out (the server
    // shares one compressed answer among those whose queues are alike).
    for (let k = 0; k < 3; k++) {
      const payload = { k, body: text(2500, 60 + k) };
      assert.deepEqual(await emitAck(sender, "to", "room-z", "msg", payload), ["ok"]);
      for (const s of receivers) assert.deepEqual(await nextEvent(s, "msg", 10_000), [payload]);
    }
    assert.ok(seen.filter((e) => e === "gzip").length >= 12, `answers' Content-Encoding: ${JSON.stringify(seen)}`);
  });
});

describe("static files", { skip: isReference && "sio-server only (the reference serves no static site here)" }, () => {
  test("the demo page and socket.io.min.js: gzip with their own ETag and Vary, 304 on it, identity otherwise", async (t) => {
    const server = await startServer();
    t.after(() => server.stop());
    for (const p of ["/", "/socket.io/socket.io.min.js"]) {
      const plain = await request(server, { path: p });
      assert.equal(plain.status, 200, p);
      assert.equal(plain.headers["content-encoding"], undefined, p);
      assert.equal(plain.headers.vary, "Accept-Encoding", `${p}: a cache must keep the variants apart`);
      assert.match(plain.headers.etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
      for (const [ae, coding, unzip] of [
        ["gzip, deflate, br", "gzip", zlib.gunzipSync],
        ["deflate", "deflate", zlib.inflateSync],
      ]) {
        const z = await request(server, { path: p, headers: { "Accept-Encoding": ae } });
        assert.equal(z.status, 200);
        assert.equal(z.headers["content-encoding"], coding, `${p} ${ae}`);
        assert.equal(z.headers.vary, "Accept-Encoding");
        assert.equal(Number(z.headers["content-length"]), z.body.length);
        assert.ok(z.body.length < plain.body.length / 2, `${p}: ${z.body.length} of ${plain.body.length} bytes`);
        assert.deepEqual(unzip(z.body), plain.body, `${p} ${coding} decodes to the file`);
        assert.equal(z.headers.etag, plain.headers.etag.replace(/"$/, `-${coding}"`));
        assert.equal(z.headers["content-type"], plain.headers["content-type"]);
        const again = await request(server, { path: p, headers: { "Accept-Encoding": ae, "If-None-Match": z.headers.etag } });
        assert.equal(again.status, 304, `${p}: If-None-Match with the ${coding} ETag`);
        assert.equal(again.headers.etag, z.headers.etag);
        assert.equal(again.headers.vary, "Accept-Encoding");
        // The identity ETag names another representation: not a match for a gzip answer.
        const other = await request(server, { path: p, headers: { "Accept-Encoding": ae, "If-None-Match": plain.headers.etag } });
        assert.equal(other.status, 200);
        assert.equal(other.headers["content-encoding"], coding);
        const head = await request(server, { method: "HEAD", path: p, headers: { "Accept-Encoding": ae } });
        assert.equal(head.status, 200);
        assert.equal(head.headers["content-length"], z.headers["content-length"]);
      }
      const plain304 = await request(server, { path: p, headers: { "If-None-Match": plain.headers.etag } });
      assert.equal(plain304.status, 304);
    }
  });

  test("small files, images and --http-compression-threshold 0 stay identity; a changed file is compressed anew", async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "sio-httpz-"));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    fs.writeFileSync(path.join(root, "index.html"), "<!doctype html><title>tiny</title>");
    fs.writeFileSync(path.join(root, "big.js"), text(20_000, 70));
    fs.writeFileSync(path.join(root, "pic.png"), Buffer.alloc(20_000, 7));
    const server = await startServer({ args: ["--static", root] });
    t.after(() => server.stop());
    const gz = { "Accept-Encoding": "gzip" };
    const tiny = await request(server, { path: "/", headers: gz });
    assert.equal(tiny.headers["content-encoding"], undefined);
    assert.equal(tiny.headers.vary, undefined, "a file under the threshold has one representation");
    const pic = await request(server, { path: "/pic.png", headers: gz });
    assert.equal(pic.headers["content-encoding"], undefined, "images are not compressed again");
    assert.equal(pic.body.length, 20_000);

    const first = await request(server, { path: "/big.js", headers: gz });
    assert.equal(first.headers["content-encoding"], "gzip");
    assert.equal(zlib.gunzipSync(first.body).toString(), text(20_000, 70));
    // A new content of the same size and an mtime a second later.
    const file = path.join(root, "big.js");
    fs.writeFileSync(file, text(20_000, 71));
    const later = new Date(Date.now() + 2000);
    fs.utimesSync(file, later, later);
    const second = await request(server, { path: "/big.js", headers: gz });
    assert.equal(second.headers["content-encoding"], "gzip");
    assert.equal(zlib.gunzipSync(second.body).toString(), text(20_000, 71), "the cached variant of the old file is not served");
    assert.notEqual(second.headers.etag, first.headers.etag);

    const off = await startServer({ args: ["--static", root, "--http-compression-threshold", "0"] });
    t.after(() => off.stop());
    const plain = await request(off, { path: "/big.js", headers: gz });
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.equal(plain.headers.vary, undefined);
    assert.equal(plain.text, text(20_000, 71));
  });
});
