// Static files (--static DIR and the default demo page) served safely: only
// regular files inside the directory (no symbolic link below it is followed,
// no dotfile, no FIFO or device), traversal in all its spellings refused with
// no content leak, a FIFO never blocks the event loop, and the headers a
// static site sends (nosniff, Referrer-Policy, X-Frame-Options, the demo
// page's Content-Security-Policy, ETag/Last-Modified with 304). sio-server
// only: the reference script serves no static site.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { request } from "./lib/eio.mjs";
import { rawTcp } from "./lib/reliability.mjs";
import { isReference, startServer } from "./lib/server.mjs";

const skip = isReference && "sio-server only (the reference serves no static site)";
const SECRET = "OUTSIDE-THE-ROOT-7f3a"; // in files that must never be served
const INDEX = "<!doctype html><title>static root</title>";

/**
 * root/ (served) and outside/ (next to it, never served):
 *   root/index.html, root/app.js, root/sub/page.html,
 *   root/.env, root/.git/config, root/sub/.hidden       dotfiles
 *   root/link-out -> outside/secret.txt                 symlink out of the root
 *   root/dir-out -> outside/                            symlinked directory
 *   root/link-in -> index.html                          symlink inside the root
 *   root/pipe                                           FIFO (no writer)
 */
function makeTree() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "sio-static-"));
  const root = path.join(base, "root");
  const outside = path.join(base, "outside");
  fs.mkdirSync(path.join(root, "sub"), { recursive: true });
  fs.mkdirSync(path.join(root, ".git"));
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(root, "index.html"), INDEX);
  fs.writeFileSync(path.join(root, "app.js"), "console.log('app');\n");
  fs.writeFileSync(path.join(root, "sub", "page.html"), "<p>sub page</p>");
  fs.writeFileSync(path.join(root, ".env"), `TOKEN=${SECRET}\n`);
  fs.writeFileSync(path.join(root, ".git", "config"), `[core] ${SECRET}\n`);
  fs.writeFileSync(path.join(root, "sub", ".hidden"), SECRET);
  fs.writeFileSync(path.join(outside, "secret.txt"), SECRET);
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(root, "link-out"));
  fs.symlinkSync(outside, path.join(root, "dir-out"));
  fs.symlinkSync("index.html", path.join(root, "link-in"));
  const mk = spawnSync("mkfifo", [path.join(root, "pipe")]);
  assert.equal(mk.status, 0, `mkfifo: ${mk.stderr}`);
  return { base, root, outside };
}

function assertRefused(res, what) {
  assert.ok(res.status === 404 || res.status === 403, `${what}: status ${res.status}`);
  assert.ok(!res.text.includes(SECRET), `${what}: leaked the secret`);
  assert.ok(!res.text.includes("static root"), `${what}: served index.html`);
  assert.ok(!res.text.includes("root:x:0:0"), `${what}: served /etc/passwd`);
  assert.equal(res.headers["x-content-type-options"], "nosniff", `${what}: nosniff`);
}

/** One request written by hand, for what an HTTP client would not send; the raw answer. */
async function rawGet(server, target) {
  const c = await rawTcp(server.port);
  c.sock.write(Buffer.concat([Buffer.from("GET "), Buffer.from(target, "latin1"), Buffer.from(" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")]));
  const closed = await c.waitClosed(10_000);
  c.sock.destroy();
  assert.ok(closed, `GET ${JSON.stringify(target)}: connection not closed within 10 s`);
  return c.data().toString("latin1");
}

describe("--static DIR: confinement", { skip }, () => {
  let tree, server;
  before(async () => {
    tree = makeTree();
    server = await startServer({ args: ["--app", "eio-echo", "--static", tree.root] });
  });
  after(async () => {
    if (server) await server.stop();
    if (tree) fs.rmSync(tree.base, { recursive: true, force: true });
  });

  test("regular files inside the root are served, with nosniff and the static headers", async () => {
    const idx = await request(server, { path: "/" });
    assert.equal(idx.status, 200);
    assert.equal(idx.text, INDEX);
    assert.match(idx.headers["content-type"], /^text\/html/);
    assert.equal(idx.headers["x-content-type-options"], "nosniff");
    assert.equal(idx.headers["referrer-policy"], "no-referrer");
    assert.equal(idx.headers["x-frame-options"], "DENY");
    assert.equal(idx.headers["cache-control"], "no-cache");
    assert.match(idx.headers.etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.ok(!Number.isNaN(Date.parse(idx.headers["last-modified"])), `Last-Modified ${idx.headers["last-modified"]}`);
    // A site of one's own gets no Content-Security-Policy (it may need inline
    // scripts); only the demo page has one (below).
    assert.equal(idx.headers["content-security-policy"], undefined);

    const js = await request(server, { path: "/app.js" });
    assert.equal(js.status, 200);
    assert.match(js.headers["content-type"], /^application\/javascript/);
    assert.equal(js.headers["x-content-type-options"], "nosniff");
    assert.equal(js.headers["x-frame-options"], undefined, "X-Frame-Options only on HTML");

    const sub = await request(server, { path: "/sub/page.html" });
    assert.equal(sub.status, 200);
    assert.equal(sub.text, "<p>sub page</p>");
  });

  test("dotfiles and dot-directories are refused, encoded or not", async () => {
    for (const p of ["/.env", "/.git/config", "/.git/", "/sub/.hidden", "/%2eenv", "/%2Egit%2Fconfig", "/sub/%2ehidden"]) {
      assertRefused(await request(server, { path: p }), p);
    }
  });

  test("symbolic links are not followed: out of the root (file and directory) or inside it", async () => {
    for (const p of ["/link-out", "/dir-out/secret.txt", "/dir-out/", "/link-in"]) {
      assertRefused(await request(server, { path: p }), p);
    }
  });

  test("traversal variants are refused: ../, %2e%2e, encoded slashes, backslashes, NUL, empty segments", async () => {
    const out = path.basename(tree.outside);
    const paths = [
      `/../${out}/secret.txt`,
      `/sub/../../${out}/secret.txt`,
      `/%2e%2e/${out}/secret.txt`,
      `/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd`,
      `/sub/%2e%2e/%2e%2e/${out}/secret.txt`,
      `/..%2f${out}%2fsecret.txt`,
      `/sub%2f..%2f..%2f${out}%2fsecret.txt`,
      `/%2f..%2f..%2f..%2f..%2fetc%2fpasswd`,
      `/..\\${out}\\secret.txt`,
      `/sub\\..\\index.html`,
      `/..%5c${out}%5csecret.txt`,
      `/sub%5c..%5cindex.html`,
      `/index.html%00`,
      `/index.html%00.png`,
      `/%00`,
      `/sub/page.html%00.txt`,
      `/./index.html`,
      `/sub/./page.html`,
      `/sub//page.html`,
      `/sub/`,
      `/..`,
      `/.`,
      `/%2e`,
      `/%2e%2e`,
    ];
    for (const p of paths) assertRefused(await request(server, { path: p }), p);
    // Leading slashes only name the root: //etc/passwd is root/etc/passwd (absent).
    assertRefused(await request(server, { path: "//etc/passwd" }), "//etc/passwd");
  });

  test("a raw NUL byte or an absolute URL in the request line leaks nothing", async () => {
    // libmicrohttpd hands the path over as a C string, cut at a raw NUL (no
    // browser sends one: they send %00, refused above). What remains is
    // checked like any path: these targets cut to refused names.
    const out = path.basename(tree.outside);
    for (const target of ["/.env\0.png", "/link-out\0.txt", `/..\0/${out}/secret.txt`, "/sub/.hidden\0", `http://x/../${out}/secret.txt`, "http://x/.env"]) {
      const text = await rawGet(server, target);
      assert.ok(!/^HTTP\/1\.1 200/.test(text), `${JSON.stringify(target)}: ${text.slice(0, 80)}`);
      assert.ok(!text.includes(SECRET), `${JSON.stringify(target)} leaked`);
    }
  });

  test("a FIFO is refused at once and never blocks the loop: /healthz answers meanwhile", async () => {
    // Before the fix, open() of a FIFO without a writer waited forever, with
    // the whole event loop: the /healthz below would never have answered.
    const fifo = request(server, { path: "/pipe", timeout: 10_000 });
    const t0 = Date.now();
    // The bound: /healthz within 1 s while the FIFO request is out
    // (it answers in milliseconds; the blocked loop never answered at all).
    const health = await request(server, { path: "/healthz", timeout: 5000 });
    const healthMs = Date.now() - t0;
    assert.equal(health.status, 200);
    assert.ok(healthMs < 1000, `/healthz took ${healthMs} ms`);
    assertRefused(await fifo, "/pipe");
    // And a second time, with a HEAD.
    assertRefused({ ...(await request(server, { method: "HEAD", path: "/pipe" })), text: "" }, "HEAD /pipe");
  });

  test("other methods: 405 with Allow, nosniff", async () => {
    const res = await request(server, { method: "POST", path: "/index.html", body: "x" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, "GET, HEAD");
    assert.equal(res.headers["x-content-type-options"], "nosniff");
  });

  test("conditional GET: If-None-Match (strong, weak, lists, *) and If-Modified-Since answer 304", async () => {
    const first = await request(server, { path: "/app.js" });
    const { etag } = first.headers;
    const lastModified = first.headers["last-modified"];
    for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, "*"]) {
      const res = await request(server, { path: "/app.js", headers: { "If-None-Match": inm } });
      assert.equal(res.status, 304, `If-None-Match ${inm}`);
      assert.equal(res.body.length, 0);
      assert.equal(res.headers.etag, etag);
      assert.equal(res.headers["x-content-type-options"], "nosniff");
    }
    const other = await request(server, { path: "/app.js", headers: { "If-None-Match": '"nope"' } });
    assert.equal(other.status, 200);
    const ims = await request(server, { path: "/app.js", headers: { "If-Modified-Since": lastModified } });
    assert.equal(ims.status, 304);
    // If-None-Match decides when both are present.
    const both = await request(server, { path: "/app.js", headers: { "If-None-Match": '"nope"', "If-Modified-Since": lastModified } });
    assert.equal(both.status, 200);
  });
});

describe("the default demo page and the client bundle", { skip }, () => {
  let server;
  before(async () => {
    server = await startServer({ args: ["--app", "chat"] });
  });
  after(async () => {
    if (server) await server.stop();
  });

  test("the demo page carries a Content-Security-Policy, X-Frame-Options, Referrer-Policy", async () => {
    const res = await request(server, { path: "/" });
    assert.equal(res.status, 200);
    assert.match(res.text, /sio-server chat demo/);
    const csp = res.headers["content-security-policy"] ?? "";
    for (const d of ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"]) {
      assert.ok(csp.includes(d), `CSP ${csp} lacks ${d}`);
    }
    assert.ok(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"), csp);
    assert.equal(res.headers["x-frame-options"], "DENY");
    assert.equal(res.headers["referrer-policy"], "no-referrer");
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    // The page loads exactly these, all same-origin: the policy allows them.
    for (const p of ["/app.js", "/style.css", "/socket.io/socket.io.min.js"]) {
      const r = await request(server, { path: p });
      assert.equal(r.status, 200, p);
      assert.equal(r.headers["x-content-type-options"], "nosniff", p);
    }
  });

  test("the client bundle at <path>socket.io.js: served like the reference's serveClient, 304 on its ETag", async () => {
    for (const name of ["socket.io.js", "socket.io.min.js", "socket.io.min.js.map", "socket.io.msgpack.min.js"]) {
      const res = await request(server, { path: `/socket.io/${name}` });
      assert.equal(res.status, 200, name);
      assert.match(res.headers["content-type"], name.endsWith(".map") ? /^application\/json/ : /^application\/javascript/);
      assert.equal(res.headers["cache-control"], "public, max-age=0");
      assert.equal(res.headers["x-content-type-options"], "nosniff");
      assert.ok(res.body.length > 1000, `${name}: ${res.body.length} bytes`);
      const again = await request(server, { path: `/socket.io/${name}`, headers: { "If-None-Match": res.headers.etag } });
      assert.equal(again.status, 304);
    }
    if (!fs.existsSync(path.join(process.cwd(), "test/node_modules/socket.io-client/dist/socket.io.js"))) return;
    const js = await request(server, { path: "/socket.io/socket.io.js" });
    assert.match(js.text, /Socket\.IO v4/);
    assertRefused(await request(server, { path: "/socket.io/socket.io.js%00" }), "bundle%00");
    assertRefused(await request(server, { path: "/socket.io/socket.io.../package.json" }), "bundle ../");
  });
});
