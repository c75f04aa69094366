// Chromium and --ws-deflate: the browser accepts the server's answer with
// client_no_context_takeover it did not offer (RFC 7692 7.1.1.2), and honours
// it: each message it sends inflates alone (the server keeps no inflate
// context), so the same large text sent three times echoes back three times.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { useBrowser } from "./lib/browser.mjs";
import { isReference, startServer } from "./lib/server.mjs";

describe("browser: WebSocket permessage-deflate", () => {
  const br = useBrowser();

  test("Chromium negotiates no context takeover both ways and its messages inflate alone", async (t) => {
    const server = await startServer({ args: ["--app", "eio-echo", "--ws-deflate"] });
    t.after(() => server.stop());
    const page = await br.browser.newPage();
    t.after(() => page.close());
    const url = `ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`;
    const res = await page.evaluate(
      (url) =>
        new Promise((resolve) => {
          const words = ["socket ", "engine ", "deflate ", "message "];
          let text = "";
          for (let i = 0; text.length < 20000; i++) text += words[(i * 7 + (i >> 2)) % 4];
          const ws = new WebSocket(url);
          const echoes = [];
          const timer = setTimeout(() => resolve({ error: "timeout", echoes: echoes.length }), 20000);
          ws.onmessage = (e) => {
            if (e.data[0] === "0") {
              for (let i = 0; i < 3; i++) ws.send("4" + text);
              return;
            }
            if (e.data === "2") return ws.send("3");
            echoes.push(e.data === "4" + text);
            if (echoes.length === 3) {
              clearTimeout(timer);
              resolve({ extensions: ws.extensions, echoes });
              ws.close();
            }
          };
          ws.onclose = (e) => {
            clearTimeout(timer);
            resolve({ error: `closed ${e.code}`, extensions: ws.extensions, echoes });
          };
        }),
      url,
    );
    assert.equal(res.error, undefined, JSON.stringify(res));
    assert.deepEqual(res.echoes, [true, true, true]);
    assert.match(res.extensions, /^permessage-deflate/);
    if (!isReference) assert.match(res.extensions, /server_no_context_takeover; client_no_context_takeover/);
  });
});
