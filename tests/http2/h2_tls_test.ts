/**
 * HTTP/2 over TLS (ALPN `h2`) through real proxy processes under Deno and
 * Bun: curl negotiates h2 on the TLS listener (HTTP/1.1 still on offer), the
 * backend sees `X-Forwarded-Proto: https`, HSTS goes on HTTP/2 responses,
 * and h2spec passes in full in strict mode.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { Buffer } from "node:buffer";
import { curlHttps, makeCa, makeCert } from "../support/tls.ts";
import { freePort, RUNTIMES, startBackends, tempDir } from "../support/processes.ts";
import { startProxy } from "../support/proxy.ts";

const HSTS = "max-age=63072000";

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `TLS listener (${runtime}) speaks HTTP/2 by ALPN; h2spec passes in full`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = tempDir("h2tls");
      const ca = makeCa(dir);
      const cert = makeCert(dir, "h2", "/CN=h2.test", ["h2.test"], ca);
      const [b1] = await startBackends(1);
      const tlsPort = await freePort();
      const proxy = await startProxy(runtime, { g: { backend_servers: [b1!.address] } }, [
        ...["--tls-listen", `127.0.0.1:${tlsPort}`, "--hsts", HSTS, "--no-health-checks"],
        ...["--tls-cert", cert.cert, "--tls-key", cert.key, "--log-level", "warn"],
      ]);
      try {
        const h2 = curlHttps("h2.test", tlsPort, "/_echo", ca.cert, ["--http2"]);
        assert.equal(h2.status, 200, `${h2.stderr}\n${proxy.process.log}`);
        assert.match(h2.headers, /^HTTP\/2 200/, "ALPN chose h2");
        assert.match(h2.headers, new RegExp(`^strict-transport-security: ${HSTS}\\r?$`, "im"));
        const echo = JSON.parse(h2.body) as { headers: Record<string, string> };
        assert.equal(echo.headers["x-forwarded-proto"], "https");
        assert.equal(echo.headers["host"], `h2.test:${tlsPort}`);
        // a client that offers only HTTP/1.1 still gets it
        const h1 = curlHttps("h2.test", tlsPort, "/_echo", ca.cert, ["--http1.1"]);
        assert.match(h1.headers, /^HTTP\/1\.1 200/);

        const h2spec = execFileSync("bash", ["deploy/h2spec/install.sh"], { encoding: "utf8" })
          .trim();
        const run = await new Promise<string>((resolve) => {
          // /_echo answers with a JSON body well over the 5 octets h2spec's flow-control cases need
          const p = spawn(
            h2spec,
            [
              "-h",
              "127.0.0.1",
              "-p",
              String(tlsPort),
              "-t",
              "-k",
              "-o",
              "5",
              "--strict",
              "-P",
              "/_echo",
            ],
            { stdio: ["ignore", "pipe", "pipe"] },
          );
          const out: Buffer[] = [];
          p.stdout.on("data", (d: Buffer) => out.push(d));
          p.stderr.on("data", (d: Buffer) => out.push(d));
          p.on("close", () => resolve(Buffer.concat(out).toString()));
        });
        const summary = /(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed/.exec(run);
        assert.ok(summary, run.slice(-2000));
        console.log(`h2spec (${runtime}, h2 over TLS, strict): ${summary[0]}`);
        const [total, passed, skipped, failed] = summary.slice(1).map(Number) as [
          number,
          number,
          number,
          number,
        ];
        assert.equal(failed, 0, run.slice(run.indexOf("Failures:")));
        assert.equal(skipped, 0);
        assert.equal(passed, total);
        assert.ok(total >= 146, `${total} cases`);
      } finally {
        await proxy.process.stop();
        await b1!.process.stop();
      }
    },
  });
}
