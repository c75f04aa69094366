// Helpers for the admin UI tests (admin_*.test.mjs): a server with the
// @socket.io/admin-ui namespace (sio-server --admin-auth ..., or
// test/reference/admin-node.mjs: socket.io 4.8 + instrument() with
// SIO_TEST_TARGET=reference), bcrypt hashes from bcryptjs (admin-ui's own
// dependency), and an admin protocol client that records what it gets.
import { createRequire } from "node:module";
import { io } from "socket.io-client";

import { startServer } from "./server.mjs";

const require = createRequire(import.meta.url);
const bcrypt = require("bcryptjs");

export const ADMIN_REFERENCE = "test/reference/admin-node.mjs";
export const ADMIN_USER = "admin";
export const ADMIN_PASSWORD = "correct horse battery staple";
// Cost 4 keeps the tests quick; bcryptjs writes $2a$ (the forms are one algorithm).
export const ADMIN_HASH = bcrypt.hashSync(ADMIN_PASSWORD, 4);
export const ADMIN_AUTH_ARG = `${ADMIN_USER}:${ADMIN_HASH}`;

/** The chat app with the admin namespace on (extra args after). */
export function startAdminServer({ args = [], auth = ADMIN_AUTH_ARG, env = {} } = {}) {
  return startServer({ args: ["--app", "chat", "--admin-auth", auth, ...args], env, reference: ADMIN_REFERENCE });
}

/** startAdminServer, stopped after the test (a bad exit fails it). */
export async function useAdminServer(t, opts) {
  const srv = await startAdminServer(opts);
  t.after(() => srv.stop());
  return srv;
}

const ADMIN_EVENTS = ["session", "config", "server_stats", "all_sockets", "socket_connected", "socket_updated", "socket_disconnected", "room_joined", "room_left", "event_received", "event_sent"];

/**
 * An admin client on nsp (default /admin), recording every admin event as
 * {event, args} in .log (in order). Resolves once connected (or rejects with
 * the connect_error). Closed after the test.
 */
export async function adminClient(t, url, { auth = { username: ADMIN_USER, password: ADMIN_PASSWORD }, nsp = "/admin", transports, timeout = 15_000 } = {}) {
  const socket = io(url + nsp, { auth, forceNew: true, reconnection: false, ...(transports ? { transports } : {}) });
  t.after(() => socket.close());
  socket.log = [];
  for (const ev of ADMIN_EVENTS) socket.on(ev, (...args) => socket.log.push({ event: ev, args }));
  socket.seen = (event, pred = () => true) => socket.log.find((e) => e.event === event && pred(...e.args));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("admin connect timed out")), timeout);
    socket.once("connect", () => (clearTimeout(timer), resolve()));
    socket.once("connect_error", (e) => (clearTimeout(timer), reject(e)));
  });
  return socket;
}

/** A chat client (socket.io-client) on "/", connected; closed after the test. */
export async function chatClient(t, url, { transports = ["polling", "websocket"], upgrade = true } = {}) {
  const socket = io(url, { forceNew: true, transports, upgrade, reconnection: false });
  t.after(() => socket.close());
  socket.got = [];
  socket.onAny((...args) => socket.got.push(args));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("chat connect timed out")), 15_000);
    socket.once("connect", () => (clearTimeout(timer), resolve()));
    socket.once("connect_error", (e) => (clearTimeout(timer), reject(e)));
  });
  return socket;
}

/** Poll cond() until truthy (returns its value) or fail after timeout. */
export async function until(cond, { timeout = 15_000, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
