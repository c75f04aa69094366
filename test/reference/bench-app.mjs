#!/usr/bin/env node
// Reference bench app: npm `socket.io` 4.8 (default `ws` engine, default
// pingInterval/pingTimeout) running the same app as `sio-server --app bench`, so
// that bench/sio-bench can measure both the same way (scripts/bench).
//
//   node test/reference/bench-app.mjs [--host 127.0.0.1] [--port 3000] [--path /socket.io/]
//                                     [--ws-deflate] [--recovery-window MS]
//                                     [--admin-auth none [--admin-mode development|production]]
//
// --admin-auth none: @socket.io/admin-ui 0.5's instrument(io, { auth: false, mode })
// on /admin, as sio-server's --admin-auth none (scripts/bench-admin: its cost).
// --recovery-window MS: sio-server's option of that name, here
// connectionStateRecovery: { maxDisconnectionDuration: MS } (0, the default: off),
// so that scripts/bench measures what recovery costs both servers.
//
// Namespace "/":
//   echo (...args, ack)   acks with the same arguments
//   join (room, ack)      joins the room and acks "ok"
//   to (room, payload)    emits "msg" with the payload to every socket in the room
//                         (io.to(room).emit: the sender too when it is a member)
//   all (payload)         emits "msg" with the payload to everyone
// Prints "listening on http://HOST:PORT" when ready; exits 0 on SIGTERM/SIGINT.
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Server } = require("socket.io");

function usage(msg) {
  if (msg) process.stderr.write(`bench-app: ${msg}\n`);
  process.stderr.write("usage: bench-app.mjs [--host H] [--port P] [--path P] [--ws-deflate] [--recovery-window MS] [--admin-auth none] [--admin-mode M]\n");
  process.exit(2);
}

const opts = { host: "127.0.0.1", port: 3000, path: "/socket.io/" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = () => {
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    return argv[++i];
  };
  switch (a) {
    case "--host": opts.host = value(); break;
    case "--port": {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) > 65535) usage(`bad port ${v}`);
      opts.port = Number(v);
      break;
    }
    case "--path": opts.path = value(); break;
    case "--app": if (value() !== "bench") usage("only --app bench is offered"); break;
    // sio-server's --ws-deflate: the reference's perMessageDeflate: true.
    case "--ws-deflate": opts.perMessageDeflate = true; break;
    case "--recovery-window": {
      const v = value();
      if (!/^\d+$/.test(v)) usage(`bad --recovery-window ${v}`);
      opts.recoveryWindow = Number(v);
      break;
    }
    case "--admin-auth":
      if (value() !== "none") usage("only --admin-auth none is offered");
      opts.admin = true;
      break;
    case "--admin-mode": {
      const v = value();
      if (v !== "development" && v !== "production") usage(`bad --admin-mode ${v}`);
      opts.adminMode = v;
      break;
    }
    case "-h":
    case "--help":
      process.stdout.write("usage: bench-app.mjs [--host H (127.0.0.1)] [--port P (3000)] [--path P (/socket.io/)] [--ws-deflate] [--recovery-window MS (0: off)] [--admin-auth none [--admin-mode development (default)|production]]\n");
      process.exit(0);
    // fall through: unreachable
    default: usage(`unknown option ${a}`);
  }
}

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("Not Found");
});
const io = new Server(httpServer, {
  path: opts.path,
  serveClient: false,
  perMessageDeflate: opts.perMessageDeflate === true,
  ...(opts.recoveryWindow ? { connectionStateRecovery: { maxDisconnectionDuration: opts.recoveryWindow } } : {}),
});

if (opts.admin) require("@socket.io/admin-ui").instrument(io, { auth: false, mode: opts.adminMode ?? "development" });

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.length && typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) ack(...args);
  });
  socket.on("join", (room, ack) => {
    socket.join(String(room));
    if (typeof ack === "function") ack("ok");
  });
  socket.on("to", (room, payload) => {
    io.to(String(room)).emit("msg", payload);
  });
  socket.on("all", (payload) => {
    io.emit("msg", payload);
  });
});

httpServer.listen(opts.port, opts.host, () => {
  const addr = httpServer.address();
  process.stdout.write(`listening on http://${addr.address}:${addr.port}${opts.path}\n`);
});

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  io.close(() => process.exit(0));
  httpServer.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
