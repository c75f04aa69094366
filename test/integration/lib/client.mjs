// Helpers around the real npm engine.io-client 6.x.
import { Socket } from "engine.io-client";

export const MODES = {
  "polling only": { transports: ["polling"], upgrade: false },
  "WebSocket only": { transports: ["websocket"], upgrade: false },
  "polling upgraded to WebSocket": { transports: ["polling", "websocket"], upgrade: true },
};

/**
 * Opens an engine.io-client Socket and resolves once it is open. The socket
 * records its messages (socket.inbox), pings (socket.pings) and close
 * (socket.closed = {reason, description}). `t` (a TestContext) closes it after
 * the test.
 */
export function openClient(t, server, opts = {}, { timeout = 10_000 } = {}) {
  const socket = new Socket(server.url, { path: "/socket.io/", ...opts });
  t.after(() => socket.close());
  socket.inbox = [];
  socket.waiters = [];
  socket.pings = 0;
  socket.closed = null;
  socket.on("message", (data) => {
    const w = socket.waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.resolve(data);
    } else socket.inbox.push(data);
  });
  socket.on("ping", () => socket.pings++);
  socket.on("close", (reason, description) => {
    socket.closed = { reason, description };
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client did not open within ${timeout} ms`)), timeout);
    socket.once("open", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
    socket.once("close", (reason) => {
      clearTimeout(timer);
      reject(new Error(`client closed before open: ${reason}`));
    });
  });
}

/** The next message the socket receives. */
export function nextMessage(socket, timeout = 5000) {
  if (socket.inbox.length) return Promise.resolve(socket.inbox.shift());
  return new Promise((resolve, reject) => {
    const w = { resolve, timer: null };
    w.timer = setTimeout(() => {
      socket.waiters.splice(socket.waiters.indexOf(w), 1);
      reject(new Error(`no message within ${timeout} ms (transport ${socket.transport?.name}, state ${socket.readyState})`));
    }, timeout);
    socket.waiters.push(w);
  });
}

/** Resolves with the socket's transport once the `upgrade` event fired. */
export function waitUpgrade(socket, timeout = 5000) {
  if (socket.transport?.name === "websocket") return Promise.resolve(socket.transport);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no upgrade within ${timeout} ms`)), timeout);
    socket.once("upgrade", (transport) => {
      clearTimeout(timer);
      resolve(transport);
    });
    socket.once("upgradeError", (e) => {
      clearTimeout(timer);
      reject(new Error(`upgrade failed: ${e?.message ?? e}`));
    });
  });
}

/** Resolves with {reason, description} when the socket closes. */
export function waitClose(socket, timeout = 5000) {
  if (socket.closed) return Promise.resolve(socket.closed);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeout} ms`)), timeout);
    socket.once("close", (reason, description) => {
      clearTimeout(timer);
      resolve({ reason, description });
    });
  });
}
