import assert from "node:assert/strict";
import { diffJson, formatDiff } from "./diff.ts";

Deno.test("diffJson finds no differences between equal values", () => {
  assert.deepEqual(diffJson({}, {}), []);
  assert.deepEqual(diffJson(null, null), []);
  assert.deepEqual(diffJson(1, 1), []);
  assert.deepEqual(diffJson("x", "x"), []);
  assert.deepEqual(diffJson([], []), []);
  const config = {
    backend_servers: ["10.0.0.1:80", { address: "10.0.0.2:80", weight: 3 }],
    algorithm: "RANDOM",
    retry: { max_retries: 1 },
  };
  assert.deepEqual(diffJson(config, structuredClone(config)), []);
});

Deno.test("diffJson ignores the order of object keys", () => {
  assert.deepEqual(diffJson({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 }), []);
});

Deno.test("diffJson reports a changed top-level setting with its old and new value", () => {
  assert.deepEqual(diffJson({ algorithm: "ROUND_ROBIN" }, { algorithm: "RANDOM" }), [
    { path: "algorithm", op: "change", from: "ROUND_ROBIN", to: "RANDOM" },
  ]);
});

Deno.test("diffJson reports added and removed keys", () => {
  assert.deepEqual(diffJson({ a: 1 }, { b: 2 }), [
    { path: "a", op: "remove", from: 1 },
    { path: "b", op: "add", to: 2 },
  ]);
});

Deno.test("diffJson lists keys in sorted order whatever their order in either value", () => {
  const d = diffJson({ z: 1, m: 1, a: 1 }, { a: 2, z: 2, m: 2 });
  assert.deepEqual(d.map((e) => e.path), ["a", "m", "z"]);
});

Deno.test("diffJson descends into nested objects with dotted paths", () => {
  assert.deepEqual(
    diffJson({ retry: { max_retries: 2, budget_ratio: 0.2 } }, {
      retry: { max_retries: 3, budget_ratio: 0.2 },
    }),
    [{ path: "retry.max_retries", op: "change", from: 2, to: 3 }],
  );
  assert.deepEqual(diffJson({ a: { b: { c: 1 } } }, { a: { b: { c: 1, d: 2 } } }), [
    { path: "a.b.d", op: "add", to: 2 },
  ]);
});

Deno.test("diffJson compares arrays index by index with bracketed paths", () => {
  assert.deepEqual(
    diffJson({ backend_servers: ["a:1", { address: "b:1", weight: 1 }] }, {
      backend_servers: ["a:1", { address: "b:1", weight: 5 }],
    }),
    [{ path: "backend_servers[1].weight", op: "change", from: 1, to: 5 }],
  );
});

Deno.test("diffJson reports array elements appended or dropped at the end", () => {
  assert.deepEqual(diffJson({ l: [1] }, { l: [1, 2, 3] }), [
    { path: "l[1]", op: "add", to: 2 },
    { path: "l[2]", op: "add", to: 3 },
  ]);
  assert.deepEqual(diffJson({ l: [1, 2, 3] }, { l: [1] }), [
    { path: "l[1]", op: "remove", from: 2 },
    { path: "l[2]", op: "remove", from: 3 },
  ]);
});

Deno.test("diffJson shows removing the first array element as shifted changes plus a removal", () => {
  assert.deepEqual(diffJson(["a", "b"], ["b"]), [
    { path: "[0]", op: "change", from: "a", to: "b" },
    { path: "[1]", op: "remove", from: "b" },
  ]);
});

Deno.test("diffJson reports a change of type as one change of the whole value", () => {
  assert.deepEqual(diffJson({ a: { x: 1 } }, { a: [1] }), [
    { path: "a", op: "change", from: { x: 1 }, to: [1] },
  ]);
  assert.deepEqual(diffJson({ a: 1 }, { a: "1" }), [
    { path: "a", op: "change", from: 1, to: "1" },
  ]);
  assert.deepEqual(diffJson({ a: null }, { a: {} }), [
    { path: "a", op: "change", from: null, to: {} },
  ]);
  assert.deepEqual(diffJson({ a: [] }, { a: {} }), [
    { path: "a", op: "change", from: [], to: {} },
  ]);
});

Deno.test("diffJson uses an empty path for a difference of the whole value", () => {
  assert.deepEqual(diffJson(1, 2), [{ path: "", op: "change", from: 1, to: 2 }]);
  assert.deepEqual(diffJson(null, { a: 1 }), [{
    path: "",
    op: "change",
    from: null,
    to: { a: 1 },
  }]);
});

Deno.test("diffJson treats undefined on one side as an addition or removal of the whole value", () => {
  assert.deepEqual(diffJson(undefined, { a: 1 }), [{ path: "", op: "add", to: { a: 1 } }]);
  assert.deepEqual(diffJson({ a: 1 }, undefined), [{ path: "", op: "remove", from: { a: 1 } }]);
  assert.deepEqual(diffJson(undefined, undefined), []);
});

Deno.test("diffJson quotes keys that are not plain identifiers", () => {
  assert.deepEqual(diffJson({ "a b": 1 }, { "a b": 2 }), [
    { path: '["a b"]', op: "change", from: 1, to: 2 },
  ]);
  assert.deepEqual(diffJson({ x: { "0": 1, "a.b": 1 } }, { x: { "0": 2, "a.b": 2 } }), [
    { path: 'x["0"]', op: "change", from: 1, to: 2 },
    { path: 'x["a.b"]', op: "change", from: 1, to: 2 },
  ]);
  assert.deepEqual(diffJson({}, { "": 1 }), [{ path: '[""]', op: "add", to: 1 }]);
});

Deno.test("diffJson treats keys named like Object.prototype members as ordinary keys", () => {
  assert.deepEqual(diffJson({ toString: 1 }, {}), [{ path: "toString", op: "remove", from: 1 }]);
  assert.deepEqual(diffJson({}, { constructor: 2 }), [{ path: "constructor", op: "add", to: 2 }]);
  assert.deepEqual(diffJson({ hasOwnProperty: 1 }, { hasOwnProperty: 1 }), []);
  const parsed = JSON.parse('{"__proto__": {"x": 1}}');
  assert.deepEqual(diffJson(parsed, {}), [{ path: "__proto__", op: "remove", from: { x: 1 } }]);
});

Deno.test("diffJson accepts a base path to prefix every entry", () => {
  assert.deepEqual(diffJson({ a: 1 }, { a: 2 }, "root"), [
    { path: "root.a", op: "change", from: 1, to: 2 },
  ]);
});

Deno.test("formatDiff says there are no differences for an empty list", () => {
  assert.equal(formatDiff([]), "(no differences)");
});

Deno.test("formatDiff prints one line per change with +, - and ~ markers", () => {
  const text = formatDiff(diffJson(
    { algorithm: "ROUND_ROBIN", old: true, l: [1] },
    { algorithm: "RANDOM", l: [1, { a: 2 }] },
  ));
  assert.equal(
    text,
    [
      '~ algorithm: "ROUND_ROBIN" -> "RANDOM"',
      '+ l[1]: {"a":2}',
      "- old: true",
    ].join("\n"),
  );
});

Deno.test("formatDiff names a difference of the whole value as the whole config", () => {
  assert.equal(formatDiff(diffJson(null, 1)), "~ (whole config): null -> 1");
  assert.equal(formatDiff(diffJson(undefined, 1)), "+ (whole config): 1");
});
