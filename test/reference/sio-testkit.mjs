#!/usr/bin/env node
// Reference Socket.IO apps on npm `socket.io` 4.8 behind Node's http server, the
// counterparts of `sio-server --app testkit|chat|bench|conformance`, with the same
// option names, so the integration tests can run against either one
// (SIO_TEST_TARGET=reference; test/integration/lib/server.mjs picks this script
// for those apps).
//
//   node test/reference/sio-testkit.mjs [--host 127.0.0.1] [--port 3000] [--path /socket.io/]
//        [--ping-interval MS] [--ping-timeout MS] [--max-payload BYTES]
//        [--connect-timeout MS] [--cleanup-empty-namespaces[=1|0]]
//        [--app testkit|chat|bench|conformance] [--parser default|msgpack]
//        [--transports polling,websocket] [--allow-upgrades[=1|0]] [--cookie NAME]
//        [--add-trailing-slash[=1|0]]
//
// testkit (the default) behaves as test/apps/testkit.c describes: namespaces "/"
// (middlewares: auth.refuse -> refused with {reason:"by-test"}; auth.slow ->
// accepted from a timer, 1 ms, or auth.slow ms when it is a positive number),
// "/admin" and dynamic "/dyn-*"; events echo, join, leave, to, except,
// broadcast, all, volatile, ask, disconnect-me, rooms, handshake, reasons,
// namespaces (the names in io._nsps; with --cleanup-empty-namespaces, Node's
// cleanupEmptyChildNamespaces, emptied "/dyn-*" children leave it).
// Each server-side disconnect is printed on stdout as
// "testkit: disconnect NSP ID REASON".
// Handshakes whose query has "deny" are refused by allowRequest with its value
// as the message (testkit.c's sio_options.allow_request).
import http from "node:http";
import { createRequire } from "node:module";
import { applyEngineOption, engineDefaults, engineServerOptions } from "./engine-options.mjs";

const require = createRequire(import.meta.url);
const { Server } = require("socket.io");
const engineio = require("engine.io");

const APPS = ["testkit", "chat", "bench", "conformance"];

function usage(msg) {
  if (msg) process.stderr.write(`sio-testkit: ${msg}\n`);
  process.stderr.write(
    "usage: sio-testkit.mjs [--host H] [--port P] [--path P] [--ping-interval MS] " +
      `[--ping-timeout MS] [--max-payload BYTES] [--connect-timeout MS] [--cleanup-empty-namespaces] [--app ${APPS.join("|")}] ` +
      "[--parser default|msgpack]\n",
  );
  process.exit(2);
}

const opts = {
  host: process.env.SIO_HOST || "0.0.0.0",
  port: Number(process.env.SIO_PORT || 3000),
  path: process.env.SIO_PATH || "/socket.io/",
  pingInterval: Number(process.env.SIO_PING_INTERVAL || 25000),
  pingTimeout: Number(process.env.SIO_PING_TIMEOUT || 20000),
  maxPayload: Number(process.env.SIO_MAX_PAYLOAD || 1000000),
  connectTimeout: Number(process.env.SIO_CONNECT_TIMEOUT || 45000),
  app: process.env.SIO_APP || "testkit",
  cleanupEmptyNamespaces: /^(1|true)$/.test(process.env.SIO_CLEANUP_EMPTY_NAMESPACES ?? ""),
  parser: process.env.SIO_PARSER || "default",
  wsDeflate: /^(1|true)$/.test(process.env.SIO_WS_DEFLATE ?? ""),
  ...engineDefaults(),
};

const argv = process.argv.slice(2);
const numeric = (name, v) => {
  if (!/^\d+$/.test(v ?? "")) usage(`${name} needs a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
  const value = () => {
    if (inline !== undefined) return inline;
    if (i + 1 >= argv.length) usage(`${name} needs a value`);
    return argv[++i];
  };
  switch (name) {
    case "--host": opts.host = value(); break;
    case "--port": opts.port = numeric(name, value()); break;
    case "--path": opts.path = value(); break;
    case "--ping-interval": opts.pingInterval = numeric(name, value()); break;
    case "--ping-timeout": opts.pingTimeout = numeric(name, value()); break;
    case "--max-payload": opts.maxPayload = numeric(name, value()); break;
    case "--connect-timeout": opts.connectTimeout = numeric(name, value()); break;
    case "--app": opts.app = value(); break;
    case "--cleanup-empty-namespaces":
      if (inline !== undefined && !/^(1|0|true|false)$/.test(inline)) usage(`${name} takes 1, 0, true or false`);
      opts.cleanupEmptyNamespaces = inline === undefined || /^(1|true)$/.test(inline);
      break;
    case "--parser": opts.parser = value(); break;
    // sio-server's --recovery-window / --recovery-run-middlewares: Node's
    // connectionStateRecovery {maxDisconnectionDuration, skipMiddlewares}.
    case "--recovery-window": opts.recoveryWindow = numeric(name, value()); break;
    case "--recovery-run-middlewares":
      opts.recoveryRunMiddlewares = inline === undefined || /^(1|true)$/.test(inline);
      break;
    // The log bounds are sio-server's own (Node's log is bounded by age only).
    case "--recovery-log-bytes":
    case "--recovery-log-age":
      value();
      break;
    case "--ws-deflate":
      // sio-server's --ws-deflate: engine.io's perMessageDeflate (threshold 1024).
      if (inline !== undefined && !/^(1|0|true|false)$/.test(inline)) usage(`${name} takes 1, 0, true or false`);
      opts.wsDeflate = inline === undefined || /^(1|true)$/.test(inline);
      break;
    case "-h":
    case "--help":
      usage();
      break;
    default:
      if (!applyEngineOption(opts, name, inline, value, usage)) usage(`unknown option ${a}`);
  }
}
if (!APPS.includes(opts.app)) usage(`unknown app ${opts.app}`);
if (opts.parser !== "default" && opts.parser !== "msgpack") usage(`unknown parser ${opts.parser}`);

const httpServer = http.createServer();
const io = new Server(httpServer, {
  path: opts.path,
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  maxHttpBufferSize: opts.maxPayload,
  connectTimeout: opts.connectTimeout,
  cleanupEmptyChildNamespaces: opts.cleanupEmptyNamespaces,
  perMessageDeflate: opts.wsDeflate,
  ...engineServerOptions(opts),
  addTrailingSlash: opts.addTrailingSlash,
  ...(opts.recoveryWindow
    ? {
        connectionStateRecovery: {
          maxDisconnectionDuration: opts.recoveryWindow,
          skipMiddlewares: !opts.recoveryRunMiddlewares,
        },
      }
    : {}),
  // testkit.c's allow_request: a "deny" query parameter refuses the handshake.
  ...(opts.app === "testkit"
    ? {
        allowRequest: (req, callback) => {
          const deny = new URL(req.url, "http://x").searchParams.get("deny");
          callback(deny === null ? null : deny, deny === null);
        },
      }
    : {}),
  serveClient: false,
  // sio-server's --parser: npm socket.io-msgpack-parser, or socket.io's own.
  ...(opts.parser === "msgpack" ? { parser: require("socket.io-msgpack-parser") } : {}),
});
// The prefix engine.io serves (its _computePath).
const servedPath = opts.path.replace(/\/$/, "") + (opts.addTrailingSlash ? "/" : "");
// Anything outside the Engine.IO paths (engine.io answers its own paths first).
httpServer.on("request", (req, res) => {
  if (!res.headersSent && !res.writableEnded && !req.url.startsWith(servedPath) && !req.url.startsWith("/engine.io/")) {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("Not Found");
  }
});

/** Splits an event's arguments into [args, ack (or null)]. */
function split(args) {
  return typeof args[args.length - 1] === "function" ? [args.slice(0, -1), args[args.length - 1]] : [args, null];
}

// ---------------------------------------------------------------------------
// testkit

const reasons = new Map(); // namespace name -> [{id, reason}], oldest first, at most 50

function testkitSocket(socket) {
  const nsp = socket.nsp;
  const on = (event, fn) =>
    socket.on(event, (...all) => {
      const [args, ack] = split(all);
      fn(args, ack);
    });
  const ok = (ack) => ack && ack("ok");

  on("echo", (args, ack) => (ack ? ack(...args) : socket.emit("echo", ...args)));
  on("join", ([room], ack) => {
    if (typeof room === "string") socket.join(room);
    ok(ack);
  });
  on("leave", ([room], ack) => {
    if (typeof room === "string") socket.leave(room);
    ok(ack);
  });
  on("to", ([rooms, event, ...payload], ack) => {
    const list = typeof rooms === "string" ? [rooms] : Array.isArray(rooms) ? rooms.filter((r) => typeof r === "string") : [];
    if (list.length && typeof event === "string") nsp.to(list).emit(event, ...payload);
    ok(ack);
  });
  on("except", ([room, ...payload], ack) => {
    if (typeof room === "string") nsp.except(room).emit("msg", ...payload);
    ok(ack);
  });
  on("broadcast", (args, ack) => {
    socket.broadcast.emit("msg", ...args);
    ok(ack);
  });
  on("all", (args, ack) => {
    nsp.emit("msg", ...args);
    ok(ack);
  });
  on("volatile", (args, ack) => {
    socket.volatile.emit("volatile", ...args);
    ok(ack);
  });
  on("ask", ([ms, ...payload], ack) => {
    const timeout = typeof ms === "number" && ms > 0 ? ms : 0;
    if (timeout) {
      socket.timeout(timeout).emit("question", ...payload, (err, ...answer) => {
        if (socket.connected) socket.emit("answer", err ? { status: "timeout", args: [] } : { status: "ok", args: answer });
      });
    } else {
      socket.emit("question", ...payload, (...answer) => socket.emit("answer", { status: "ok", args: answer }));
    }
    ok(ack);
  });
  on("disconnect-me", ([close]) => socket.disconnect(close === true));
  on("rooms", (args, ack) => ack && ack([...socket.rooms]));
  on("handshake", (args, ack) => {
    const h = socket.handshake;
    if (ack) ack({ auth: h.auth ?? {}, query: h.query, header: h.headers["x-test"] ?? null, address: h.address });
  });
  on("reasons", (args, ack) => ack && ack(reasons.get(nsp.name) ?? []));
  on("namespaces", (args, ack) => ack && ack([...io._nsps.keys()]));
  const roomList = (rooms) =>
    typeof rooms === "string" ? [rooms] : Array.isArray(rooms) ? rooms.filter((r) => typeof r === "string") : [];
  on("volatile-to", ([rooms, event, ...payload], ack) => {
    const list = roomList(rooms);
    if (list.length && typeof event === "string") nsp.to(list).volatile.emit(event, ...payload);
    ok(ack);
  });
  on("ask-to", ([rooms, event, ...payload], ack) => {
    const list = roomList(rooms);
    if (list.length && typeof event === "string") nsp.to(list).timeout(2000).emit(event, ...payload, () => {});
    ok(ack);
  });
  on("set-data", ([value], ack) => {
    socket.data = value;
    ok(ack);
  });
  on("data", (args, ack) => ack && ack(socket.data ?? {}));
  on("recovered", (args, ack) => ack && ack(socket.recovered));
  on("fetch", async (args, ack) => {
    const all = await nsp.fetchSockets();
    if (ack) ack(all.map((x) => ({ id: x.id, rooms: [...x.rooms], data: x.data })));
  });
  socket.on("disconnect", (reason) => {
    let list = reasons.get(nsp.name);
    if (!list) reasons.set(nsp.name, (list = []));
    list.push({ id: socket.id, reason });
    if (list.length > 50) list.shift();
    process.stdout.write(`testkit: disconnect ${nsp.name} ${socket.id} ${reason}\n`);
  });
}

function startTestkit() {
  const root = io.of("/");
  root.use((socket, next) => {
    const refuse = socket.handshake.auth?.refuse;
    if (typeof refuse !== "string") return next();
    const err = new Error(refuse);
    err.data = { reason: "by-test" };
    next(err);
  });
  root.use((socket, next) => {
    const slow = socket.handshake.auth?.slow;
    if (slow === undefined || slow === null || slow === false) return next();
    const delay = typeof slow === "number" && slow >= 1 ? Math.min(Math.floor(slow), 10000) : 1;
    setTimeout(() => next(), delay);
  });
  root.on("connection", testkitSocket);
  io.of("/admin").on("connection", testkitSocket);
  io.of(/^\/dyn-.*$/).on("connection", testkitSocket);
}

// ---------------------------------------------------------------------------
// chat, bench, conformance (see src/app/chat.c, bench.c, conformance.c)

function startChat() {
  const root = io.of("/");
  root.on("connection", (socket) => {
    root.emit("users", root.sockets.size);
    socket.on("message", (...all) => {
      const [[text, room], ack] = split(all);
      const t = typeof text === "string" ? text : JSON.stringify(text);
      const line = `Client #${socket.id} said: ${t}`;
      if (typeof room === "string") root.to(room).emit("message", line);
      else root.emit("message", line);
      if (ack) ack();
    });
    for (const ev of ["join", "leave"]) {
      socket.on(ev, (...all) => {
        const [[room], ack] = split(all);
        const ok = typeof room === "string";
        if (ok) ev === "join" ? socket.join(room) : socket.leave(room);
        if (ack) ack(ok ? "ok" : "error");
      });
    }
    socket.on("disconnect", () => root.emit("users", root.sockets.size));
  });
}

function startBench() {
  const root = io.of("/");
  root.on("connection", (socket) => {
    socket.on("echo", (...all) => {
      const [args, ack] = split(all);
      if (ack) ack(...args);
    });
    socket.on("join", (...all) => {
      const [[room], ack] = split(all);
      if (typeof room === "string") socket.join(room);
      if (ack) ack("ok");
    });
    socket.on("to", (...all) => {
      const [[room, ...payload], ack] = split(all);
      if (typeof room !== "string") return;
      root.to(room).emit("msg", ...payload);
      if (ack) ack("ok");
    });
    socket.on("all", (...all) => {
      const [args, ack] = split(all);
      root.emit("msg", ...args);
      if (ack) ack("ok");
    });
  });
}

let echoEngine = null;

function startConformance() {
  for (const name of ["/", "/custom"]) {
    io.of(name).on("connection", (socket) => {
      socket.emit("auth", socket.handshake.auth ?? {});
      socket.on("message", (...args) => socket.emit("message-back", ...split(args)[0]));
      socket.on("message-with-ack", (...all) => {
        const [args, ack] = split(all);
        if (ack) ack(...args);
      });
    });
  }
  echoEngine = new engineio.Server({
    pingInterval: opts.pingInterval,
    pingTimeout: opts.pingTimeout,
    maxHttpBufferSize: opts.maxPayload,
    transports: ["polling", "websocket"],
  });
  echoEngine.attach(httpServer, { path: "/engine.io/" });
  echoEngine.on("connection", (socket) => socket.on("message", (data) => socket.send(data)));
}

({ testkit: startTestkit, chat: startChat, bench: startBench, conformance: startConformance })[opts.app]();

httpServer.listen(opts.port, opts.host, () => {
  const addr = httpServer.address();
  process.stdout.write(`sio-testkit (reference socket.io, app ${opts.app}) listening on ${addr.address}:${addr.port}${opts.path}\n`);
});

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  if (echoEngine) echoEngine.close();
  // io.close() disconnects every socket ("server shutting down"), tells each
  // client (close packet on a waiting GET, WebSocket close), then closes the
  // listener. Idle keep-alive connections would hold that close: drop them a
  // little later (not at once, or a waiting GET loses its close packet).
  io.close(() => process.exit(0));
  setTimeout(() => httpServer.closeAllConnections(), 100).unref();
  // Upgraded sockets are not tracked by closeAllConnections: do not wait on them.
  setTimeout(() => process.exit(0), 500).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
