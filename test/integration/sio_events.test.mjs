// Socket.IO events and acknowledgements with the real socket.io-client 4.8
// (--app testkit): mixed JSON arguments, unicode, Buffers (byte-exact), acks
// from client to server and from server to client, and a server-side ack that
// times out. Each with both packet formats (--parser default and msgpack, the
// client on socket.io-msgpack-parser for the latter).
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { describe, test } from "node:test";

import { connect, eachMode, eachParser, emitAck, nextEvent, normalize, sleep, toBuffer, useSioServer } from "./lib/sio.mjs";

const MIXED = [
  1,
  -2.5,
  0,
  0.1,
  1e21,
  2 ** 53 + 2,
  5e-324,
  true,
  false,
  null,
  "",
  "text",
  [],
  {},
  [1, [2, [3, [4]]], { a: [] }],
  { z: 1, a: { y: null, b: [true, "x"] }, m: -0.5 },
];

const UNICODE = [
  "héllo wörld",
  "日本語のテキスト",
  "😀👍🏽🇫🇷 emoji with modifiers",
  "\u2028\u2029 line separators",
  "quotes \" backslash \\ slash / tab \t newline \n cr \r",
  "control \u0001\u001f\u007f",
  { "clé 🔑": "välue", "": "empty key" },
];

eachParser((parser) => describe("Socket.IO events and acks (testkit)", () => {
  const srv = useSioServer("testkit", { parser });
  const mixed = parser.roundTrip(MIXED);

  eachMode((mode) => {
    test("mixed JSON arguments come back through an ack, in order and exact", async (t) => {
      const s = await connect(t, srv.server, mode);
      const back = await emitAck(s, "echo", ...MIXED);
      assert.deepEqual(back, mixed);
      assert.equal(JSON.stringify(back), JSON.stringify(mixed), "same JSON text (key order, numbers)");
    });

    test("without an ack the arguments come back as an event", async (t) => {
      const s = await connect(t, srv.server, mode);
      s.emit("echo", ...MIXED);
      const back = await nextEvent(s, "echo");
      assert.equal(JSON.stringify(back), JSON.stringify(mixed));
    });

    test("unicode strings and keys survive the round trip", async (t) => {
      const s = await connect(t, srv.server, mode);
      const back = await emitAck(s, "echo", ...UNICODE);
      assert.deepEqual(back, UNICODE);
      // An event name in unicode, through a room broadcast.
      await emitAck(s, "join", "ünï-room");
      await emitAck(s, "to", "ünï-room", "événement-😀", "данные");
      assert.deepEqual(await nextEvent(s, "événement-😀"), ["данные"]);
    });

    test("a string holding a NUL character survives the round trip", async (t) => {
      const s = await connect(t, srv.server, mode);
      const v = ["before\u0000after", { "k\u0000": "\u0000" }];
      assert.deepEqual(await emitAck(s, "echo", ...v), v);
    });

    test("Buffers come back byte-exact, alone, nested and mixed with JSON", async (t) => {
      const s = await connect(t, srv.server, mode);
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const big = crypto.randomBytes(100_000);
      const args = [
        all,
        "text between",
        { nested: { bin: Buffer.from("héllo", "utf8"), list: [1, Buffer.from([0, 0, 0]), "x"] } },
        [Buffer.from([0xff]), Buffer.from([0xfe, 0xfd])],
        big,
        42,
      ];
      const back = await emitAck(s, "echo", ...args);
      assert.equal(back.length, args.length);
      assert.ok(toBuffer(back[0]).equals(all), "all 256 byte values");
      assert.ok(toBuffer(back[4]).equals(big), "100 kB of random bytes");
      assert.deepEqual(normalize(back), normalize(args));
      // Without an ack: a binary event the other way.
      s.emit("echo", Buffer.from([1, 2, 3]), { b: Buffer.from([4]) });
      assert.deepEqual(normalize(await nextEvent(s, "echo")), normalize([Buffer.from([1, 2, 3]), { b: Buffer.from([4]) }]));
    });

    test("an empty Buffer stays an empty Buffer", async (t) => {
      const s = await connect(t, srv.server, mode);
      const back = await emitAck(s, "echo", Buffer.alloc(0), "after");
      assert.equal(toBuffer(back[0]).length, 0);
      assert.equal(back[1], "after");
    });

    test("concurrent acks are matched to their emits", async (t) => {
      const s = await connect(t, srv.server, mode);
      const n = 50;
      const results = await Promise.all(Array.from({ length: n }, (_, i) => emitAck(s, "echo", i, `v${i}`)));
      for (let i = 0; i < n; i++) assert.deepEqual(results[i], [i, `v${i}`]);
    });

    test("server-to-client ack: the client's answer reaches the server (JSON and binary)", async (t) => {
      const s = await connect(t, srv.server, mode);
      const questions = [];
      s.on("question", (...args) => {
        const ack = args.pop();
        questions.push(args);
        ack("answer", 7, { deep: [Buffer.from([9, 8, 7])] });
      });
      await emitAck(s, "ask", 0, "what?", { n: 1 });
      const [answer] = await nextEvent(s, "answer");
      assert.deepEqual(questions, [["what?", { n: 1 }]]);
      assert.equal(answer.status, "ok");
      assert.deepEqual(normalize(answer.args), normalize(["answer", 7, { deep: [Buffer.from([9, 8, 7])] }]));
      // With a timeout that is not reached.
      await emitAck(s, "ask", 5000, Buffer.from([1]));
      const [answer2] = await nextEvent(s, "answer");
      assert.equal(answer2.status, "ok");
      assert.equal(questions.length, 2);
      assert.ok(toBuffer(questions[1][0]).equals(Buffer.from([1])));
    });

    test("server-to-client ack that times out: the server gets a timeout, a late answer is ignored", async (t) => {
      const s = await connect(t, srv.server, mode);
      // No handler: the client never answers.
      const t0 = Date.now();
      await emitAck(s, "ask", 150, "no answer");
      const [answer] = await nextEvent(s, "answer");
      const elapsed = Date.now() - t0;
      assert.deepEqual(answer, { status: "timeout", args: [] });
      assert.ok(elapsed >= 140, `timeout after ${elapsed} ms, not before 150 ms`);
      assert.deepEqual(
        s.received.filter((e) => e.event === "question").map((e) => e.args.slice(0, 1)),
        [["no answer"]],
      );
      // An answer that comes after the timeout does not produce a second answer.
      s.on("question", (...args) => {
        const ack = args.pop();
        setTimeout(() => ack("too late"), 300);
      });
      await emitAck(s, "ask", 100, "late");
      assert.deepEqual((await nextEvent(s, "answer"))[0], { status: "timeout", args: [] });
      await sleep(400);
      assert.equal(s.received.filter((e) => e.event === "answer").length, 2, "no answer after the timeout");
      // The socket still works.
      assert.deepEqual(await emitAck(s, "echo", "alive"), ["alive"]);
    });
  }, parser);
}));
