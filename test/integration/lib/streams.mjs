// Helpers for the Redis Streams adapter's recovery tests (streams_*.test.mjs).
import { Manager } from "socket.io-client";

import { record, until } from "./sio.mjs";

/**
 * A client with reconnection on (as applications run it), on `server`;
 * resolves once connected. moveTo(other) cuts its transport (a transport
 * close on the client, as a network change) and points its reconnection at
 * another node.
 */
export async function recoverable(t, server, { transports = ["websocket"], delay = 800 } = {}) {
  const m = new Manager(server.url, { transports, reconnectionDelay: delay, reconnectionDelayMax: delay, randomizationFactor: 0, timeout: 5000 });
  const s = record(m.socket("/"));
  s.connects = 0;
  s.on("connect", () => s.connects++);
  t.after(() => {
    s.disconnect();
    m.disconnect();
  });
  await until(() => s.connected, { timeout: 10_000, what: "connected" });
  s.moveTo = (other) => {
    m.uri = other.url; // the next Engine.IO connection goes there
    m.engine.close();
  };
  return s;
}
