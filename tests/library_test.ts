/**
 * Runs the separate library project in tests/library_project (its own
 * deno.json and import map, importing ../../mod.ts as another Deno project
 * would) and checks that its tests pass.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { REPO_ROOT, runtimeBinary } from "../lib/runtime/role_command.ts";

Deno.test("a separate Deno project imports mod.ts and proxies through it", () => {
  const project = path.join(REPO_ROOT, "tests", "library_project");
  const link = path.join(project, "node_modules");
  if (!fs.existsSync(link)) fs.symlinkSync(path.join("..", "..", "node_modules"), link);
  const r = spawnSync(runtimeBinary("deno"), ["test", "-A"], {
    cwd: project,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /ok \| [1-9]\d* passed \| 0 failed/);
});
