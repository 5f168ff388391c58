/**
 * Oversized writes to the admin API, against the real ZooKeeper and the admin role under Deno and
 * Bun (issue 12, point 7). A schema-valid config of about 2 MB (100,000 backends) is over
 * ZooKeeper's 1 MB request limit: ZooKeeper would drop the admin's connection and the old code
 * answered 503 and left an empty history node. Now: the body limit (1 MiB) answers 413 before
 * parsing (Content-Length up front, a chunked body counted as it arrives), the config limit
 * (256 KiB as stored) answers 413 before writing, nothing is written, the admin's ZooKeeper
 * connection is never dropped, and `ctl` says which limit.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { MAX_BODY_BYTES, MAX_CONFIG_BYTES } from "../../lib/admin/limits.ts";
import { configPath, historyPath } from "../../lib/store/layout.ts";
import { ctl } from "../support/ctl.ts";
import { startAdmin, zkSandbox } from "../support/control_plane.ts";
import { RUNTIMES, stopAll, tempDir } from "../support/processes.ts";
import { RawConnection } from "../support/raw_http.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

/** `n` distinct backends; 100,000 of them are about 2 MB of JSON. */
function backends(n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`,
  );
}

/** `n` fixed-width backends: each is 25 bytes of the stored (indented) config. */
function fixedWidth(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `b${String(i).padStart(6, "0")}.test:8080`);
}

interface ZkStatus {
  state: string;
  session: string;
  connected_since: string;
  disconnects: number;
}

async function zkStatus(adminUrl: string): Promise<ZkStatus> {
  const r = await fetch(`${adminUrl}/status`, { signal: AbortSignal.timeout(10_000) });
  return (await r.json()).zookeeper;
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `oversized writes to the admin API (${runtime}): 413 before parsing or writing, ` +
      "nothing written, the ZooKeeper connection kept, ctl names the limit",
    ...E2E,
    fn: async () => {
      const zk = await zkSandbox("single");
      const admin = await startAdmin(runtime, zk.connect);
      const port = Number(new URL(admin.url).port);
      try {
        const created = await admin.api("POST", "/api/groups", {
          group: "g",
          config: { backend_servers: ["127.0.0.1:1"] },
        });
        assert.equal(created.status, 201, JSON.stringify(created.json));
        const before = await zkStatus(admin.adminUrl);
        assert.equal(before.state, "connected");

        // the issue's case: 100,000 backends, about 2 MB, schema-valid
        const huge = { backend_servers: backends(100_000) };
        assert.ok(JSON.stringify(huge).length > 1_700_000); // 2.4 MB as stored (indented)
        const post = await admin.api("POST", "/api/groups", { group: "huge", config: huge });
        assert.equal(post.status, 413, JSON.stringify(post.json));
        assert.equal(post.json.limit_bytes, MAX_BODY_BYTES);
        assert.match(String(post.json.error), /over the limit of 1048576 bytes \(1 MiB\)/);
        const put = await admin.api("PUT", "/api/groups/g", huge, { "if-match": '"0"' });
        assert.equal(put.status, 413, JSON.stringify(put.json));

        // a declared 32 MiB body: answered without waiting for it
        const declared = await RawConnection.open(port);
        await declared.sendAsync(
          `PUT /api/groups/g HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin.token}\r\n` +
            `Content-Type: application/json\r\nIf-Match: "0"\r\nContent-Length: ${
              32 << 20
            }\r\n\r\n` +
            "{" + " ".repeat(64 * 1024),
        );
        const early = await declared.readResponse({ timeoutMs: 15_000 });
        assert.equal(early.status, 413, early.body.toString());
        assert.equal(JSON.parse(early.body.toString()).limit_bytes, MAX_BODY_BYTES);
        declared.destroy();

        // a chunked 32 MiB body: refused once past the limit, long before its end
        const chunked = await RawConnection.open(port);
        await chunked.sendAsync(
          `PUT /api/groups/g HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin.token}\r\n` +
            `Content-Type: application/json\r\nIf-Match: "0"\r\nTransfer-Encoding: chunked\r\n\r\n`,
        );
        const piece = `${(64 * 1024).toString(16)}\r\n${" ".repeat(64 * 1024)}\r\n`;
        let sent = 0;
        while (sent < 32 << 20 && chunked.received === 0 && !chunked.isClosed) {
          try {
            await chunked.sendAsync(piece);
          } catch {
            break; // the server closed after answering
          }
          sent += 64 * 1024;
        }
        const refused = await chunked.readResponse({ timeoutMs: 15_000 });
        assert.equal(refused.status, 413, refused.body.toString());
        assert.ok(sent < 16 << 20, `sent ${sent} bytes before the answer`);
        chunked.destroy();

        // under the body limit but over the config limit (about 300 KB as stored)
        const mid = { backend_servers: fixedWidth(12_000) };
        const big = await admin.api("PUT", "/api/groups/g", mid, { "if-match": '"0"' });
        assert.equal(big.status, 413, JSON.stringify(big.json));
        assert.equal(big.json.limit_bytes, MAX_CONFIG_BYTES);
        assert.match(String(big.json.error), /over the limit of 262144 bytes \(256 KiB/);
        const bigNew = await admin.api("POST", "/api/groups", { group: "mid", config: mid });
        assert.equal(bigNew.status, 413, JSON.stringify(bigNew.json));

        // nothing written: no node, no empty history node, the group unchanged
        for (const group of ["huge", "mid"]) {
          assert.equal(await zk.store.exists(configPath(group)), null, group);
          assert.equal(await zk.store.exists(historyPath(group)), null, group);
        }
        assert.equal((await zk.store.exists(configPath("g")))!.version, 0);
        assert.equal((await zk.store.children(historyPath("g"))).length, 1);

        // positive control: just under the config limit is written (and read back)
        const fits = { backend_servers: fixedWidth(10_000) };
        const ok = await admin.api("PUT", "/api/groups/g", fits, { "if-match": '"0"' });
        assert.equal(ok.status, 200, JSON.stringify(ok.json).slice(0, 300));
        const node = (await zk.store.get(configPath("g")))!;
        assert.equal(node.version, 1);
        assert.ok(node.data.length <= MAX_CONFIG_BYTES && node.data.length > 240_000);

        // the admin's ZooKeeper connection was never dropped
        const after = await zkStatus(admin.adminUrl);
        assert.deepEqual(after, before);
        assert.equal(after.disconnects, 0);

        // ctl: refuses a body over the limit itself; shows the API's config-size 413
        const dir = tempDir("ctl-limits");
        fs.writeFileSync(path.join(dir, "huge.json"), JSON.stringify(huge));
        fs.writeFileSync(path.join(dir, "mid.json"), JSON.stringify(mid));
        const api = ["--api", admin.url, "--token", admin.token];
        const c1 = await ctl(runtime, ["create", "huge", path.join(dir, "huge.json"), ...api]);
        assert.equal(c1.status, 1, c1.stderr);
        assert.match(
          c1.stderr,
          /ctl: the request is \d+ bytes, over the admin API's limit of 1048576 bytes/,
        );
        const c2 = await ctl(runtime, ["set", "g", path.join(dir, "mid.json"), ...api]);
        assert.equal(c2.status, 1, c2.stderr);
        assert.match(
          c2.stderr,
          /ctl: 413: the config of g is \d+ bytes as stored, over the limit of 262144 bytes/,
        );
        assert.equal((await zk.store.exists(configPath("g")))!.version, 1);
        assert.equal(await zk.store.exists(configPath("huge")), null);
      } finally {
        await stopAll([admin.process]);
        await zk.close();
      }
    },
  });
}
