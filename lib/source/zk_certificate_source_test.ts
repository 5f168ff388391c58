/**
 * ZkCertificateSource's argument checks (its behaviour against the real ZooKeeper is in
 * tests/zookeeper/certificate_source_test.ts).
 */
import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { createMemoryStore } from "../store/mod.ts";
import { ZkCertificateSource } from "./zk_certificate_source.ts";

Deno.test("ZkCertificateSource refuses a certificate name that is not a valid name, naming it", async () => {
  const store = await createMemoryStore();
  try {
    const make = (names: string[]) =>
      new ZkCertificateSource({
        store,
        names,
        log: silentLogger,
        resyncMs: 60_000,
        onCertificate: () => {},
        onProblem: () => {},
      });
    const cases: Array<[string, RegExp]> = [
      ["a/b", /certificate name "a\/b": must be 1-128 of A-Z a-z 0-9 \. _ -/],
      ["", /certificate name "": /],
      ["..", /certificate name "\.\.": /],
      ["-x", /certificate name "-x": .*start with a letter or digit/],
    ];
    for (const [name, message] of cases) {
      assert.throws(() => make(["shop", name]), message, name);
    }
    // positive control: valid names construct
    assert.ok(make(["shop", "api.example.com", "a_b-1"]) instanceof ZkCertificateSource);
  } finally {
    await store.close();
  }
});
