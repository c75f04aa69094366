#!/usr/bin/env node
// Reference Engine.IO echo server: npm `engine.io` 6.6 behind Node's http server.
// Echoes every message back (text as text, binary as binary). Takes the same
// option names as `sio-server --app eio-echo`, so the integration tests can run
// against either one (SIO_TEST_TARGET=reference).
//
//   node test/reference/eio-echo.mjs [--host 127.0.0.1] [--port 3000] [--path /socket.io/]
//        [--ping-interval MS] [--ping-timeout MS] [--max-payload BYTES]
//        [--cors-origin ORIGIN]... [--http-compression-threshold BYTES] [--app eio-echo]
//
// With one or more --cors-origin, polling answers carry CORS headers for those
// origins (with credentials), and a handshake (polling or WebSocket) whose Origin
// header is present and not in the list is refused through engine.io's
// allowRequest hook (403 {"code":4,"message":"Forbidden"} on polling). Requests
// without an Origin header (non-browser clients) are allowed.
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Server } = require("engine.io");

function usage(msg) {
  if (msg) process.stderr.write(`eio-echo: ${msg}\n`);
  process.stderr.write(
    "usage: eio-echo.mjs [--host H] [--port P] [--path P] [--ping-interval MS] " +
      "[--ping-timeout MS] [--max-payload BYTES] [--cors-origin ORIGIN]... [--http-compression-threshold BYTES] [--app eio-echo]\n",
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
  corsOrigins: process.env.SIO_CORS_ORIGIN ? process.env.SIO_CORS_ORIGIN.split(",") : [],
  wsDeflate: /^(1|true)$/.test(process.env.SIO_WS_DEFLATE ?? ""),
  // engine.io's httpCompression.threshold (its default 1024); 0: httpCompression off.
  httpCompressionThreshold: Number(process.env.SIO_HTTP_COMPRESSION_THRESHOLD ?? 1024),
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
    case "--cors-origin": opts.corsOrigins.push(value()); break;
    case "--ws-deflate":
      // sio-server's --ws-deflate: engine.io's perMessageDeflate (threshold 1024).
      if (inline !== undefined && !/^(1|0|true|false)$/.test(inline)) usage(`${name} takes 1, 0, true or false`);
      opts.wsDeflate = inline === undefined || /^(1|true)$/.test(inline);
      break;
    case "--http-compression-threshold": opts.httpCompressionThreshold = numeric(name, value()); break;
    case "--app": {
      const app = value();
      if (app !== "eio-echo") usage(`only --app eio-echo is offered by this reference, not ${app}`);
      break;
    }
    case "-h":
    case "--help":
      process.stdout.write(
        "usage: eio-echo.mjs [options]\n" +
          "  --host H             address to listen on (SIO_HOST, default 0.0.0.0)\n" +
          "  --port P             port (SIO_PORT, default 3000)\n" +
          "  --path P             Engine.IO path (SIO_PATH, default /socket.io/)\n" +
          "  --ping-interval MS   (SIO_PING_INTERVAL, default 25000)\n" +
          "  --ping-timeout MS    (SIO_PING_TIMEOUT, default 20000)\n" +
          "  --max-payload BYTES  (SIO_MAX_PAYLOAD, default 1000000)\n" +
          "  --cors-origin ORIGIN allowed origin, repeatable (SIO_CORS_ORIGIN, comma-separated)\n" +
          "  --http-compression-threshold BYTES  httpCompression.threshold; 0: off\n" +
          "                       (SIO_HTTP_COMPRESSION_THRESHOLD, default 1024)\n" +
          "  --app eio-echo       the only app of this reference\n",
      );
      process.exit(0);
    default: usage(`unknown option ${a}`);
  }
}

const engineOpts = {
  path: opts.path,
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  maxHttpBufferSize: opts.maxPayload,
  transports: ["polling", "websocket"],
  perMessageDeflate: opts.wsDeflate === true,
  httpCompression: opts.httpCompressionThreshold ? { threshold: opts.httpCompressionThreshold } : false,
};
if (opts.corsOrigins.includes("*")) {
  // sio-server's '*': any origin, as the cors package's origin '*' (a literal
  // "Access-Control-Allow-Origin: *", no credentials).
  engineOpts.cors = { origin: "*" };
} else if (opts.corsOrigins.length) {
  engineOpts.cors = { origin: opts.corsOrigins, credentials: true };
  engineOpts.allowRequest = (req, callback) => {
    const origin = req.headers.origin;
    const ok = origin === undefined || opts.corsOrigins.includes(origin);
    callback(null, ok);
  };
}

const httpServer = http.createServer((req, res) => {
  // Anything outside the Engine.IO path.
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("Not Found");
});
const engine = new Server(engineOpts);
engine.attach(httpServer, { path: opts.path });

engine.on("connection", (socket) => {
  socket.on("message", (data) => socket.send(data));
});

httpServer.listen(opts.port, opts.host, () => {
  const addr = httpServer.address();
  process.stdout.write(`eio-echo (reference engine.io) listening on ${addr.address}:${addr.port}${opts.path}\n`);
});

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  engine.close();
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections();
  // Upgraded sockets are not tracked by closeAllConnections: do not wait on them.
  setTimeout(() => process.exit(0), 500).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
