import assert from "node:assert/strict";
import { applyHeaderOps, compileHeaderOps, compileTemplate, renderTemplate } from "./header_ops.ts";

const VARS = { clientIp: "10.1.2.3", requestId: "abc" };

/** [template, rendered with VARS, compiles to a constant]. */
const TEMPLATES: [string, string, boolean][] = [
  ["", "", true],
  ["plain", "plain", true],
  ["${client_ip}", "10.1.2.3", false],
  ["${request_id}", "abc", false],
  ["ip=${client_ip}", "ip=10.1.2.3", false],
  ["${client_ip}/${request_id}", "10.1.2.3/abc", false],
  ["${request_id}${request_id}", "abcabc", false],
  ["a ${client_ip} b ${request_id} c", "a 10.1.2.3 b abc c", false],
  ["$ {client_ip}", "$ {client_ip}", true],
  ["${unknown} stays", "${unknown} stays", true],
  ["${client_ip", "${client_ip", true],
  ["$${client_ip}", "$10.1.2.3", false],
];

for (const [text, rendered, constant] of TEMPLATES) {
  Deno.test(`compileTemplate(${JSON.stringify(text)}) renders ${JSON.stringify(rendered)}`, () => {
    const t = compileTemplate(text);
    assert.equal(typeof t === "string", constant);
    assert.equal(renderTemplate(t, VARS), rendered);
  });
}

Deno.test("compileHeaderOps() of nothing is empty and applying it copies the fields", () => {
  const ops = compileHeaderOps(undefined);
  assert.ok(ops.empty);
  const fields = { names: ["A"], lower: ["a"], values: ["1"] };
  const out = applyHeaderOps(fields, ops, VARS);
  assert.deepEqual(out, fields);
  assert.notEqual(out.names, fields.names);
});

Deno.test("compileHeaderOps() sets extra names last, replacing the route's own", () => {
  const ops = compileHeaderOps({ set: { "x-id": "route" }, add: { "x-id": "more", b: "2" } }, [[
    "x-id",
    "${request_id}",
  ]]);
  const out = applyHeaderOps({ names: ["X-Id"], lower: ["x-id"], values: ["client"] }, ops, VARS);
  assert.deepEqual(out.lower, ["b", "x-id"]);
  assert.deepEqual(out.values, ["2", "abc"]);
});

Deno.test("applyHeaderOps() appends tail lines as given, after the ops", () => {
  const ops = compileHeaderOps({ remove: ["set-cookie"] });
  const out = applyHeaderOps(
    { names: ["Set-Cookie"], lower: ["set-cookie"], values: ["a=1"] },
    ops,
    VARS,
    "set-cookie",
    ["sy=1; Path=/", "other=2"],
  );
  assert.deepEqual(out.values, ["sy=1; Path=/", "other=2"]);
});
