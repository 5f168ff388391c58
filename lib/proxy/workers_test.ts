import assert from "node:assert/strict";
import { MAX_WORKERS, workerArgs, WORKERS_FLAG } from "./workers.ts";

Deno.test("workerArgs() drops --workers in both spellings and keeps every other argument", () => {
  const argv = ["roles/proxy.ts", "--workers", "4", "--config", "lb.json", "--no-health-checks"];
  assert.deepEqual(workerArgs(argv, 0, "127.0.0.1:9090"), [
    "roles/proxy.ts",
    "--config",
    "lb.json",
    "--no-health-checks",
    "--admin-listen",
    "127.0.0.1:9090",
  ]);
  assert.deepEqual(
    workerArgs(["main.ts", "proxy", "--workers=2", "--listen", "0.0.0.0:80"], 1, "127.0.0.1:9090"),
    [
      "main.ts",
      "proxy",
      "--listen",
      "0.0.0.0:80",
      "--admin-listen",
      "127.0.0.1:9091",
    ],
  );
});

Deno.test("workerArgs() moves the admin port by the worker index, whichever way it was given", () => {
  for (const given of [["--admin-listen", "127.0.0.1:9000"], ["--admin-listen=127.0.0.1:9000"]]) {
    const a = workerArgs(["p.ts", ...given], 3, "127.0.0.1:9000");
    assert.deepEqual(a, ["p.ts", "--admin-listen", "127.0.0.1:9003"]);
  }
  // IPv6 keeps its brackets; port 0 stays 0 (each worker picks its own)
  assert.deepEqual(workerArgs(["p.ts"], 2, "[::1]:9000").slice(-2), [
    "--admin-listen",
    "[::1]:9002",
  ]);
  assert.deepEqual(workerArgs(["p.ts"], 2, "127.0.0.1:0").slice(-2), [
    "--admin-listen",
    "127.0.0.1:0",
  ]);
});

Deno.test("workerArgs() suffixes a given --id with the worker index", () => {
  assert.deepEqual(workerArgs(["p.ts", "--id", "edge-1"], 1, "127.0.0.1:9090").slice(-2), [
    "--id",
    "edge-1-w1",
  ]);
  assert.deepEqual(workerArgs(["p.ts", "--id=edge"], 0, "127.0.0.1:9090").slice(-2), [
    "--id",
    "edge-w0",
  ]);
  assert.ok(!workerArgs(["p.ts"], 0, "127.0.0.1:9090").includes("--id"));
});

Deno.test("the --workers flag defaults to one process", () => {
  assert.equal(WORKERS_FLAG.name, "workers");
  assert.equal(WORKERS_FLAG.type, "number");
  assert.equal(WORKERS_FLAG.default, 1);
  assert.ok(MAX_WORKERS >= 64);
});
