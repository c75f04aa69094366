#!/usr/bin/env node
// The Node.js reference for the admin UI tests (test/integration/admin_*):
// npm socket.io 4.8 with @socket.io/admin-ui 0.5's instrument(), running the
// chat app's events on "/" (message, join, leave, as src/app/chat.c), and the
// UI's ui/dist served at /admin/ as sio-server serves it. The same options as
// sio-server's for what the tests use:
//
//   node test/reference/admin-node.mjs [--host H] [--port P]
//        --admin-auth USER:BCRYPT_HASH|none [--admin-mode development|production]
//        [--admin-readonly] [--admin-namespace /admin] [--redis URL] [--server-id ID]
//        [--adapter redis|redis-streams] [--recovery-window MS] [--app chat]
//
// --redis: the classic @socket.io/redis-adapter 8.3 (a node of a mixed cluster),
// or with --adapter redis-streams @socket.io/redis-streams-adapter 0.3;
// --recovery-window: connectionStateRecovery (maxDisconnectionDuration MS).
// Prints "listening on http://HOST:PORT/socket.io/"; exits 0 on SIGTERM/SIGINT.
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { Server } = require("socket.io");
const { instrument } = require("@socket.io/admin-ui");

const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../node_modules/@socket.io/admin-ui/ui/dist");

const opts = { host: "127.0.0.1", port: 3000, auth: null, mode: "development", readonly: false, nsp: "/admin", redis: null, serverId: undefined, adapter: "redis", recovery: 0 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
  const value = () => (inline !== undefined ? inline : argv[++i]);
  switch (name) {
    case "--host": opts.host = value(); break;
    case "--port": opts.port = Number(value()); break;
    case "--admin-auth": opts.auth = value(); break;
    case "--admin-mode": opts.mode = value(); break;
    case "--admin-readonly": opts.readonly = inline === undefined ? true : inline !== "0"; break;
    case "--admin-namespace": opts.nsp = value(); break;
    case "--redis": opts.redis = value(); break;
    case "--server-id": opts.serverId = value(); break;
    case "--adapter": opts.adapter = value(); break;
    case "--recovery-window": opts.recovery = Number(value()); break;
    case "--app": value(); break;
    default:
      process.stderr.write(`admin-node: unknown option ${a}\n`);
      process.exit(2);
  }
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "application/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml", ".map": "application/json" };
const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (!url.pathname.startsWith("/admin/")) return; // socket.io answers its own path
  if (!opts.auth) {
    res.writeHead(404).end();
    return;
  }
  const rel = url.pathname.slice("/admin/".length) || "index.html";
  const file = path.join(UI_DIR, path.normalize(rel));
  if (!file.startsWith(UI_DIR) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] || "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
});

let adapter;
let clients = [];
if (opts.redis) {
  const { createAdapter } = require("@socket.io/redis-adapter");
  const { createClient } = require("redis");
  const pub = createClient({ url: opts.redis });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => process.stderr.write(`admin-node: redis: ${e.message}\n`));
  await Promise.all([pub.connect(), sub.connect()]);
  if (opts.adapter === "redis-streams") {
    const { createAdapter: createStreamsAdapter } = require("@socket.io/redis-streams-adapter");
    adapter = createStreamsAdapter(pub);
  } else {
    adapter = createAdapter(pub, sub);
  }
  clients = [pub, sub];
}
const io = new Server(httpServer, {
  serveClient: false,
  ...(adapter ? { adapter } : {}),
  ...(opts.recovery > 0 ? { connectionStateRecovery: { maxDisconnectionDuration: opts.recovery } } : {}),
});

const nsp = io.of("/");
nsp.on("connection", (socket) => {
  io.emit("users", nsp.sockets.size);
  socket.on("message", (text, room, ack) => {
    if (typeof room === "function") [ack, room] = [room, undefined];
    const line = `Client #${socket.id} said: ${typeof text === "string" ? text : JSON.stringify(text)}`;
    (typeof room === "string" ? nsp.to(room) : nsp).emit("message", line);
    if (typeof ack === "function") ack();
  });
  for (const ev of ["join", "leave"]) {
    socket.on(ev, (room, ack) => {
      const ok = typeof room === "string";
      if (ok) socket[ev](room);
      if (typeof ack === "function") ack(ok ? "ok" : "error");
    });
  }
  socket.on("disconnect", () => io.emit("users", nsp.sockets.size));
});

if (opts.auth) {
  let auth = false;
  if (opts.auth !== "none") {
    const i = opts.auth.indexOf(":");
    auth = { type: "basic", username: opts.auth.slice(0, i), password: opts.auth.slice(i + 1) };
  }
  instrument(io, { auth, mode: opts.mode, readonly: opts.readonly, namespaceName: opts.nsp, serverId: opts.serverId });
}

httpServer.listen(opts.port, opts.host, () => {
  process.stdout.write(`listening on http://${opts.host}:${httpServer.address().port}/socket.io/\n`);
});

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  io.close();
  for (const c of clients) await c.quit().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
