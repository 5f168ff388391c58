/**
 * docs/operations.md stays true to the code: its ports table gives every
 * service role's listen flags with their real defaults, and its alert table
 * lists exactly the alerts in deploy/prometheus/rules (each with a runbook
 * entry: runbook_test.ts).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";
import { ROLES } from "../../roles/registry.ts";

const DOC = fs.readFileSync(path.join(REPO_ROOT, "docs", "operations.md"), "utf8");

/** The lines of the section under `## title`. */
function section(title: string): string[] {
  const from = DOC.indexOf(`\n## ${title}\n`);
  assert.ok(from >= 0, `docs/operations.md has a "${title}" section`);
  const to = DOC.indexOf("\n## ", from + 1);
  return DOC.slice(from, to < 0 ? undefined : to).split("\n");
}

Deno.test("the operator's ports table gives every service role's listen flags and defaults", async () => {
  // `| role | \`--flag\` ... (default...` ; CoreDNS's address is the dns role's --coredns-listen
  const documented = new Map<string, string>();
  for (const line of section("Ports and firewall")) {
    const m = /^\|\s*(\w+)\s*\|\s*`--([\w-]+)`[^(|]*\(([^;,)]+)/.exec(line);
    if (!m) continue;
    const role = m[1] === "CoreDNS" ? "dns" : m[1]!;
    documented.set(`${role} --${m[2]}`, m[3]!.trim().split(" ")[0]!);
  }
  const actual = new Map<string, string>();
  for (const name of ["proxy", "orchestrator", "admin", "dns", "autoscaler"]) {
    const { role } = await ROLES[name]!();
    for (const flag of role.flags) {
      if (/listen$/.test(flag.name) && typeof flag.default === "string") {
        actual.set(`${name} --${flag.name}`, flag.default);
      }
    }
  }
  assert.ok(actual.size >= 8, [...actual.keys()].join(", "));
  assert.deepEqual(Object.fromEntries(documented), Object.fromEntries(actual));
});

Deno.test("the operator's alert table lists exactly the alerts of deploy/prometheus/rules", () => {
  const rules = path.join(REPO_ROOT, "deploy", "prometheus", "rules");
  const alerts = fs.readdirSync(rules).filter((f) => f.endsWith(".yml")).flatMap((f) =>
    [...fs.readFileSync(path.join(rules, f), "utf8").matchAll(/- alert: (\w+)/g)].map((m) => m[1]!)
  ).sort();
  assert.ok(alerts.length >= 10, alerts.join(","));
  const documented = section("Monitoring").flatMap((line) => {
    const m = /^\|\s*`(\w+)`\s*\|/.exec(line);
    return m ? [m[1]!] : [];
  }).sort();
  assert.deepEqual(documented, alerts);
});
