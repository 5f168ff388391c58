import assert from "node:assert/strict";
import { inspectStoredConfig, invalidJsonReason, rollbackHint } from "./stored_config.ts";

Deno.test("inspectStoredConfig: valid, not JSON, and schema-invalid blobs", () => {
  const ok = inspectStoredConfig("g", '{"backend_servers":["10.0.0.1:80"]}');
  assert.deepEqual(ok, { config: { backend_servers: ["10.0.0.1:80"] }, problem: null });

  const bad = inspectStoredConfig("g", '{"backend_servers":[}');
  assert.equal(bad.config, null);
  assert.match(
    bad.problem!.reason,
    /^invalid JSON at position 20 \(line 1, column 21\): unexpected character "}" \(.+\)$/,
  );
  assert.deepEqual(bad.problem!.issues, [{ field: "", reason: bad.problem!.reason }]);

  const fields = inspectStoredConfig(
    "g",
    '{"backend_servers":[{"address":"a:1","weight":0}],"x":1}',
  );
  assert.deepEqual(fields.config, { backend_servers: [{ address: "a:1", weight: 0 }], x: 1 });
  assert.deepEqual(fields.problem, {
    reason: "backend_servers[0].weight: must be an integer from 1 to 10000 (got 0); x: unknown key",
    issues: [
      { field: "backend_servers[0].weight", reason: "must be an integer from 1 to 10000 (got 0)" },
      { field: "x", reason: "unknown key" },
    ],
  });

  for (const raw of ["[1]", "null", '"text"']) {
    assert.equal(
      inspectStoredConfig("g", raw).problem?.reason,
      "config must be a JSON object",
      raw,
    );
  }
});

Deno.test("invalidJsonReason falls back to the runtime's message for text the scanner accepts", () => {
  assert.equal(invalidJsonReason("{}", "boom"), "invalid JSON: boom");
});

Deno.test("rollbackHint names the ctl command and the route, or says there is no good version", () => {
  assert.match(
    rollbackHint("shop", 3),
    /`ctl rollback shop 3` \(POST \/api\/groups\/shop\/rollback \{"version":3\}\)/,
  );
  assert.match(
    rollbackHint("shop", null),
    /^no valid version in the history: .*`ctl set shop FILE`/,
  );
});
