import assert from "node:assert/strict";
import { chooseGroup, contentVersion, groupUpdate } from "./config_file.ts";
import { isIssues } from "./config_source.ts";

const A = { backend_servers: ["127.0.0.1:9001"] };
const B = { backend_servers: ["127.0.0.1:9002"], algorithm: "LEAST_CONNECTIONS" };
const json = (v: unknown) => JSON.stringify(v);

Deno.test("chooseGroup() picks the requested group, or the file's only one", () => {
  const table: [string, unknown, string | undefined, string, unknown][] = [
    // name, file, --group, chosen group, its blob
    ["the only group, no --group", { a: A }, undefined, "a", A],
    ["the only group, named", { a: A }, "a", "a", A],
    ["one of two, named", { a: A, b: B }, "b", "b", B],
  ];
  for (const [name, file, requested, group, blob] of table) {
    const c = chooseGroup("lb.json", json(file), requested);
    assert.ok(c.ok, name);
    assert.equal(c.group, group, name);
    assert.deepEqual(c.update, { version: contentVersion(json(blob)), blob }, name);
  }
});

Deno.test("chooseGroup() refuses a file it cannot serve, naming the file, group and field", () => {
  const table: [string, string, string | undefined, string][] = [
    // name, text, --group, message
    [
      "not JSON",
      "{nope",
      undefined,
      /^lb\.json: group "\*": invalid JSON: /.source,
    ],
    [
      "not an object",
      "[1]",
      undefined,
      'lb.json: invalid config\ngroup "\\*": config file must be a JSON object of groups',
    ],
    [
      "no groups",
      "{}",
      undefined,
      'lb.json: invalid config\ngroup "\\*": config file has no groups',
    ],
    [
      "an invalid group, even one not served",
      json({ a: A, b: { backend_servers: "x" } }),
      "a",
      '^lb\\.json: invalid config\ngroup "b": backend_servers: ',
    ],
    [
      "two groups without --group",
      json({ a: A, b: B }),
      undefined,
      "^lb\\.json has 2 groups \\(a, b\\): use --group$",
    ],
    [
      "a group the file lacks",
      json({ a: A, b: B }),
      "c",
      '^lb\\.json has no group "c" \\(it has: a, b\\)$',
    ],
  ];
  for (const [name, text, requested, message] of table) {
    const c = chooseGroup("lb.json", text, requested);
    assert.equal(c.ok, false, name);
    assert.match((c as { message: string }).message, new RegExp(message), name);
  }
});

Deno.test("groupUpdate() turns an edit into the group's blob, versioned by the blob's content", () => {
  const u = groupUpdate(json({ a: A, b: B }), "a");
  assert.deepEqual(u, { version: contentVersion(json(A)), blob: A });
  // an edit of another group leaves this group's version as it was
  const other = groupUpdate(json({ a: A, b: { ...B, algorithm: "RANDOM" } }), "a");
  assert.equal(other.version, u.version);
  // an edit of this group changes it
  const mine = groupUpdate(json({ a: { ...A, algorithm: "RANDOM" }, b: B }), "a");
  assert.notEqual(mine.version, u.version);
  assert.equal(isIssues(mine), false);
});

Deno.test("groupUpdate() turns an unusable edit into issues, versioned by the file's content", () => {
  const table: [string, string, string, string][] = [
    // name, text, issue group, reason pattern
    ["not JSON", "{nope", "a", "^invalid JSON: "],
    ["another group invalid", json({ a: A, b: { backend_servers: 1 } }), "b", "."],
    ["the group removed", json({ b: B }), "a", "^group removed from the file$"],
    ["not an object", "null", "*", "must be a JSON object of groups"],
  ];
  for (const [name, text, group, reason] of table) {
    const u = groupUpdate(text, "a");
    assert.ok(isIssues(u), name);
    assert.equal(u.version, contentVersion(text), name);
    assert.ok(u.issues.length > 0, name);
    assert.equal(u.issues[0]!.group, group, name);
    assert.match(u.issues[0]!.reason, new RegExp(reason), name);
  }
});

Deno.test("contentVersion() is a 12-digit hex hash that follows the content", () => {
  assert.match(contentVersion("x"), /^[0-9a-f]{12}$/);
  assert.equal(contentVersion("x"), contentVersion("x"));
  assert.notEqual(contentVersion("x"), contentVersion("y"));
});
