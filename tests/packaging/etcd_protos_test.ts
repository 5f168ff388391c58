/**
 * deploy/etcd_protos.ts: the etcd3 client's `.proto` read is replaced by the
 * protocol parsed at build time, or the build fails.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  ETCD3_PROTO_MODULE,
  etcdProtocolJson,
  inlineEtcdProtocol,
} from "../../deploy/etcd_protos.ts";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";

const CALL = "(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`, { keepCase: true })";

Deno.test("inlineEtcdProtocol() replaces the one .proto read, and refuses any other source", () => {
  const cases: { source: string; want: string | RegExp }[] = [
    {
      source: `const d = ${CALL};`,
      want: 'const d = (0, proto_loader_1.fromJSON)({"n":1}, { keepCase: true });',
    },
    { source: "const d = loadSync('rpc.proto');", want: /does not call .* exactly once/ },
    { source: `${CALL};${CALL};`, want: /exactly once/ },
  ];
  for (const { source, want } of cases) {
    if (typeof want === "string") assert.equal(inlineEtcdProtocol(source, '{"n":1}'), want);
    else assert.throws(() => inlineEtcdProtocol(source, '{"n":1}'), want);
  }
});

Deno.test("the installed etcd3 loads its protocol the way inlineEtcdProtocol() rewrites", () => {
  const file = path.join(REPO_ROOT, "node_modules", "etcd3", "lib", "connection-pool.js");
  assert.match(fs.realpathSync(file), ETCD3_PROTO_MODULE);
  const rewritten = inlineEtcdProtocol(fs.readFileSync(file, "utf8"), etcdProtocolJson());
  assert.doesNotMatch(rewritten, /\.proto`/);
});

Deno.test("etcdProtocolJson() holds etcd's KV service with field names as in the .proto", () => {
  const json = JSON.parse(etcdProtocolJson());
  const pb = json.nested.etcdserverpb.nested;
  assert.ok(pb.KV.methods.Range, "KV.Range");
  assert.ok(pb.Lease.methods.LeaseGrant, "Lease.LeaseGrant");
  assert.ok(json.nested.mvccpb.nested.KeyValue.fields.mod_revision, "keepCase: mod_revision");
});
