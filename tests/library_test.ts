/**
 * Switchyard as a package, seen from outside: a separate Deno project
 * (tests/library_project, which reaches it through `"links": ["../.."]` in
 * its deno.json and nothing else) and a separate Bun project
 * (tests/bun_project, `"switchyard": "link:../.."` in its package.json) each
 * import it and balance real requests over real backends. Both run offline:
 * no JSR, no npm registry; npm packages come from Switchyard's node_modules.
 *
 * Also checks the two manifests that describe the package (deno.json with its
 * import map, package.json) agree, since nothing else keeps them in sync.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { REPO_ROOT, runtimeBinary } from "../lib/runtime/role_command.ts";
import * as switchyard from "../mod.ts";

/** The environment of a child that must not reach any registry. */
function offlineEnv(): Record<string, string> {
  return {
    ...process.env as Record<string, string>,
    NO_COLOR: "1",
    // a dead address: any registry access fails instead of passing silently
    NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
    JSR_URL: "http://127.0.0.1:9/",
  };
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, file), "utf8"));
}

Deno.test("a separate Deno project links Switchyard and proxies through it", () => {
  const project = path.join(REPO_ROOT, "tests", "library_project");
  const link = path.join(project, "node_modules");
  if (!fs.existsSync(link)) fs.symlinkSync(path.join("..", "..", "node_modules"), link);
  // the project reaches Switchyard by its package name through `links` alone:
  // none of Switchyard's own dependencies is mapped there
  const config = JSON.parse(fs.readFileSync(path.join(project, "deno.json"), "utf8"));
  assert.deepEqual(config.links, ["../.."]);
  assert.deepEqual(Object.keys(config.imports ?? {}), ["hono"]); // the project's own Hono app
  const check = spawnSync(runtimeBinary("deno"), ["check", "."], {
    cwd: project,
    encoding: "utf8",
    timeout: 120_000,
    env: offlineEnv(),
  });
  assert.equal(check.status, 0, `${check.stdout}\n${check.stderr}`);
  const r = spawnSync(runtimeBinary("deno"), ["test", "-A"], {
    cwd: project,
    encoding: "utf8",
    timeout: 120_000,
    env: offlineEnv(),
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /ok \| [1-9]\d* passed \| 0 failed/);
});

Deno.test("a separate Bun project installs Switchyard offline and proxies through it", () => {
  const project = path.join(REPO_ROOT, "tests", "bun_project");
  fs.rmSync(path.join(project, "node_modules"), { recursive: true, force: true });
  const install = spawnSync(runtimeBinary("bun"), ["install", "--offline", "--no-save"], {
    cwd: project,
    encoding: "utf8",
    timeout: 120_000,
    env: offlineEnv(),
  });
  assert.equal(install.status, 0, `${install.stdout}\n${install.stderr}`);
  assert.equal(
    fs.realpathSync(path.join(project, "node_modules", "switchyard")),
    fs.realpathSync(REPO_ROOT),
  );
  const r = spawnSync(runtimeBinary("bun"), ["main.ts"], {
    cwd: project,
    encoding: "utf8",
    timeout: 120_000,
    env: offlineEnv(),
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /bun project: 9 requests balanced, ok/);
});

Deno.test("deno.json, import_map.json and package.json describe the same package", () => {
  const deno = readJson("deno.json");
  const pkg = readJson("package.json");
  const importMap = readJson("import_map.json") as { imports: Record<string, string> };
  assert.equal(deno.version, pkg.version);
  assert.equal(deno.importMap, "./import_map.json");
  // Deno ignores importMap when deno.json has its own imports
  assert.equal(deno.imports, undefined);
  assert.equal(deno.scopes, undefined);
  assert.deepEqual(deno.exports, pkg.exports);
  assert.equal(pkg.main, (pkg.exports as Record<string, string>)["."]);
  for (const target of Object.values(deno.exports as Record<string, string>)) {
    assert.ok(fs.existsSync(path.join(REPO_ROOT, target)), target);
  }
  // every npm mapping names the exact version package.json installs
  const installed = {
    ...pkg.dependencies as Record<string, string>,
    ...pkg.devDependencies as Record<string, string>,
  };
  let mapped = 0;
  for (const [specifier, target] of Object.entries(importMap.imports)) {
    const m = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)@([^/]+)\/?$/.exec(target);
    assert.ok(m, `${specifier} -> ${target} is not an npm mapping`);
    assert.equal(installed[m[1]!], m[2], `${specifier}: ${target} vs package.json`);
    mapped++;
  }
  assert.ok(mapped >= 5);
  // and each runtime dependency is mapped for Deno consumers
  for (const name of Object.keys(pkg.dependencies as Record<string, string>)) {
    assert.ok(name in importMap.imports, `${name} is not in import_map.json`);
  }
});

Deno.test("mod.ts exports the curated surface and no internals", () => {
  // internals (snapshots, group state, the proxy engine, metrics classes) stay
  // out: a documented use must come first, with its doc example
  assert.deepEqual(Object.keys(switchyard).sort(), [
    "ALGORITHMS",
    "createLoadBalancer",
    "createSelector",
    "formatIssues",
    "groupConfigSchema",
    "initialHealth",
    "observeHealth",
    "validateConfigFile",
    "validateGroupConfig",
  ]);
});
