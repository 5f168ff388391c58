/**
 * The browser code's pure parts: the editor's form model (what config a
 * form produces, where each schema issue goes) and the charts' geometry.
 */
import assert from "node:assert/strict";
import { chartModel, niceMax } from "../../lib/admin/console/client/chart.ts";
import { fmtMs, fmtRate } from "../../lib/admin/console/client/format.ts";
import {
  type BackendRow,
  buildConfig,
  issueSlot,
  parseNumberish,
  rowsFromConfig,
  settingsFromConfig,
} from "../../lib/admin/console/client/form_model.ts";
import { validateGroupConfig } from "../../lib/config/schema.ts";

const stored = {
  backend_servers: ["10.0.0.1:80", { address: "10.0.0.2:80", weight: 3 }],
  algorithm: "WEIGHTED_ROUND_ROBIN",
  retry: { max_retries: 1 },
  hash_key: { source: "header", name: "x-user" },
};

function keys() {
  let k = 0;
  return () => ++k;
}

Deno.test("an untouched form gives back the stored config exactly", () => {
  const rows = rowsFromConfig(stored, keys());
  const { config, rowKeys } = buildConfig(stored, settingsFromConfig(stored), rows);
  assert.deepEqual(config, stored);
  assert.deepEqual(rowKeys, [1, 2]);
});

Deno.test("form edits: add, remove, re-weight, drain and settings; other keys are kept", () => {
  const rows = rowsFromConfig(stored, keys());
  rows[0]!.removed = true;
  rows[1]!.weight = "5";
  rows[1]!.drain = true;
  const added: BackendRow = {
    key: 9,
    address: " 10.0.0.3:80 ",
    weight: "",
    drain: false,
    removed: false,
    original: undefined,
  };
  const weighted: BackendRow = { ...added, key: 10, address: "10.0.0.4:80", weight: "2" };
  const settings = settingsFromConfig(stored);
  settings.algorithm = "";
  settings.health_check_frequency_seconds = "2.5";
  settings["hash_key.source"] = "";
  settings["hash_key.name"] = "";
  const { config, rowKeys } = buildConfig(stored, settings, [...rows, added, weighted]);
  assert.deepEqual(config, {
    backend_servers: [
      { address: "10.0.0.2:80", weight: 5, drain: true },
      "10.0.0.3:80",
      { address: "10.0.0.4:80", weight: 2 },
    ],
    retry: { max_retries: 1 },
    health_check_frequency_seconds: 2.5,
  });
  assert.deepEqual(rowKeys, [2, 9, 10]);
});

Deno.test("a bad weight is sent as typed, so the schema names it at that row's weight", () => {
  const rows = rowsFromConfig(stored, keys());
  rows[1]!.weight = "abc";
  const { config, rowKeys } = buildConfig(stored, settingsFromConfig(stored), rows);
  const r = validateGroupConfig("g", config);
  assert.equal(r.ok, false);
  const issues = r.ok ? [] : r.issues;
  assert.equal(issues[0]?.field, "backend_servers[1].weight");
  assert.match(issues[0]?.reason ?? "", /must be an integer from 1 to 10000 \(got "abc"\)/);
  assert.equal(issueSlot(issues[0]!.field, rowKeys), "backend:2:weight");
});

Deno.test("issueSlot() puts each issue next to its field, else in the general list", () => {
  const rowKeys = [4, 7];
  assert.equal(issueSlot("backend_servers[1]", rowKeys), "backend:7:address");
  assert.equal(issueSlot("backend_servers[0].address", rowKeys), "backend:4:address");
  assert.equal(issueSlot("backend_servers[0].drain", rowKeys), "backend:4:drain");
  assert.equal(issueSlot("backend_servers[0].bogus", rowKeys), "backend:4:address");
  assert.equal(issueSlot("backend_servers[5]", rowKeys), "backend_servers");
  assert.equal(issueSlot("backend_servers", rowKeys), "backend_servers");
  assert.equal(issueSlot("algorithm", rowKeys), "algorithm");
  assert.equal(issueSlot("hash_key.name", rowKeys), "hash_key.name");
  assert.equal(issueSlot("hash_key", rowKeys), "hash_key.source");
  assert.equal(issueSlot("retry.max_retries", rowKeys), "");
  assert.equal(issueSlot("", rowKeys), "");
});

Deno.test("parseNumberish() keeps what is not a number for the schema to report", () => {
  assert.equal(parseNumberish("42"), 42);
  assert.equal(parseNumberish("-1.5e2"), -150);
  assert.equal(parseNumberish(".5"), 0.5);
  assert.equal(parseNumberish("  "), undefined);
  assert.equal(parseNumberish("1,5"), "1,5");
  assert.equal(parseNumberish("0x10"), "0x10");
});

Deno.test("chartModel() scales to a nice maximum, breaks lines at gaps and skips old points", () => {
  assert.equal(niceMax(0), 1);
  assert.equal(niceMax(37), 50);
  assert.equal(niceMax(0.3), 0.5);
  assert.equal(niceMax(200), 200);
  const m = chartModel(
    [0, 1000, 2000, 3000, 4000],
    [{ cls: "rps", values: [999, 10, null, 20, 30], area: true }],
    { start: 500, end: 4500, width: 300, height: 96 },
  );
  assert.equal(m.yMax, 50); // 999 is before the window
  const d = m.lines[0]!.d;
  assert.equal((d.match(/M/g) ?? []).length, 2); // two segments around the gap
  assert.equal((m.lines[0]!.area!.match(/Z/g) ?? []).length, 2);
  assert.deepEqual(m.xTicks.map((t) => t.label), ["-4s", "", "now"]);
  // every point inside the plot
  for (const [, x, y] of d.matchAll(/[ML]([\d.]+) ([\d.]+)/g)) {
    assert.ok(Number(x) >= m.plot.left && Number(x) <= m.plot.right, d);
    assert.ok(Number(y) >= m.plot.top && Number(y) <= m.plot.bottom, d);
  }
});

Deno.test("formatting: rates and milliseconds", () => {
  assert.equal(fmtRate(null), "–");
  assert.equal(fmtRate(0), "0");
  assert.equal(fmtRate(2.345), "2.3");
  assert.equal(fmtRate(1234.4), "1,234");
  assert.equal(fmtMs(0.456), "0.46 ms");
  assert.equal(fmtMs(12.4), "12 ms");
  assert.equal(fmtMs(12_345), "12.3 s");
});
