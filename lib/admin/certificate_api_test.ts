/**
 * The admin API's certificate routes over the in-memory store (a unit-test aid; the real
 * ZooKeeper, its ACLs and the processes are in tests/control_plane/certs_test.ts).
 */
import assert from "node:assert/strict";
import { createLogger } from "../log.ts";
import { Registry } from "../metrics/registry.ts";
import { digestAcl, writerOnlyAcl } from "../store/acl.ts";
import { certPath, CERTS_ROOT } from "../store/layout.ts";
import { MemoryServer, type MemoryStore } from "../store/memory.ts";
import { NoAuthError } from "../store/types.ts";
import { selfSignedCertificate } from "../../tests/support/tls.ts";
import { adminApi } from "./api.ts";
import { ConfigRepo } from "./config_repo.ts";

const TOKEN = "alice-token-0001";
const ADMIN = "admin:admin-pw";
const enc = (t: string) => new TextEncoder().encode(t);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const shop = selfSignedCertificate(
  "shop.example.com",
  "DNS:shop.example.com,DNS:*.shop.example.com",
);
const shop2 = selfSignedCertificate("shop.example.com", "DNS:shop.example.com", 90);
const other = selfSignedCertificate("other.example.com", "DNS:other.example.com");
const expired = selfSignedCertificate("old.example.com", "DNS:old.example.com", -1);
/** A line of each key's base64 body: none may appear in an answer or a log line. */
const keyLines = [shop, shop2, other, expired].map((c) => c.key.split("\n")[1]!);

type Json = Record<string, unknown>;

interface Harness {
  store: MemoryStore;
  server: MemoryServer;
  lines: string[];
  texts: string[];
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{
    status: number;
    json: Json;
    headers: Headers;
  }>;
  metric(action: string, result: string): number;
}

async function withApi(
  fn: (h: Harness) => Promise<void>,
  options: { digest?: string; now?: () => number } = {},
): Promise<void> {
  const server = new MemoryServer();
  const store = await server.connect(options.digest ? { digest: options.digest } : {});
  const repo = new ConfigRepo(store, {
    historyLimit: 50,
    acl: options.digest ? writerOnlyAcl(options.digest) : null,
  });
  const lines: string[] = [];
  const texts: string[] = [];
  const log = createLogger({ level: "debug", write: (line) => lines.push(line), now: () => 0 });
  const registry = new Registry();
  const app = adminApi({
    repo,
    tokens: [{ name: "alice", token: TOKEN }],
    log,
    registry,
    ...(options.now ? { now: options.now } : {}),
  });
  const call: Harness["call"] = async (method, path, body, headers = {}) => {
    const res = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
      ...(body === undefined
        ? {}
        : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    texts.push(text);
    return { status: res.status, json: text ? JSON.parse(text) : {}, headers: res.headers };
  };
  const metric = (action: string, result: string) => {
    const line = registry.render().split("\n").find((l) =>
      l.startsWith(`switchyard_admin_writes_total{action="${action}",result="${result}"}`)
    );
    return line === undefined ? 0 : Number(line.split(" ").at(-1));
  };
  try {
    await fn({ store, server, lines, texts, call, metric });
    // whatever happened, no answer and no log line carried a private key
    for (const k of keyLines) {
      for (const t of texts) assert.ok(!t.includes(k), `an answer carries a key: ${t}`);
      for (const l of lines) assert.ok(!l.includes(k), `a log line carries a key: ${l}`);
      for (const t of [...texts, ...lines]) assert.ok(!t.includes("PRIVATE KEY"), t);
    }
  } finally {
    await store.close();
  }
}

Deno.test("PUT /api/certs/:name creates, GET lists and reads metadata and the chain, never the key", async () => {
  await withApi(async (h) => {
    const created = await h.call("PUT", "/api/certs/shop", shop);
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.headers.get("etag"), '"0"');
    assert.equal(created.json.name, "shop");
    assert.equal(created.json.version, 0);
    assert.deepEqual(created.json.names, ["shop.example.com", "*.shop.example.com"]);
    assert.equal(created.json.subject, "CN=shop.example.com");
    assert.ok(Number(created.json.days_left) >= 29 && Number(created.json.days_left) <= 30);
    assert.match(String(created.json.fingerprint256), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    // stored as {cert, key}
    const node = await h.store.get(certPath("shop"));
    assert.deepEqual(JSON.parse(dec(node!.data)), { cert: shop.cert, key: shop.key });

    const list = await h.call("GET", "/api/certs");
    assert.equal(list.status, 200);
    const certs = list.json.certs as Json[];
    assert.deepEqual(certs.map((c) => [c.name, c.version, c.valid]), [["shop", 0, true]]);
    assert.equal(certs[0]!.not_after, created.json.not_after);
    assert.equal(certs[0]!.issuer, "CN=shop.example.com");
    assert.equal("cert" in certs[0]!, false);

    const one = await h.call("GET", "/api/certs/shop");
    assert.equal(one.status, 200);
    assert.equal(one.headers.get("etag"), '"0"');
    assert.equal(one.json.cert, shop.cert);
    assert.equal("key" in one.json, false);
    assert.equal(h.metric("cert-create", "ok"), 1);
    const audit = h.lines.map((l) => JSON.parse(l)).find((l) => l.msg === "admin write");
    assert.equal(audit.certificate, "shop");
    assert.equal(audit.action, "cert-create");
    assert.equal(audit.fingerprint256, created.json.fingerprint256);
    assert.equal(audit.not_after, created.json.not_after);
  });
});

Deno.test("PUT over an existing certificate needs If-Match (428), a stale one gets 409, DELETE needs the version", async () => {
  await withApi(async (h) => {
    assert.equal((await h.call("PUT", "/api/certs/shop", shop)).status, 201);
    const blind = await h.call("PUT", "/api/certs/shop", shop2);
    assert.equal(blind.status, 428);
    const replaced = await h.call("PUT", "/api/certs/shop", shop2, { "if-match": '"0"' });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.json));
    assert.equal(replaced.json.version, 1);
    assert.ok(Number(replaced.json.days_left) >= 89);
    const stale = await h.call("PUT", "/api/certs/shop", shop, { "if-match": '"0"' });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.current_version, 1);
    assert.equal(
      JSON.parse(dec((await h.store.get(certPath("shop")))!.data)).cert,
      shop2.cert,
      "a stale write changes nothing",
    );
    assert.equal((await h.call("DELETE", "/api/certs/shop")).status, 428);
    const staleDelete = await h.call("DELETE", "/api/certs/shop", undefined, { "if-match": '"0"' });
    assert.equal(staleDelete.status, 409);
    assert.equal(staleDelete.json.current_version, 1);
    const del = await h.call("DELETE", "/api/certs/shop", undefined, { "if-match": '"1"' });
    assert.equal(del.status, 204);
    assert.equal(await h.store.exists(certPath("shop")), null);
    const gone = await h.call("GET", "/api/certs/shop");
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error, "no such certificate");
    assert.equal((await h.call("PUT", "/api/certs/x", shop, { "if-match": '"0"' })).status, 404);
    assert.equal(h.metric("cert-update", "ok"), 1);
    assert.equal(h.metric("cert-update", "conflict"), 1);
    assert.equal(h.metric("cert-delete", "ok"), 1);
  });
});

Deno.test("PUT refuses a bad pair, a bad body or an expired certificate with 422 naming the field; nothing is written", async () => {
  const now = Date.now();
  await withApi(async (h) => {
    const cases: Array<[string, unknown, string, RegExp]> = [
      [
        "the key of another certificate",
        { cert: shop.cert, key: other.key },
        "key",
        /does not match/,
      ],
      ["a key that is not PEM", { cert: shop.cert, key: "nope" }, "key", /does not parse/],
      ["no certificate", { cert: "nope", key: shop.key }, "cert", /no PEM certificate/],
      ["no key", { cert: shop.cert }, "key", /PEM private key string/],
      ["an extra field", { ...shop, chain: "x" }, "chain", /unknown field/],
      ["not an object", [shop.cert], "", /must be an object/],
      ["expired", expired, "cert", /expired at \d{4}-\d\d-\d\dT.*\(notAfter\)/],
    ];
    for (const [what, body, field, reason] of cases) {
      const r = await h.call("PUT", "/api/certs/shop", body);
      assert.equal(r.status, 422, `${what}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error, "invalid certificate", what);
      const issues = r.json.issues as { field: string; reason: string }[];
      assert.equal(issues[0]!.field, field, what);
      assert.match(issues[0]!.reason, reason, what);
      assert.match(String(r.json.reason), reason, what);
    }
    const exp = await h.call("PUT", "/api/certs/shop", expired);
    assert.ok(Date.parse(String(exp.json.not_after)) < now);
    assert.equal(await h.store.exists(certPath("shop")), null);
    // a body that is not JSON: 400, and the parser's message (which could quote it) is not repeated
    const notJson = await h.call("PUT", "/api/certs/shop", `{"key": "${shop.key}`);
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.error, "the request body must be JSON");
    assert.equal((await h.call("PUT", "/api/certs/bad%20name", shop)).status, 400);
    assert.equal(h.metric("cert-create", "invalid"), 10);
    // positive control: the same name takes a good pair
    assert.equal((await h.call("PUT", "/api/certs/shop", shop)).status, 201);
  });
});

Deno.test("the expiry check uses the API's clock: a certificate valid today is refused once it has expired", async () => {
  let clock = Date.now();
  await withApi(async (h) => {
    assert.equal((await h.call("PUT", "/api/certs/a", shop)).status, 201);
    clock += 31 * 86_400_000;
    const late = await h.call("PUT", "/api/certs/b", shop);
    assert.equal(late.status, 422);
    assert.match(String(late.json.reason), /^cert: the certificate expired at/);
    const listed = (await h.call("GET", "/api/certs")).json.certs as Json[];
    assert.ok(Number(listed[0]!.days_left) < 0);
  }, { now: () => clock });
});

Deno.test("a certificate node written around the API that holds no usable pair reads as invalid, without its text", async () => {
  await withApi(async (h) => {
    await h.store.create(
      certPath("raw"),
      enc(JSON.stringify({ cert: shop.cert, key: other.key })),
      {
        parents: true,
      },
    );
    const r = await h.call("GET", "/api/certs/raw");
    assert.equal(r.status, 200);
    assert.equal(r.json.valid, false);
    assert.deepEqual((r.json.invalid as Json).field, "key");
    assert.equal(r.json.cert, null);
    const list = (await h.call("GET", "/api/certs")).json.certs as Json[];
    assert.equal(list[0]!.valid, false);
  });
});

Deno.test("with credentials, a certificate gets the ACL of /switchyard/certs without world entries, plus the writer's own rights", async () => {
  // /switchyard/certs created by the admin itself (no zk-init yet): only the admin reads
  await withApi(async (h) => {
    assert.equal((await h.call("PUT", "/api/certs/shop", shop)).status, 201);
    assert.deepEqual((await h.store.getAcl(CERTS_ROOT)).acl, [digestAcl(ADMIN)]);
    assert.deepEqual((await h.store.getAcl(certPath("shop"))).acl, [digestAcl(ADMIN)]);
    const anonymous = await h.server.connect();
    try {
      await assert.rejects(anonymous.get(certPath("shop")), NoAuthError);
      await assert.rejects(anonymous.children(CERTS_ROOT), NoAuthError);
    } finally {
      await anonymous.close();
    }
  }, { digest: ADMIN });
  // a root someone left world-readable: the world entry is not copied
  await withApi(async (h) => {
    await h.store.create(CERTS_ROOT, new Uint8Array(), {
      parents: true,
      acl: [digestAcl("proxy:proxy-pw", ["read"]), {
        scheme: "world",
        id: "anyone",
        perms: ["read", "write", "create", "delete", "admin"],
      }],
    });
    assert.equal((await h.call("PUT", "/api/certs/shop", shop)).status, 201);
    assert.deepEqual((await h.store.getAcl(certPath("shop"))).acl, [
      digestAcl("proxy:proxy-pw", ["read"]),
      digestAcl(ADMIN),
    ]);
  }, { digest: ADMIN });
});

Deno.test("the certificate routes need a token like every /api route", async () => {
  await withApi(async (h) => {
    const app = await h.call("GET", "/api/certs", undefined, {
      authorization: "Bearer wrong-token",
    });
    assert.equal(app.status, 401);
    const put = await h.call("PUT", "/api/certs/shop", shop, { authorization: "" });
    assert.equal(put.status, 401);
    assert.equal(await h.store.exists(certPath("shop")), null);
  });
});
