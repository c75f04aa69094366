// test/install/run.sh: two socket.io-client 4.8 clients (test/node_modules) on
// a server built from examples/chat.c against the installed libsio: both get
// "welcome" with their id, a "message" one of them sends (acknowledged)
// reaches both. One over polling then WebSocket, one WebSocket only.
//   node test/install/client.mjs URL
import { io } from "socket.io-client";

const url = process.argv[2];
const deadline = setTimeout(() => {
  console.error("client.mjs: not done within 20 s");
  process.exit(1);
}, 20_000);

function connect(opts) {
  const s = io(url, { reconnection: false, forceNew: true, ...opts });
  s.lines = [];
  s.on("message", (...args) => s.lines.push(args));
  const welcomed = new Promise((resolve, reject) => {
    s.once("welcome", resolve);
    s.once("connect_error", reject);
  });
  return { s, welcomed };
}

const a = connect({});
const b = connect({ transports: ["websocket"] });
const [idA, idB] = await Promise.all([a.welcomed, b.welcomed]);
if (idA !== a.s.id || idB !== b.s.id) throw new Error(`welcome ids ${idA} ${idB} are not the sockets' ${a.s.id} ${b.s.id}`);
await a.s.timeout(10_000).emitWithAck("message", "hello from a", { n: 1 });
const until = async (cond) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
};
await until(() => a.s.lines.length >= 1 && b.s.lines.length >= 1);
for (const [name, c] of [["a", a], ["b", b]]) {
  if (JSON.stringify(c.s.lines[0]) !== JSON.stringify(["hello from a", { n: 1 }])) throw new Error(`${name} got ${JSON.stringify(c.s.lines)}`);
}
console.log(`client.mjs: ok (${a.s.io.engine.transport.name} and ${b.s.io.engine.transport.name}, ids ${idA} ${idB})`);
a.s.disconnect();
b.s.disconnect();
clearTimeout(deadline);
