import assert from "node:assert/strict";
import { buildSniTable, normalizeServerName, pickBySni } from "./sni.ts";

const table = buildSniTable([
  { names: ["default.example"], value: "default" },
  { names: ["shop.example.com", "*.example.com"], value: "shop" },
  { names: ["api.example.com"], value: "api" },
  { names: ["*.eu.example.com", "Upper.Example.NET."], value: "eu" },
  // a later pair naming an already covered name does not take it over
  { names: ["shop.example.com", "late.example.org"], value: "late" },
]);

Deno.test("pickBySni: exact first, then a one-label wildcard, else the default", () => {
  const cases: Array<[string | undefined, string]> = [
    ["shop.example.com", "shop"],
    ["api.example.com", "api"], // exact beats the wildcard that also covers it
    ["cart.example.com", "shop"], // wildcard
    ["CART.Example.COM", "shop"], // case-insensitive
    ["cart.example.com.", "shop"], // trailing dot
    ["a.b.example.com", "default"], // a wildcard covers exactly one label
    ["b.eu.example.com", "eu"],
    ["example.com", "default"], // *.example.com does not cover the bare domain
    [".example.com", "default"], // nor an empty label
    ["upper.example.net", "eu"], // names from certificates are normalized too
    ["late.example.org", "late"],
    ["unknown.test", "default"],
    ["", "default"],
    [undefined, "default"],
    ["127.0.0.1", "default"],
  ];
  for (const [name, want] of cases) assert.equal(pickBySni(table, name), want, String(name));
});

Deno.test("buildSniTable: the first entry is the default; an empty set is refused", () => {
  assert.equal(buildSniTable([{ names: [], value: 7 }]).fallback, 7);
  assert.throws(() => buildSniTable([]), /at least one certificate/);
});

Deno.test("normalizeServerName lower-cases and drops one trailing dot", () => {
  assert.equal(normalizeServerName("A.Example.COM."), "a.example.com");
  assert.equal(normalizeServerName("a.example.com"), "a.example.com");
});
