import assert from "node:assert/strict";
import {
  ALL_PERMS,
  digestAcl,
  digestId,
  maskToPerms,
  parseDigest,
  permsToMask,
  writerOnlyAcl,
} from "./acl.ts";

Deno.test("digestId() matches ZooKeeper's DigestAuthenticationProvider output", () => {
  // Reference value from `java -cp zookeeper.jar ...DigestAuthenticationProvider super:secret`.
  assert.equal(digestId("super", "secret"), "super:lK75jTNcA+U9vtVEw5vB51mj/w4=");
});

Deno.test("parseDigest() splits at the first colon so passwords may contain colons", () => {
  assert.deepEqual(parseDigest("u:p:q"), { user: "u", password: "p:q" });
  assert.throws(() => parseDigest("nocolon"));
  assert.throws(() => parseDigest(":p"));
});

Deno.test("permsToMask() and maskToPerms() round-trip ZooKeeper permission bits", () => {
  assert.equal(permsToMask(ALL_PERMS), 31);
  assert.equal(permsToMask(["read", "admin"]), 17);
  assert.deepEqual(maskToPerms(5), ["read", "create"]);
});

Deno.test("writerOnlyAcl() grants the writer everything and the world read", () => {
  const acl = writerOnlyAcl("control:pw");
  assert.deepEqual(acl[0], digestAcl("control:pw"));
  assert.deepEqual(acl[1], { scheme: "world", id: "anyone", perms: ["read"] });
});
