/**
 * Invalid data written around the API with zkCli.sh, against the real ZooKeeper (issue 12, point
 * 9): the API's read says the stored data is invalid, why (the JSON error's position, or each
 * field) and which version to roll back to; `ctl get` prints the stored text, the reason and the
 * rollback command and exits 1 (under Deno and Bun); a delta write on it is refused with the same
 * words and nothing is written; the rollback it points to works.
 */
import assert from "node:assert/strict";
import { configPath } from "../../lib/store/layout.ts";
import { ctl } from "../support/ctl.ts";
import { startAdmin, zkCli, zkSandbox } from "../support/control_plane.ts";
import { RUNTIMES, stopAll } from "../support/processes.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "invalid data written with zkCli.sh: the API and ctl (Deno and Bun) say so, why, and how to roll back",
  ...E2E,
  fn: async () => {
    const zk = await zkSandbox("single");
    const admin = await startAdmin("bun", zk.connect);
    const api = ["--api", admin.url, "--token", admin.token];
    try {
      const created = await admin.api("POST", "/api/groups", {
        group: "lb-group-1",
        config: { backend_servers: ["127.0.0.1:1"] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const put = await admin.api("PUT", "/api/groups/lb-group-1", {
        backend_servers: ["127.0.0.1:2"],
      }, { "if-match": '"0"' });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      // positive control: a valid group reads as valid, ctl get exits 0
      const good = await ctl("deno", ["get", "lb-group-1", ...api]);
      assert.equal(good.status, 0, good.stderr);
      assert.match(good.stdout, /^# lb-group-1 version 1\n\{/);

      // an operator with zkCli.sh writes a blob that is not JSON
      const out = await zkCli(zk.hosts, [
        `set ${zk.chroot}${configPath("lb-group-1")} '{"backend_servers":["127.0.0.1:3",]}'`,
      ]);
      assert.doesNotMatch(out, /Exception|Node does not exist/, out);
      const stored = await zk.store.get(configPath("lb-group-1"));
      assert.equal(stored!.version, 2);

      const read = await admin.api("GET", "/api/groups/lb-group-1");
      assert.equal(read.status, 200);
      assert.equal(read.json.valid, false);
      const invalid = read.json.invalid as Record<string, unknown>;
      assert.match(
        String(invalid.reason),
        /^invalid JSON at position 34 \(line 1, column 35\): unexpected character "\]"/,
      );
      assert.equal(invalid.raw, '{"backend_servers":["127.0.0.1:3",]}');
      assert.equal(invalid.last_good_version, 1);

      for (const runtime of RUNTIMES) {
        const get = await ctl(runtime, ["get", "lb-group-1", ...api]);
        assert.equal(get.status, 1, `${runtime}: ${get.stdout}${get.stderr}`);
        assert.equal(
          get.stdout,
          '# lb-group-1 version 2 (INVALID, stored as written)\n{"backend_servers":["127.0.0.1:3",]}\n',
        );
        assert.match(
          get.stderr,
          /^ctl: the stored config of lb-group-1 \(version 2\) is invalid: invalid JSON at position 34 \(line 1, column 35\)/,
        );
        assert.match(get.stderr, /\nctl: .*restore version 1 with `ctl rollback lb-group-1 1`/);
        const asJson = await ctl(runtime, ["get", "lb-group-1", "--json", ...api]);
        assert.equal(asJson.status, 1, asJson.stderr);
        assert.equal(JSON.parse(asJson.stdout).valid, false);
      }

      // a delta write has nothing to apply to: refused with the reason and the rollback
      const add = await ctl("bun", ["add-backend", "lb-group-1", "127.0.0.1:4", ...api]);
      assert.equal(add.status, 1, add.stderr);
      assert.match(
        add.stderr,
        /^ctl: 409: the stored config of lb-group-1 \(version 2\) is invalid/,
      );
      assert.match(add.stderr, /ctl rollback lb-group-1 1/);
      assert.doesNotMatch(add.stderr, /read it again and retry/);
      assert.equal((await zk.store.get(configPath("lb-group-1")))!.version, 2);

      // a blob that is JSON but fails the schema: each field is named
      await zkCli(zk.hosts, [
        `set ${zk.chroot}${
          configPath("lb-group-1")
        } '{"backend_servers":[{"address":"127.0.0.1:3","weight":0}]}'`,
      ]);
      const fields = await ctl("deno", ["get", "lb-group-1", ...api]);
      assert.equal(fields.status, 1, fields.stderr);
      assert.match(
        fields.stderr,
        /\(version 3\) is invalid: backend_servers\[0\]\.weight: must be an integer from 1 to 10000 \(got 0\)/,
      );

      // the rollback it points to works, and the group reads as valid again
      const back = await ctl("deno", ["rollback", "lb-group-1", "1", ...api]);
      assert.equal(back.status, 0, back.stderr);
      const after = await ctl("bun", ["get", "lb-group-1", ...api]);
      assert.equal(after.status, 0, after.stderr);
      assert.match(after.stdout, /"127\.0\.0\.1:2"/);
    } finally {
      await stopAll([admin.process]);
      await zk.close();
    }
  },
});
