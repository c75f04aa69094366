#!/usr/bin/env node
// A Node.js cluster node: npm `socket.io` 4.8 with `@socket.io/redis-adapter`
// 8.x (classic pub/sub, node-redis v4 clients), running the same app as
// `sio-server --app clusterkit` (test/apps/clusterkit.c), so that Node.js and C
// nodes can share one Redis in the tests (test/integration/cluster_redis*).
//
//   node test/reference/cluster-node.mjs --redis redis://127.0.0.1:6379
//        [--host 127.0.0.1] [--port 3000] [--path /socket.io/]
//        [--redis-key socket.io] [--app clusterkit|bench] [--parser default|msgpack]
//        [--adapter redis|redis-streams] [--redis-stream NAME] [--recovery-window MS]
//
// --adapter redis-streams uses @socket.io/redis-streams-adapter 0.3 (streamName
// --redis-stream, channelPrefix --redis-key) instead of @socket.io/redis-adapter;
// --recovery-window turns on connectionStateRecovery (maxDisconnectionDuration MS,
// skipMiddlewares true), as sio-server's option of that name.
//
// Namespaces "/" and "/admin", the same events in each (SELECTOR: null, a
// room or an array of rooms; ROOMS: a room or an array of rooms; commands ack
// "ok" unless said otherwise):
//   echo ...args                  ack with the same arguments
//   join ROOM / leave ROOM        join or leave a room
//   rooms                         ack with the socket's rooms
//   to ROOM ...payload            "msg" to the room (all nodes)
//   all ...payload                "msg" to everyone
//   except ROOM ...payload        "msg" to everyone not in ROOM
//   broadcast ...payload          "msg" to everyone but the sender
//   fetch SELECTOR                nsp.in(SELECTOR).fetchSockets(); ack with
//                                 ([{id, rooms}...], "ok"|"timeout")
//   sockets-join SELECTOR ROOMS   nsp.in(SELECTOR).socketsJoin(ROOMS)
//   sockets-leave SELECTOR ROOMS  nsp.in(SELECTOR).socketsLeave(ROOMS)
//   disconnect-sockets SELECTOR CLOSE
//                                 acked, then nsp.in(SELECTOR).disconnectSockets(CLOSE)
//   server-emit EVENT ARG         nsp.serverSideEmitWithAck(EVENT, ARG); ack with
//                                 (responses, "ok"|"timeout")
//   broadcast-ack ROOM|null EVENT ARG TIMEOUT_MS
//                                 nsp.to(ROOM).timeout(MS).emit(EVENT, ARG, callback)
//                                 (what emitWithAck wraps); ack with
//                                 {status: "ok"|"timeout", responses}
// Server-side events (serverSideEmit from other nodes): `echo X` answered
// with X; `size` answered with the namespace's local socket count.
// Prints "listening on http://HOST:PORT/socket.io/" when ready; exits 0 on
// SIGTERM/SIGINT.
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createAdapter: createStreamsAdapter } = require("@socket.io/redis-streams-adapter");
const { createClient } = require("redis");

function usage(msg) {
  if (msg) process.stderr.write(`cluster-node: ${msg}\n`);
  process.stderr.write("usage: cluster-node.mjs --redis URL [--host H] [--port P] [--path P] [--redis-key K] [--app clusterkit|bench] [--parser default|msgpack]\n");
  process.exit(2);
}

const opts = { host: "127.0.0.1", port: 3000, path: "/socket.io/", redis: process.env.SIO_REDIS_URL || null, key: "socket.io", parser: process.env.SIO_PARSER || "default", adapter: "redis", stream: "socket.io", recovery: 0 };
const argv = process.argv.slice(2);
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
    case "--port": {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) > 65535) usage(`bad port ${v}`);
      opts.port = Number(v);
      break;
    }
    case "--path": opts.path = value(); break;
    case "--redis": opts.redis = value(); break;
    case "--redis-key": opts.key = value(); break;
    case "--parser": opts.parser = value(); break;
    case "--adapter": opts.adapter = value(); break;
    case "--redis-stream": opts.stream = value(); break;
    case "--recovery-window": opts.recovery = Number(value()); break;
    case "--app": {
      const v = value();
      if (v !== "clusterkit" && v !== "bench") usage(`unknown app ${v}`);
      break;
    }
    case "-h":
    case "--help":
      usage();
      break;
    default: usage(`unknown option ${a}`);
  }
}
if (!opts.redis) usage("--redis is required");
if (opts.parser !== "default" && opts.parser !== "msgpack") usage(`unknown parser ${opts.parser}`);
if (opts.adapter !== "redis" && opts.adapter !== "redis-streams") usage(`unknown adapter ${opts.adapter}`);

// node-redis reconnects by itself; report its errors once per outage.
let redisDown = false;
const pub = createClient({ url: opts.redis });
const sub = pub.duplicate();
for (const c of [pub, sub]) {
  c.on("error", (e) => {
    if (!redisDown) process.stderr.write(`cluster-node: redis: ${e.message}\n`);
    redisDown = true;
  });
  c.on("ready", () => (redisDown = false));
}
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = http.createServer();
const io = new Server(httpServer, {
  path: opts.path,
  serveClient: false,
  adapter: opts.adapter === "redis-streams" ? createStreamsAdapter(pub, { streamName: opts.stream, channelPrefix: opts.key }) : createAdapter(pub, sub, { key: opts.key }),
  ...(opts.recovery > 0 ? { connectionStateRecovery: { maxDisconnectionDuration: opts.recovery, skipMiddlewares: true } } : {}),
  // sio-server's --parser: npm socket.io-msgpack-parser, or socket.io's own.
  ...(opts.parser === "msgpack" ? { parser: require("socket.io-msgpack-parser") } : {}),
});

/** Splits an event's arguments into [args, ack (or null)]. */
function split(args) {
  return typeof args[args.length - 1] === "function" ? [args.slice(0, -1), args[args.length - 1]] : [args, null];
}

const roomList = (v) => (typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((r) => typeof r === "string") : []);
/** The namespace itself for a null selector, else nsp.in(rooms). */
const select = (nsp, v) => {
  const rooms = roomList(v);
  return rooms.length ? nsp.in(rooms) : nsp;
};

function setup(nsp) {
  nsp.on("echo", (...all) => {
    const [args, ack] = split(all);
    if (ack) ack(args[0]);
  });
  nsp.on("size", (...all) => {
    const [, ack] = split(all);
    if (ack) ack(nsp.sockets.size);
  });
  nsp.on("connection", (socket) => {
    const on = (event, fn) =>
      socket.on(event, (...all) => {
        const [args, ack] = split(all);
        fn(args, ack);
      });
    const ok = (ack) => ack && ack("ok");
    on("echo", (args, ack) => ack && ack(...args));
    on("join", ([room], ack) => {
      if (typeof room === "string") socket.join(room);
      ok(ack);
    });
    on("leave", ([room], ack) => {
      if (typeof room === "string") socket.leave(room);
      ok(ack);
    });
    on("rooms", (args, ack) => ack && ack([...socket.rooms]));
    on("to", ([room, ...payload], ack) => {
      if (typeof room === "string") nsp.to(room).emit("msg", ...payload);
      ok(ack);
    });
    on("all", (payload, ack) => {
      nsp.emit("msg", ...payload);
      ok(ack);
    });
    on("except", ([room, ...payload], ack) => {
      if (typeof room === "string") nsp.except(room).emit("msg", ...payload);
      ok(ack);
    });
    on("broadcast", (payload, ack) => {
      socket.broadcast.emit("msg", ...payload);
      ok(ack);
    });
    on("fetch", async ([sel], ack) => {
      try {
        const sockets = await select(nsp, sel).fetchSockets();
        if (ack) ack(sockets.map((s) => ({ id: s.id, rooms: [...s.rooms] })), "ok");
      } catch {
        if (ack) ack([], "timeout");
      }
    });
    on("sockets-join", ([sel, rooms], ack) => {
      if (roomList(rooms).length) select(nsp, sel).socketsJoin(roomList(rooms));
      ok(ack);
    });
    on("sockets-leave", ([sel, rooms], ack) => {
      if (roomList(rooms).length) select(nsp, sel).socketsLeave(roomList(rooms));
      ok(ack);
    });
    on("disconnect-sockets", ([sel, close], ack) => {
      ok(ack);
      select(nsp, sel).disconnectSockets(close === true);
    });
    on("server-emit", async ([event, ...args], ack) => {
      if (typeof event !== "string") return ok(ack);
      try {
        const responses = await nsp.serverSideEmitWithAck(event, ...args);
        if (ack) ack(responses, "ok");
      } catch {
        if (ack) ack([], "timeout");
      }
    });
    on("broadcast-ack", ([room, event, arg, ms], ack) => {
      if (typeof event !== "string") return ok(ack);
      const timeout = typeof ms === "number" && ms > 0 ? Math.min(ms, 60000) : 5000;
      const target = typeof room === "string" ? nsp.to(room) : nsp;
      // emitWithAck() is this call wrapped in a Promise, which drops the
      // answers that came before a timeout; the callback keeps them.
      target.timeout(timeout).emit(event, arg, (err, responses) => {
        if (ack) ack({ status: err ? "timeout" : "ok", responses: responses ?? [] });
      });
    });
  });
}
setup(io.of("/"));
setup(io.of("/admin"));

httpServer.listen(opts.port, opts.host, () => {
  const addr = httpServer.address();
  process.stdout.write(`listening on http://${addr.address}:${addr.port}${opts.path}\n`);
});

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 2000).unref();
  io.close(async () => {
    await Promise.allSettled([pub.quit(), sub.quit()]);
    process.exit(0);
  });
  httpServer.closeAllConnections();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
