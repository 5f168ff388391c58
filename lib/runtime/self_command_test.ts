import assert from "node:assert/strict";
import { selfArgs } from "./self_command.ts";

Deno.test("selfArgs() re-runs the script with the runtime's own arguments", () => {
  const table: [string[], "deno" | "bun", string[]][] = [
    [["/usr/bin/deno", "/r/roles/proxy.ts", "--workers", "2"], "deno", [
      "run",
      "-A",
      "/r/roles/proxy.ts",
      "--workers",
      "2",
    ]],
    [["/usr/bin/bun", "/r/roles/main.ts", "proxy", "--workers", "2"], "bun", [
      "/r/roles/main.ts",
      "proxy",
      "--workers",
      "2",
    ]],
    [["bun", "/r/dist/proxy.js"], "bun", ["/r/dist/proxy.js"]],
  ];
  for (const [argv, runtime, want] of table) assert.deepEqual(selfArgs(argv, runtime), want);
});

Deno.test("selfArgs() drops the embedded entry of a Bun single-file executable", () => {
  assert.deepEqual(
    selfArgs(["bun", "/$bunfs/root/switchyard", "proxy", "--config", "lb.json"], "bun"),
    ["proxy", "--config", "lb.json"],
  );
  assert.deepEqual(selfArgs(["bun", "/$bunfs/root/switchyard"], "bun"), []);
});
