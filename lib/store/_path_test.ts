import assert from "node:assert/strict";
import { ancestorsOf, childPath, nameOf, parentOf, validatePath } from "./_path.ts";
import { StoreError } from "./errors.ts";

Deno.test("validatePath() accepts absolute paths and rejects what ZooKeeper rejects", () => {
  for (const ok of ["/", "/a", "/a/b-c_d.e", "/lb-configs/group-1"]) validatePath(ok);
  for (const bad of ["", "a", "/a/", "//a", "/a//b", "/a/./b", "/a/..", "/a\u0000"]) {
    assert.throws(() => validatePath(bad), StoreError, bad);
  }
  validatePath("/queue/", true);
});

Deno.test("parentOf(), nameOf(), childPath() and ancestorsOf() split and join paths", () => {
  assert.equal(parentOf("/a/b"), "/a");
  assert.equal(parentOf("/a"), "/");
  assert.equal(nameOf("/a/b"), "b");
  assert.equal(childPath("/", "a"), "/a");
  assert.equal(childPath("/a", "b"), "/a/b");
  assert.deepEqual(ancestorsOf("/a/b/c"), ["/a", "/a/b"]);
  assert.deepEqual(ancestorsOf("/a"), []);
});
