/** Every alert in deploy/prometheus/rules has an entry in deploy/prometheus/runbook.md. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";

Deno.test("the runbook has one entry per alert, and no entry for an alert that is gone", () => {
  const dir = path.join(REPO_ROOT, "deploy", "prometheus");
  const alerts = fs.readdirSync(path.join(dir, "rules")).filter((f) => f.endsWith(".yml"))
    .flatMap((f) =>
      [...fs.readFileSync(path.join(dir, "rules", f), "utf8").matchAll(/- alert: (\w+)/g)]
        .map((m) => m[1]!)
    ).sort();
  assert.ok(alerts.length >= 10, alerts.join(","));
  const entries = [
    ...fs.readFileSync(path.join(dir, "runbook.md"), "utf8").matchAll(/^## (\w+)$/gm),
  ].map((m) => m[1]!).sort();
  assert.deepEqual(entries, alerts);
});
