/**
 * A fleet-mode proxy (`--zk --group`) with a TLS listener, on the real
 * ZooKeeper under both runtimes: the group's config from `/lb-configs/<group>`
 * serves HTTPS clients as it serves plain ones, with `X-Forwarded-Proto:
 * https`, and `/status` shows the TLS section.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { zkSandbox } from "../support/control_plane.ts";
import {
  freePort,
  httpOk,
  RUNTIMES,
  startBackends,
  startRole,
  tempDir,
  waitUntil,
} from "../support/processes.ts";
import { curlHttps, makeCa, makeCert } from "../support/tls.ts";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `--zk --group with --tls-listen (${runtime}): the group's config serves HTTPS`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const zk = await zkSandbox();
      const [b1] = await startBackends(1);
      const dir = tempDir("tls-zk");
      const ca = makeCa(dir);
      const cert = makeCert(dir, "shop", "/CN=shop.test", ["shop.test"], ca);
      await zk.store.create("/lb-configs/g", enc({ backend_servers: [b1!.address] }), {
        parents: true,
      });
      const [port, adminPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
      const proc = await startRole(runtime, "proxy", [
        ...["--zk", zk.connect, "--group", "g", "--no-health-checks"],
        ...["--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${adminPort}`],
        ...["--snapshot-file", path.join(dir, "g.json"), "--deregister-seconds", "0"],
        ...["--tls-listen", `127.0.0.1:${tlsPort}`, "--tls-cert", cert.cert, "--tls-key", cert.key],
      ], { ready: () => httpOk(`http://127.0.0.1:${adminPort}/status`) });
      try {
        await waitUntil(
          "HTTPS served from the group's config",
          () => Promise.resolve(curlHttps("shop.test", tlsPort, "/_echo", ca.cert).status === 200),
        );
        const r = curlHttps("shop.test", tlsPort, "/_echo", ca.cert);
        const echo = JSON.parse(r.body) as { headers: Record<string, string> };
        assert.equal(echo.headers["x-forwarded-proto"], "https");
        const status = await (await fetch(`http://127.0.0.1:${adminPort}/status`)).json();
        assert.equal(status.tls_listen, `127.0.0.1:${tlsPort}`);
        assert.equal(status.tls.source, "files");
        assert.equal(status.tls.certificates[0].name, "shop.test");
      } finally {
        await proc.stop();
        await b1!.process.stop();
        await zk.close();
      }
    },
  });
}
