// nginx (nginx/sio.conf) in front of three sio-server nodes, all started by
// compose/run-local.sh on 127.0.0.1 and stopped in the after hooks:
// - with ip_hash, 100 polling-only socket.io-client clients connect and
//   exchange messages (bench app: echo with ack) without a single "Session ID
//   unknown"; they all come from 127.0.0.1, so they all land on one node;
// - without ip_hash (IP_HASH=0, round-robin) the same clients fail with
//   "Session ID unknown": the test proves the config matters;
// - WebSocket-only clients, and polling upgraded to WebSocket, work through nginx;
// - when the node that serves the clients dies, they reconnect through nginx
//   to another node;
// - what nginx passes on to a node (headers, upgrade, streaming both ways),
//   checked against a recording HTTP server standing in for the node.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { io } from "socket.io-client";

import { isAlive, NGINX_TEMPLATE, runLocal, startNginx, upstreamCounts, useCluster } from "./lib/cluster.mjs";
import { eioPath, handshake, jsonBody, post, request, wsConnect } from "./lib/eio.mjs";
import { freePort, REPO_ROOT } from "./lib/server.mjs";
import { emitAck, normalize, sleep, until } from "./lib/sio.mjs";

// Nodes shut down quickly at `down` (idle polling sessions left by the failing
// round-robin clients would otherwise hold each node for 10 s).
const NODE_ARGS = ["--shutdown-timeout", "1000"];
const SESSION_UNKNOWN = "Session ID unknown";

/**
 * n socket.io-client sockets (new Manager each) to url with opts. Each socket
 * records its problems (connect_error, disconnect not asked for) with the
 * body of the failed HTTP request when there is one. Closed after the test.
 */
function openClients(t, url, n, opts = {}) {
  const clients = [];
  for (let i = 0; i < n; i++) {
    const s = io(url, { forceNew: true, reconnection: false, timeout: 10_000, ...opts });
    s.problems = [];
    s.on("connect_error", (e) => s.problems.push(describeError("connect_error", e.message, e)));
    s.on("disconnect", (reason, details) => {
      if (!s.closing) s.problems.push(describeError("disconnect", reason, details));
    });
    clients.push(s);
  }
  t.after(() => closeClients(clients));
  return clients;
}

function describeError(kind, what, e) {
  const body = e?.context?.responseText;
  return `${kind}: ${what}${e?.description !== undefined ? ` (${e.description?.message ?? e.description})` : ""}${body ? ` ${body}` : ""}`;
}

function closeClients(clients) {
  for (const s of clients) {
    s.closing = true;
    s.io.opts.reconnection = false;
    s.disconnect();
  }
}

/** Resolves once every socket is connected; rejects with the first problem. */
function allConnected(clients, timeout = 15_000) {
  return Promise.all(
    clients.map(
      (s, i) =>
        new Promise((resolve, reject) => {
          if (s.connected) return resolve();
          const timer = setTimeout(() => reject(new Error(`client ${i} not connected within ${timeout} ms: ${s.problems.join("; ")}`)), timeout);
          s.once("connect", () => {
            clearTimeout(timer);
            resolve();
          });
          s.once("connect_error", (e) => {
            clearTimeout(timer);
            reject(new Error(`client ${i}: ${describeError("connect_error", e.message, e)}`));
          });
        }),
    ),
  );
}

/** `rounds` echo round trips per socket, all sockets at once; asserts each ack. */
async function echoAll(clients, rounds = 3) {
  await Promise.all(
    clients.map(async (s, i) => {
      for (let r = 0; r < rounds; r++) {
        const args = [i, `round ${r}`, { from: s.id, r }, Buffer.from([i & 0xff, r, 255])];
        const ack = await emitAck(s, "echo", ...args);
        assert.deepEqual(normalize(ack), normalize(args), `client ${i} round ${r}`);
      }
    }),
  );
}

/** sio-server --help (to see whether it has the Redis adapter). */
function helpText() {
  const bin = path.resolve(REPO_ROOT, process.env.SIO_SERVER_BIN || "build/sio-server");
  const r = spawnSync(bin, ["--help"], { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`;
}

/** p, or a rejection with `what` after ms (the timer does not outlive p). */
function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([p, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]).finally(() => clearTimeout(timer));
}

/** Access-log entries of the Engine.IO path only. */
const eioEntries = (entries) => entries.filter((e) => e.uri === "/socket.io/");

/** Entries that are session errors: a request for a sid answered 400. */
const sessionErrors = (entries) => eioEntries(entries).filter((e) => e.sid && e.status === 400);

function problemsOf(clients) {
  return clients.flatMap((s, i) => s.problems.map((p) => `client ${i}: ${p}`));
}

describe("nginx with ip_hash in front of three nodes (run-local.sh)", () => {
  const h = useCluster({ ipHash: true, nodeArgs: NODE_ARGS });

  test("run-local.sh recorded three live nodes on distinct ports, and status says they are up", async () => {
    const c = h.cluster;
    assert.equal(c.nodes.length, 3);
    assert.equal(new Set(c.nodes.map((n) => n.port)).size, 3);
    for (const n of c.nodes) assert.ok(n.port > 0 && isAlive(n.pid), JSON.stringify(n));
    assert.ok(isAlive(c.nginxPid));
    assert.match(c.upOutput, /nginx\s+http:\/\/127\.0\.0\.1:\d+/);
    const st = await runLocal(["status"], c.env);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    for (const n of c.nodes) assert.match(st.stdout, new RegExp(`${n.name}\\s+up\\s+127\\.0\\.0\\.1:${n.port}\\s+pid ${n.pid}`));
  });

  test("100 polling-only clients connect and echo without a single session error, all on one node", async (t) => {
    const c = h.cluster;
    const from = c.accessLog().length;
    const errorsFrom = c.errorLog().length;
    const clients = openClients(t, c.url, 100, { transports: ["polling"] });
    await allConnected(clients);
    assert.equal(new Set(clients.map((s) => s.id)).size, 100);
    for (const s of clients) assert.equal(s.io.engine.transport.name, "polling");
    await echoAll(clients, 3);
    // A little quiet time, for late errors on the polling requests in flight.
    await sleep(300);

    assert.deepEqual(problemsOf(clients), []);
    const entries = eioEntries(c.accessLog().slice(from));
    assert.deepEqual(sessionErrors(entries), []);
    const bad = entries.filter((e) => e.status >= 400);
    assert.deepEqual(bad, [], "no request through nginx failed");
    // Handshakes (no sid), GETs and POSTs: 100 clients, 3 echoes each.
    assert.ok(entries.filter((e) => !e.sid).length >= 100, "100 handshakes logged");
    assert.ok(entries.filter((e) => e.method === "POST").length >= 100, "POSTs logged");
    // Every client comes from 127.0.0.1: ip_hash sends them all to one node.
    const counts = upstreamCounts(entries.filter((e) => e.upstream));
    assert.equal(Object.keys(counts).length, 1, `all requests on one node, got ${JSON.stringify(counts)}`);
    assert.ok(c.nodeByAddr(Object.keys(counts)[0]), `the upstream is one of the nodes: ${JSON.stringify(counts)}`);
    for (const n of c.nodes) assert.ok(!c.nodeLog(n.name).includes(SESSION_UNKNOWN), `${n.name} log`);
    // nginx itself saw no trouble with the nodes (refused, reset, timed out).
    const errors = c.errorLog().slice(errorsFrom).split("\n").filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
    assert.deepEqual(errors, []);
  });

  test("/metrics is refused through nginx (also encoded or with doubled slashes); /healthz passes", async () => {
    const c = h.cluster;
    const viaNginx = { port: c.port };
    for (const p of ["/metrics", "/%6detrics", "//metrics", "/metrics?x=1"]) {
      const res = await request(viaNginx, { path: p });
      assert.ok(res.status === 404 || res.status === 403, `${p} through nginx: ${res.status}`);
      assert.ok(!res.text.includes("sio_sessions"), `${p} through nginx leaked the metrics`);
    }
    const health = await request(viaNginx, { path: "/healthz" });
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.text), { status: "ok" });
    // The node itself still answers its loopback scraper.
    const direct = await request({ port: c.nodes[0].port }, { path: "/metrics" });
    assert.equal(direct.status, 200);
    assert.match(direct.text, /sio_sessions/);
  });

  test("WebSocket-only clients connect and echo through nginx", async (t) => {
    const c = h.cluster;
    const from = c.accessLog().length;
    const clients = openClients(t, c.url, 20, { transports: ["websocket"] });
    await allConnected(clients);
    for (const s of clients) assert.equal(s.io.engine.transport.name, "websocket");
    await echoAll(clients, 3);
    assert.deepEqual(problemsOf(clients), []);
    // nginx logs a tunnel when it closes.
    closeClients(clients);
    const upgraded = () => eioEntries(c.accessLog().slice(from)).filter((e) => e.status === 101 && e.transport === "websocket");
    await until(() => upgraded().length >= 20, { timeout: 5000, what: "20 upgraded requests (101) in the access log" });
    assert.equal(Object.keys(upstreamCounts(upgraded())).length, 1, "one node (ip_hash)");
  });

  test("polling upgraded to WebSocket works through nginx (probe and upgrade on the same node)", async (t) => {
    const c = h.cluster;
    const from = c.accessLog().length;
    const clients = openClients(t, c.url, 10, { transports: ["polling", "websocket"] });
    await allConnected(clients);
    await Promise.all(
      clients.map(
        (s) =>
          new Promise((resolve, reject) => {
            if (s.io.engine.transport.name === "websocket") return resolve();
            const timer = setTimeout(() => reject(new Error("no upgrade within 5 s")), 5000);
            s.io.engine.once("upgrade", () => {
              clearTimeout(timer);
              resolve();
            });
            s.io.engine.once("upgradeError", (e) => {
              clearTimeout(timer);
              reject(new Error(`upgrade failed: ${e?.message ?? e}`));
            });
          }),
      ),
    );
    await echoAll(clients, 2);
    assert.deepEqual(problemsOf(clients), []);
    assert.deepEqual(sessionErrors(c.accessLog().slice(from)), []);
  });

  test("the nodes share broadcasts through Redis (when sio-server has --redis)", async (t) => {
    const c = h.cluster;
    if (!/--redis/.test(helpText())) return t.skip("this sio-server has no --redis option");
    // One client straight on each node (nginx would put them all on one).
    const clients = c.nodes.map((n) => {
      const [s] = openClients(t, `http://127.0.0.1:${n.port}`, 1, { transports: ["websocket"] });
      s.msgs = [];
      s.on("msg", (...args) => s.msgs.push(args));
      return s;
    });
    await allConnected(clients);
    const tag = `cross-node-${Math.random()}`;
    // The subscriptions are made asynchronously at start: retry for a while.
    await until(
      async () => {
        await emitAck(clients[0], "all", tag);
        await sleep(200);
        return clients.every((s) => s.msgs.some(([v]) => v === tag));
      },
      { timeout: 5000, step: 0, what: "a broadcast from node1 reaching clients on every node" },
    );
  });

  // Last of this cluster: it kills a node.
  test("when the node serving the clients dies, they reconnect through nginx to another node", async (t) => {
    const c = h.cluster;
    const clients = openClients(t, c.url, 10, {
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 500,
      randomizationFactor: 0,
    });
    await allConnected(clients);
    await echoAll(clients, 1);
    const sids = new Set(clients.map((s) => s.io.engine.id));
    const served = eioEntries(c.accessLog()).filter((e) => sids.has(e.sid) && e.upstream);
    const upstreams = new Set(served.map((e) => e.upstream));
    assert.equal(upstreams.size, 1, `one node serves them: ${[...upstreams]}`);
    const victim = c.nodeByAddr([...upstreams][0]);
    assert.ok(victim, "the serving node is known");

    // The next "connect" of each socket is its reconnection (a new session).
    const reconnected = clients.map((s) => new Promise((resolve) => s.once("connect", resolve)));
    const from = c.accessLog().length;
    await c.killNode(victim.name, "SIGKILL");
    const st = await runLocal(["status"], c.env);
    assert.equal(st.code, 1, "status fails while a node is down");
    assert.match(st.stdout, new RegExp(`${victim.name}\\s+DOWN`));
    await withTimeout(Promise.all(reconnected), 10_000, "not every client reconnected within 10 s");
    for (const s of clients) s.problems.length = 0; // the disconnects were expected
    await echoAll(clients, 2);

    const after = eioEntries(c.accessLog().slice(from)).filter((e) => e.upstream);
    const newSids = new Set(clients.map((s) => s.io.engine.id));
    const now = new Set(after.filter((e) => newSids.has(e.sid)).map((e) => e.upstream.split(", ").at(-1)));
    assert.equal(now.size, 1, `the clients moved to one node: ${[...now]}`);
    assert.notEqual([...now][0], `127.0.0.1:${victim.port}`, "they moved away from the dead node");
    assert.ok(c.nodeByAddr([...now][0]), "to one of the other nodes");
    // A new client connects and echoes too.
    const [late] = openClients(t, c.url, 1, { transports: ["polling"] });
    await allConnected([late]);
    await echoAll([late], 1);
    assert.deepEqual(problemsOf(clients.concat(late)), []);
  });
});

describe("nginx without ip_hash (IP_HASH=0, round-robin): sessions break", () => {
  const h = useCluster({ ipHash: false, nodeArgs: NODE_ARGS });

  test("the rendered upstream has no ip_hash", async () => {
    const conf = fs.readFileSync(`${h.cluster.stateDir}/nginx/sio.conf`, "utf8");
    assert.doesNotMatch(conf, /^\s*ip_hash;/m);
    assert.doesNotMatch(conf, /^\s*hash\s/m);
  });

  test("a raw polling session: requests for its sid reach nodes that answer Session ID unknown", async () => {
    const c = h.cluster;
    const { sid } = await handshake(c);
    // POST a noop (6) six times: round-robin spreads them over the 3 nodes.
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await post(c, sid, "6"));
    const refused = results.filter((r) => r.status === 400);
    const accepted = results.filter((r) => r.status === 200);
    assert.ok(refused.length >= 1, `some requests refused: ${results.map((r) => r.status)}`);
    for (const r of refused) assert.deepEqual(jsonBody(r), { code: 1, message: SESSION_UNKNOWN });
    assert.ok(accepted.length >= 1, "the node that has the session accepts");
    // Close the session on its node (round-robin gets there within 3 tries).
    for (let i = 0; i < 3; i++) if ((await post(c, sid, "1")).status === 200) break;
  });

  test("100 polling-only clients: session errors occur (at least one)", async (t) => {
    const c = h.cluster;
    const from = c.accessLog().length;
    const clients = openClients(t, c.url, 100, { transports: ["polling"] });
    const outcomes = await Promise.all(
      clients.map(
        (s) =>
          new Promise((resolve) => {
            const timer = setTimeout(() => resolve("timeout"), 15_000);
            const done = (v) => {
              clearTimeout(timer);
              resolve(v);
            };
            s.once("connect_error", () => done("error"));
            s.once("disconnect", () => done("error"));
            s.once("connect", async () => {
              try {
                for (let r = 0; r < 3; r++) await emitAck(s, "echo", r);
                done("ok");
              } catch {
                done("error");
              }
            });
          }),
      ),
    );
    const problems = problemsOf(clients);
    const unknown = problems.filter((p) => p.includes(SESSION_UNKNOWN));
    const failed = outcomes.filter((o) => o !== "ok").length;
    t.diagnostic(`round-robin: ${failed}/100 clients failed, ${unknown.length} "${SESSION_UNKNOWN}" errors seen by clients`);
    assert.ok(unknown.length >= 1, `at least one "${SESSION_UNKNOWN}" error; problems: ${problems.slice(0, 5).join("; ")}`);
    assert.ok(failed >= 1);
    const entries = eioEntries(c.accessLog().slice(from));
    assert.ok(sessionErrors(entries).length >= 1, "nginx logged requests for a sid answered 400");
    const counts = upstreamCounts(entries.filter((e) => e.upstream));
    assert.equal(Object.keys(counts).length, 3, `requests spread over the 3 nodes: ${JSON.stringify(counts)}`);
  });
});

// ---------------------------------------------------------------------------
// What nginx passes on to a node, seen by a recording HTTP server that stands
// in for it (run-local.sh nginx-config renders nginx/sio.conf for it).

describe("nginx/sio.conf: what reaches the node", () => {
  let fake;
  let nginx;
  const seen = [];
  const hooks = {}; // per-test behaviour of the fake node
  const tunnels = new Set(); // upgraded sockets, which fake.close() would wait for

  before(async () => {
    fake = http.createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, httpVersion: req.httpVersion, headers: req.headers });
      const hook = hooks[new URL(req.url, "http://x").pathname];
      if (hook) return hook(req, res);
      req.resume();
      req.on("end", () => res.end("ok"));
    });
    fake.on("upgrade", (req, sock) => {
      seen.push({ method: req.method, url: req.url, httpVersion: req.httpVersion, headers: req.headers, upgrade: true });
      const accept = crypto
        .createHash("sha1")
        .update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
        .digest("base64");
      sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      sock.write(Buffer.from([0x81, 2, 0x68, 0x69])); // text frame "hi"
      sock.on("error", () => {});
      tunnels.add(sock);
      sock.on("close", () => tunnels.delete(sock));
    });
    const port = await freePort();
    await new Promise((r) => fake.listen(port, "127.0.0.1", r));
    nginx = await startNginx([`127.0.0.1:${port}`]);
  });

  test("Host, X-Real-IP, X-Forwarded-For, X-Forwarded-Proto; HTTP/1.1 with keepalive", async () => {
    seen.length = 0;
    const res = await request(nginx, { path: eioPath(), headers: { "X-Forwarded-For": "203.0.113.7" } });
    assert.equal(res.status, 200);
    const r = seen.at(-1);
    assert.equal(r.url, eioPath());
    assert.equal(r.headers.host, `127.0.0.1:${nginx.port}`);
    assert.equal(r.headers["x-real-ip"], "127.0.0.1");
    assert.equal(r.headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert.equal(r.headers["x-forwarded-proto"], "http");
    assert.equal(r.httpVersion, "1.1");
    // No "Connection: close": the connection to the node is kept for the next request.
    assert.equal(r.headers.connection, undefined);
    assert.equal(r.headers.upgrade, undefined);
    await request(nginx, { path: eioPath() });
    assert.equal(seen.at(-1).headers["x-forwarded-for"], "127.0.0.1");
  });

  test("WebSocket: Upgrade and Connection reach the node, and the tunnel carries frames", async () => {
    seen.length = 0;
    const r = await wsConnect(nginx, eioPath({ transport: "websocket" }));
    assert.equal(r.status, 101);
    const up = seen.find((x) => x.upgrade);
    assert.ok(up, "the node saw an upgrade request");
    assert.equal(up.headers.upgrade.toLowerCase(), "websocket");
    assert.equal(up.headers.connection.toLowerCase(), "upgrade");
    assert.equal(up.headers["x-real-ip"], "127.0.0.1");
    const m = await r.ws.next();
    assert.deepEqual(m, { binary: false, data: "hi" });
    r.ws.destroy();
  });

  test("request bodies are streamed to the node (proxy_request_buffering off)", async () => {
    let gotFirst;
    const firstPart = new Promise((r) => (gotFirst = r));
    hooks["/stream-up"] = (req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (d) => {
        body += d;
        if (body.includes("part1")) gotFirst();
      });
      req.on("end", () => res.end(body));
    };
    const req = http.request({ host: "127.0.0.1", port: nginx.port, method: "POST", path: "/stream-up", agent: false });
    const done = new Promise((resolve, reject) => {
      req.on("response", (res) => {
        let b = "";
        res.on("data", (d) => (b += d));
        res.on("end", () => resolve(b));
      });
      req.on("error", reject);
    });
    req.write("part1"); // chunked: the body is not complete yet
    await withTimeout(firstPart, 3000, "the node saw nothing before the body was complete");
    req.end("part2");
    assert.equal(await done, "part1part2");
  });

  // A sanity check rather than a proof: nginx 1.22 also forwards a partial
  // response at once with proxy_buffering on (it differs in spooling a large
  // response for a slow client); this guards against anything that would
  // hold a long-polling answer back.
  test("a response reaches the client as the node writes it, before its end", async () => {
    let release;
    const released = new Promise((r) => (release = r));
    hooks["/stream-down"] = async (req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.write("first");
      await released; // the rest only once the client has the first part
      res.end("second");
    };
    const body = await new Promise((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port: nginx.port, path: "/stream-down", agent: false }, (res) => {
        let b = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          b += d;
          if (b === "first") release();
        });
        res.on("end", () => resolve(b));
      });
      req.on("error", reject);
      setTimeout(() => reject(new Error("the first part did not arrive before the end")), 3000).unref();
    });
    assert.equal(body, "firstsecond");
  });

  test("timeouts above pingInterval + pingTimeout; ip_hash on, hash consistent documented", async () => {
    const conf = nginx.sioConf();
    const secs = (name) => {
      const m = new RegExp(`^\\s*${name}\\s+(\\d+)s;`, "m").exec(conf);
      assert.ok(m, `${name} set`);
      return Number(m[1]);
    };
    assert.ok(secs("proxy_read_timeout") > 25 + 20);
    assert.ok(secs("proxy_send_timeout") > 25 + 20);
    assert.match(conf, /^\s*ip_hash;/m);
    const template = fs.readFileSync(NGINX_TEMPLATE, "utf8");
    assert.match(template, /^\s*#\s*hash \$remote_addr consistent;/m);
    assert.match(template, /^\s*# @nodes-begin/m);
  });

  after(async () => {
    await nginx?.stop();
    for (const s of tunnels) s.destroy();
    fake?.closeAllConnections();
    await new Promise((r) => (fake ? fake.close(r) : r()));
  });
});

// The polling clients' keep-alive connections (Node's global agent) would
// hold the process for their idle timeout after the last test.
after(() => http.globalAgent.destroy());
