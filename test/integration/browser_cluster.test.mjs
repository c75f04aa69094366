// The demo page behind nginx in front of three chat nodes sharing Redis, all
// started by compose/run-local.sh: the node serving the page is killed, the
// page reconnects through nginx to another node by itself and keeps chatting
// with clients on the other nodes. Screenshots: test-output/screenshots/cluster-*.png.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { openPage, screenshot, send, sioObserver, useBrowser, waitState } from "./lib/browser.mjs";
import { upstreamCounts, useCluster } from "./lib/cluster.mjs";
import { isReference } from "./lib/server.mjs";

describe("browser: failover through the cluster (run-local.sh)", { skip: isReference && "sio-server cluster only" }, () => {
  const br = useBrowser();
  const cl = useCluster({ app: "chat", nodes: 3, nodeArgs: ["--shutdown-timeout", "1000"] });

  for (const mode of ["sio", "ws"]) {
    test(`${mode} mode: the page's node dies, it comes back through nginx and chats on`, async (t) => {
      const c = cl.cluster;
      const from = c.accessLog().length;
      const page = await openPage(t, br.browser, `${c.url}/?mode=${mode}&delay=200&delayMax=1000`);
      await waitState(page, "connected", { timeout: 30_000 });
      // Which node serves the page: nginx logged the upstream of its requests.
      const counts = upstreamCounts(c.accessLog().slice(from).filter((e) => e.upstream));
      const addr = Object.keys(counts).sort((a, b) => counts[b] - counts[a])[0];
      const victim = c.nodeByAddr(addr);
      assert.ok(victim && !victim.killed, `the page's node is known: ${JSON.stringify(counts)}`);
      // A client on a node that stays up, connected directly (not through nginx).
      const other = c.nodes.find((n) => n !== victim && !n.killed);
      const obs = await sioObserver(t, `http://127.0.0.1:${other.port}`);

      await send(page, `before-${mode}`);
      
      const seenBefore = () => obs.lines.some((l) => l.endsWith(`said: before-${mode}`));
      const deadline1 = Date.now() + 10_000;
      while (!seenBefore() && Date.now() < deadline1) await new Promise((r) => setTimeout(r, 50));
      assert.ok(seenBefore(), "a client on another node sees the page's message (Redis)");

      await c.killNode(victim.name, "SIGKILL");
      await waitState(page, "reconnecting", { timeout: 15_000 });
      await screenshot(page, `cluster-reconnecting-${mode}`);
      await waitState(page, "connected", { timeout: 30_000 });
      await screenshot(page, `cluster-connected-${mode}`);
            // The page's node is dead (killNode waited for it), so whatever serves
      // the page now is another node: nginx failed over.
      assert.ok(victim.killed);

      await send(page, `after-${mode}`);
      const seenAfter = () => obs.lines.some((l) => l.endsWith(`said: after-${mode}`));
      const deadline2 = Date.now() + 10_000;
      while (!seenAfter() && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 50));
      assert.ok(seenAfter(), "after the failover the page still chats with the other nodes' clients");
      assert.deepEqual(page.problems, []);
    });
  }
});
