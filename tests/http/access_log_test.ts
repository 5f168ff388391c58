/**
 * The access log of a `--group` proxy, under both runtimes: one JSON line per
 * request (route null, the group, the backend that answered, and the proxy's
 * own 502 with no backend), and a bad `--access-log-sample` refused at start
 * naming the flag.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { freePort, startBackends, tempDir, waitUntil } from "../support/processes.ts";
import { startProxy } from "../support/proxy.ts";
import { roleCommand, type Runtime } from "../../lib/runtime/role_command.ts";

const RUNTIMES: Runtime[] = ["deno", "bun"];

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `--access-log on a --group proxy (${runtime}): a JSON line per request`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const [b1] = await startBackends(1);
      const dead = `127.0.0.1:${await freePort()}`;
      const file = path.join(tempDir("access"), "access.log");
      const proxy = await startProxy(runtime, { g: { backend_servers: [b1!.address] } }, [
        "--access-log",
        file,
        "--no-health-checks",
      ]);
      try {
        const ok = await fetch(`${proxy.url}/hello?x=1`, { signal: AbortSignal.timeout(10_000) });
        assert.equal(await ok.text(), "b1\n");
        proxy.writeConfig({ g: { backend_servers: [dead], retry: { max_retries: 0 } } });
        await waitUntil("the dead backend's config", async () => {
          const r = await fetch(`${proxy.url}/down`, { signal: AbortSignal.timeout(10_000) });
          await r.body?.cancel();
          return r.status === 502;
        });
        const read = () =>
          fs.existsSync(file)
            ? fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) =>
              JSON.parse(l)
            )
            : [];
        // lines are flushed every 100 ms: wait for the 502's
        await waitUntil(
          "the 502's line",
          () => Promise.resolve(read().some((l) => l.path === "/down" && l.status === 502)),
        );
        const lines = read();
        const hello = lines.find((l) => l.path === "/hello?x=1")!;
        assert.deepEqual(
          [hello.route, hello.group, hello.backend, hello.method, hello.status],
          [null, "g", b1!.address, "GET", 200],
        );
        assert.match(hello.time, /^\d{4}-\d\d-\d\dT/);
        const down = lines.find((l) => l.path === "/down" && l.status === 502)!;
        assert.deepEqual([down.group, down.backend, down.status], ["g", null, 502]);
      } finally {
        await proxy.process.stop();
        await b1!.process.stop();
      }
    },
  });

  Deno.test(`--access-log-sample outside 0..1 is refused at start (${runtime})`, () => {
    const { command, args } = roleCommand(runtime, "proxy", [
      "--config",
      "/nonexistent.json",
      "--access-log",
      "-",
      "--access-log-sample",
      "2",
    ]);
    const r = spawnSync(command, args, { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--access-log-sample must be from 0 to 1 \(got 2\)/);
  });
}
