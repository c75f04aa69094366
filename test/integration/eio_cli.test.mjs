// The server binary: options, environment variables, --help, bad options
// (exit 2), and a clean shutdown on SIGTERM/SIGINT with sessions open.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { eioPath, handshake, poll, request, sleep, wsConnect } from "./lib/eio.mjs";
import { REPO_ROOT, isReference, serverCommand, startEcho, startServer } from "./lib/server.mjs";

function runSync(args, env = {}) {
  const [cmd, argv] = serverCommand(args);
  const r = spawnSync(cmd, argv, { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: "utf8", timeout: 10_000 });
  assert.equal(r.error, undefined, `could not run ${cmd}: ${r.error}`);
  for (const m of ["ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"]) {
    assert.ok(!r.stderr.includes(m), `sanitizer report on stderr:\n${r.stderr}`);
  }
  return r;
}

describe("command line", () => {
  it("--help lists every option and exits 0", () => {
    const r = runSync(["--help"]);
    assert.equal(r.status, 0, r.stderr);
    const text = r.stdout + r.stderr;
    const options = ["--host", "--port", "--path", "--ping-interval", "--ping-timeout", "--max-payload", "--cors-origin", "--app"];
    // The reference has no connection limit of its own.
    if (!isReference) options.push("--max-connections");
    for (const o of options) assert.ok(text.includes(o), `--help does not mention ${o}`);
    if (!isReference) assert.match(text, /SIO_PORT/, "--help names the environment variables");
  });

  for (const args of [["--bogus-option"], ["--port", "not-a-number"], ["--ping-interval", "abc"], ["--app", "no-such-app"], ["--port"]]) {
    it(`bad option ${args.join(" ")} -> a message on stderr and exit 2`, () => {
      const r = runSync(["--host", "127.0.0.1", "--port", "1", ...args]);
      assert.equal(r.status, 2, `exit ${r.status}, stderr ${r.stderr}`);
      assert.ok(r.stderr.trim().length > 0, "an explanation on stderr");
    });
  }

  it("options can come from environment variables (SIO_PING_INTERVAL, SIO_PING_TIMEOUT, SIO_MAX_PAYLOAD)", async (t) => {
    const server = await startEcho(t, { env: { SIO_PING_INTERVAL: "777", SIO_PING_TIMEOUT: "333", SIO_MAX_PAYLOAD: "5555" } });
    const { open } = await handshake(server);
    assert.equal(open.pingInterval, 777);
    assert.equal(open.pingTimeout, 333);
    assert.equal(open.maxPayload, 5555);
  });

  it("--path moves the Engine.IO endpoint", async (t) => {
    const server = await startEcho(t, { args: ["--path", "/engine.io/"] });
    const res = await request(server, { path: eioPath({}, "/engine.io/") });
    assert.equal(res.status, 200);
    assert.match(res.text, /^0\{/);
    const { sid } = JSON.parse(res.text.slice(1));
    const closed = await request(server, { method: "POST", path: eioPath({ sid }, "/engine.io/"), body: "1" });
    assert.equal(closed.text, "ok");
    const old = await request(server, { path: eioPath() });
    assert.ok(!old.text.startsWith("0{"), "no handshake on the default path any more");
    const r = await wsConnect(server, eioPath({ transport: "websocket" }, "/engine.io/"));
    assert.equal(r.status, 101);
    assert.match((await r.ws.next()).data, /^0\{/);
    r.ws.close();
  });
});

describe("shutdown", () => {
  for (const signal of ["SIGTERM", "SIGINT"]) {
    it(`${signal} with a pending GET and an open WebSocket: exits 0 and releases both`, async () => {
      const server = await startServer({ args: ["--app", "eio-echo"] });
      let stopped = false;
      try {
        const { sid } = await handshake(server);
        const pending = poll(server, sid, { timeout: 8000 }).then(
          (r) => ({ status: r.status, text: r.text }),
          (e) => ({ error: e.message }),
        );
        const up = await wsConnect(server, eioPath({ transport: "websocket" }));
        assert.equal(up.status, 101);
        await up.ws.next();
        await sleep(100);
        const t0 = Date.now();
        server.proc.kill(signal);
        const code = await new Promise((resolve) => server.proc.once("exit", (c) => resolve(c)));
        stopped = true;
        assert.equal(code, 0, `exit code after ${signal}\n${server.stderr()}`);
        assert.ok(Date.now() - t0 < 5000, "shut down within 5 s");
        const g = await pending;
        // The pending GET must not hang: an answer (the reference sends the close
        // packet "1") or a closed connection.
        if (g.status !== undefined) assert.equal(g.status, 200);
        assert.ok(await up.ws.waitClosed(2000), "WebSocket closed by the shutdown");
        await server.stop(); // checks stderr for sanitizer reports
      } finally {
        if (!stopped) await server.stop().catch(() => {});
      }
    });
  }

  it("SIGTERM with an idle polling session (no GET pending, client gone): exits 0 within 5 s", async () => {
    // A polling client that went away cannot be told about the shutdown; the
    // reference exits at once. Waiting for it is fine, but not for long, and
    // its session must still be freed (LeakSanitizer checks in the ASan run).
    const server = await startServer({ args: ["--app", "eio-echo"] });
    try {
      await handshake(server);
      const t0 = Date.now();
      await server.stop(); // SIGTERM; SIGKILL and a failure after 5 s
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    } finally {
      await server.stop().catch(() => {});
    }
  });
});
