// Helpers of the connection state recovery tests (recovery_*.test.mjs): a TCP
// proxy that can reset every connection through it (both sides get an RST,
// as when a NAT entry or a Wi-Fi link dies), and small waits.
import net from "node:net";

/**
 * A TCP proxy on 127.0.0.1 to targetPort. resetAll() resets every proxied
 * connection (RST to the client and to the server); cut(pair) one of them.
 * `pairs` are the live ones ({client, upstream, born}). close() stops it.
 */
export async function resetProxy(targetPort) {
  const pairs = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    const pair = { client, upstream, born: Date.now() };
    pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const cut = (pair) => {
    pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.upstream.resetAndDestroy();
  };
  return {
    port: server.address().port,
    url: `http://127.0.0.1:${server.address().port}`,
    pairs,
    cut,
    resetAll() {
      for (const p of [...pairs]) cut(p);
    },
    close() {
      for (const p of [...pairs]) cut(p);
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Resolves on the socket's next `event` (rejects after timeout ms). */
export function once(socket, event, timeout = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeout} ms`)), timeout);
    socket.once(event, (...a) => {
      clearTimeout(timer);
      resolve(a);
    });
  });
}

/** socket.emitWithAck with a timeout. */
export function ask(socket, event, ...args) {
  return socket.timeout(10_000).emitWithAck(event, ...args);
}

/** The events' args without the trailing offset a recovering server appends. */
export function withoutOffset(args) {
  return typeof args[args.length - 1] === "string" ? args.slice(0, -1) : args;
}
