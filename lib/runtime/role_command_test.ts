import assert from "node:assert/strict";
import process from "node:process";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT, roleCommand, type Runtime, runtimeBinary } from "./role_command.ts";

const RUNTIMES: readonly Runtime[] = ["deno", "bun"];

Deno.test("REPO_ROOT is the checkout: it holds package.json and roles/", () => {
  assert.ok(fs.existsSync(path.join(REPO_ROOT, "package.json")));
  assert.ok(fs.existsSync(path.join(REPO_ROOT, "roles", "proxy.ts")));
});

Deno.test("runtimeBinary() names the runtimes npm installed in the checkout", () => {
  assert.equal(runtimeBinary("deno"), path.join(REPO_ROOT, "node_modules", "deno", "deno"));
  assert.equal(runtimeBinary("bun"), path.join(REPO_ROOT, "node_modules", "bun", "bin", "bun.exe"));
  for (const runtime of RUNTIMES) assert.ok(fs.existsSync(runtimeBinary(runtime)), runtime);
});

Deno.test("roleCommand() builds each runtime's command line for a role or a script", () => {
  const proxy = path.join(REPO_ROOT, "roles", "proxy.ts");
  const table: [Runtime, string, string[], string | undefined, string[]][] = [
    ["deno", "proxy", ["--listen", "127.0.0.1:1"], undefined, [
      "run",
      "-A",
      proxy,
      "--listen",
      "127.0.0.1:1",
    ]],
    ["bun", "proxy", ["--listen", "127.0.0.1:1"], undefined, [proxy, "--listen", "127.0.0.1:1"]],
    ["deno", "proxy", [], "/x/dist/proxy.js", ["run", "-A", "/x/dist/proxy.js"]],
    ["bun", "proxy", ["--a"], "/x/dist/proxy.js", ["/x/dist/proxy.js", "--a"]],
  ];
  for (const [runtime, role, flags, script, args] of table) {
    const c = roleCommand(runtime, role, flags, script);
    assert.deepEqual(c, { command: runtimeBinary(runtime), args }, `${runtime} ${script}`);
  }
});

Deno.test("roleCommand()'s command line runs the role under both runtimes", () => {
  for (const runtime of RUNTIMES) {
    const { command, args } = roleCommand(runtime, "backend", ["--help"]);
    const r = spawnSync(command, args, {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, NO_COLOR: "1" },
    });
    assert.equal(r.status, 0, `${runtime}: ${r.stderr}`);
    assert.match(r.stdout + r.stderr, /^backend: sample HTTP backend/m, runtime);
  }
});
