/**
 * What the console shows for a group whose stored config is invalid: that it is invalid, every
 * reason (field path or JSON position) and the way back (rollback).
 */
import assert from "node:assert/strict";
import { invalidNotice } from "../../lib/admin/console/client/invalid_notice.ts";

Deno.test("the console's notice of an invalid stored config names each reason and the rollback", () => {
  const n = invalidNotice("shop", 4, [
    {
      field: "",
      reason: 'invalid JSON at position 21 (line 1, column 22): unexpected character "}"',
    },
  ]);
  assert.deepEqual(n, {
    headline:
      "The stored config (version 4) is invalid; the proxies keep serving their last good one.",
    lines: ['(config): invalid JSON at position 21 (line 1, column 22): unexpected character "}"'],
    hint:
      "Roll back: open History and roll back to a good version, or run `ctl rollback shop VERSION`.",
  });
  const fields = invalidNotice("shop", 5, [
    { field: "backend_servers[0].weight", reason: "must be an integer from 1 to 10000 (got 0)" },
    { field: "algorithm", reason: "must be one of ..." },
  ]);
  assert.deepEqual(fields?.lines, [
    "backend_servers[0].weight: must be an integer from 1 to 10000 (got 0)",
    "algorithm: must be one of ...",
  ]);
});

Deno.test("a valid stored config has no notice", () => {
  assert.equal(invalidNotice("shop", 4, []), null);
});
