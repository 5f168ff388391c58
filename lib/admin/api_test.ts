import assert from "node:assert/strict";
import { createLogger } from "../log.ts";
import { Registry } from "../metrics/registry.ts";
import { writerOnlyAcl } from "../store/acl.ts";
import {
  configPath,
  healthBackendPath,
  historyPath,
  routeHistoryPath,
  routesPath,
} from "../store/layout.ts";
import { MemoryServer, type MemoryStore } from "../store/memory.ts";
import type { CoordinationStore, Op } from "../store/types.ts";
import { adminApi } from "./api.ts";
import { ConfigRepo } from "./config_repo.ts";
import { MAX_BODY_BYTES, MAX_CONFIG_BYTES } from "./limits.ts";

const ALICE = "alice-token-0001";
const BOB = "bob-token-00002";
const enc = (t: string) => new TextEncoder().encode(t);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

type Json = Record<string, unknown>;

interface Reply {
  status: number;
  json: Json;
  text: string;
  headers: Headers;
}

interface Api {
  server: MemoryServer;
  store: MemoryStore;
  /** Another session, for writes around the API. */
  other: MemoryStore;
  repo: ConfigRepo;
  registry: Registry;
  /** Every log line, parsed. */
  lines: Json[];
  app: ReturnType<typeof adminApi>;
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
    token?: string | null,
  ): Promise<Reply>;
  /** The value of switchyard_admin_writes_total{action,result}, 0 when absent. */
  writes(action: string, result: string): number;
  /** All write counter samples, `action/result=value`, sorted. */
  samples(): string[];
}

async function withApi(
  fn: (api: Api) => Promise<void>,
  options: { store?: (s: MemoryStore) => CoordinationStore; acl?: ConfigRepo["options"]["acl"] } =
    {},
): Promise<void> {
  const server = new MemoryServer();
  const store = await server.connect({ reconnectWaitMs: 20 });
  const other = await server.connect();
  const repo = new ConfigRepo(options.store ? options.store(store) : store, {
    historyLimit: 50,
    acl: options.acl ?? null,
  });
  const lines: Json[] = [];
  const log = createLogger({
    level: "debug",
    write: (line) => lines.push(JSON.parse(line)),
    now: () => 0,
  });
  const registry = new Registry();
  const app = adminApi({
    repo,
    tokens: [{ name: "alice", token: ALICE }, { name: "bob", token: BOB }],
    log,
    registry,
  });
  const call: Api["call"] = async (method, path, body, headers = {}, token = ALICE) => {
    const h: Record<string, string> = { ...headers };
    if (token !== null) h.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === "string" ? body : JSON.stringify(body);
      h["content-type"] ??= "application/json";
    }
    const res = await app.request(path, {
      method,
      headers: h,
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await res.text();
    let json: Json = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = {};
    }
    return { status: res.status, json, text, headers: res.headers };
  };
  const samples = () =>
    registry.render().split("\n").filter((l) => l.startsWith("switchyard_admin_writes_total{"))
      .map((l) => {
        const m = /action="([^"]*)",result="([^"]*)"\} (\S+)/.exec(l)!;
        return `${m[1]}/${m[2]}=${m[3]}`;
      }).sort();
  const writes = (action: string, result: string) => {
    const s = samples().find((x) => x.startsWith(`${action}/${result}=`));
    return s === undefined ? 0 : Number(s.split("=")[1]);
  };
  try {
    await fn({ server, store, other, repo, registry, lines, app, call, writes, samples });
  } finally {
    await store.close();
    await other.close();
  }
}

const cfg = (...backends: unknown[]) => ({ backend_servers: backends });

/** Creates group `g` through the API (version 0). */
async function seed(api: Api, config: unknown = cfg("10.0.0.1:80", "10.0.0.2:80")) {
  const r = await api.call("POST", "/api/groups", { group: "g", config });
  assert.equal(r.status, 201, r.text);
}

async function stored(api: Api, group = "g"): Promise<{ version: number; config: unknown } | null> {
  const node = await api.other.get(configPath(group));
  return node ? { version: node.version, config: JSON.parse(dec(node.data)) } : null;
}

// --- authentication -------------------------------------------------------------------------------

Deno.test("the admin API answers 401 with a Bearer challenge without a token", async () => {
  await withApi(async (api) => {
    const r = await api.call("GET", "/api/groups", undefined, {}, null);
    assert.equal(r.status, 401);
    assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="switchyard"');
    assert.match(String(r.json.error), /bearer token/);
  });
});

Deno.test("the admin API answers 401 to a wrong token or another scheme", async () => {
  await withApi(async (api) => {
    assert.equal((await api.call("GET", "/api/groups", undefined, {}, "not-a-token")).status, 401);
    assert.equal((await api.call("GET", "/api/groups", undefined, {}, `${ALICE}x`)).status, 401);
    const basic = await api.call("GET", "/api/groups", undefined, {
      authorization: `Basic ${btoa(`alice:${ALICE}`)}`,
    }, null);
    assert.equal(basic.status, 401);
  });
});

Deno.test("the admin API refuses an unauthenticated write without writing or counting it", async () => {
  await withApi(async (api) => {
    const r = await api.call("POST", "/api/groups", { group: "g", config: cfg("a:1") }, {}, "x");
    assert.equal(r.status, 401);
    assert.equal(await stored(api), null);
    assert.deepEqual(api.samples(), []);
  });
});

Deno.test("the admin API tells a caller who its token names", async () => {
  await withApi(async (api) => {
    assert.deepEqual((await api.call("GET", "/api/whoami")).json, { name: "alice" });
    assert.deepEqual((await api.call("GET", "/api/whoami", undefined, {}, BOB)).json, {
      name: "bob",
    });
  });
});

// --- list and get ---------------------------------------------------------------------------------

Deno.test("listing groups returns each group with its version", async () => {
  await withApi(async (api) => {
    assert.deepEqual((await api.call("GET", "/api/groups")).json, { groups: [] });
    await seed(api);
    await api.call("POST", "/api/groups", { group: "a", config: cfg("10.0.0.9:80") });
    await api.call("PUT", "/api/groups/g", cfg("10.0.0.3:80"), { "if-match": '"0"' });
    assert.deepEqual((await api.call("GET", "/api/groups")).json, {
      groups: [{ group: "a", version: 0 }, { group: "g", version: 1 }],
    });
  });
});

Deno.test("getting a group returns its config and version with the version as ETag", async () => {
  await withApi(async (api) => {
    await seed(api);
    const r = await api.call("GET", "/api/groups/g");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("etag"), '"0"');
    assert.equal(r.json.group, "g");
    assert.equal(r.json.version, 0);
    assert.deepEqual(r.json.config, cfg("10.0.0.1:80", "10.0.0.2:80"));
    assert.ok(!Number.isNaN(Date.parse(String(r.json.modified_at))));
  });
});

Deno.test("getting an unknown group is 404 and an invalid group name is 400", async () => {
  await withApi(async (api) => {
    const missing = await api.call("GET", "/api/groups/nope");
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error, "no such group");
    assert.equal((await api.call("GET", "/api/groups/-bad")).status, 400);
    assert.equal((await api.call("GET", "/api/groups/a%20b")).status, 400);
  });
});

Deno.test("getting a group written around the API as invalid JSON returns a null config", async () => {
  await withApi(async (api) => {
    await api.other.create(configPath("g"), enc("{oops"), { parents: true });
    const r = await api.call("GET", "/api/groups/g");
    assert.equal(r.status, 200);
    assert.equal(r.json.config, null);
  });
});

// --- POST create -------------------------------------------------------------------------------------

Deno.test("POST /api/groups creates a group: 201, ETag, the stored blob and a history entry", async () => {
  await withApi(async (api) => {
    const config = { backend_servers: ["10.0.0.1:80"], algorithm: "RANDOM" };
    const r = await api.call("POST", "/api/groups", { group: "g", config });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get("etag"), '"0"');
    assert.equal(r.json.version, 0);
    assert.deepEqual(r.json.config, config);
    // stored exactly as sent, without the schema's defaults
    assert.deepEqual(await stored(api), { version: 0, config });
    const history = await api.repo.history("g");
    assert.deepEqual(history.map((e) => [e.action, e.by]), [["create", "alice"]]);
  });
});

Deno.test("POST /api/groups is 409 when the group exists and leaves it unchanged", async () => {
  await withApi(async (api) => {
    await seed(api);
    const r = await api.call("POST", "/api/groups", { group: "g", config: cfg("10.0.0.7:80") });
    assert.equal(r.status, 409);
    assert.equal(r.json.error, "the group already exists");
    assert.deepEqual((await stored(api))?.config, cfg("10.0.0.1:80", "10.0.0.2:80"));
    assert.equal(api.writes("create", "conflict"), 1);
  });
});

Deno.test("POST /api/groups is 422 with field and reason for an invalid config and writes nothing", async () => {
  await withApi(async (api) => {
    const r = await api.call("POST", "/api/groups", {
      group: "g",
      config: {
        backend_servers: ["no-port", { address: "10.0.0.1:80", weight: 0 }],
        algorithm: "X",
      },
    });
    assert.equal(r.status, 422);
    assert.equal(r.json.error, "invalid config");
    const issues = r.json.issues as { group: string; field: string; reason: string }[];
    const fields = issues.map((i) => i.field);
    assert.ok(fields.includes("backend_servers[0]"), fields.join());
    assert.ok(fields.includes("backend_servers[1].weight"), fields.join());
    assert.ok(fields.includes("algorithm"), fields.join());
    for (const i of issues) {
      assert.equal(i.group, "g");
      assert.ok(i.reason.length > 0);
    }
    assert.match(String(r.json.reason), /group "g": algorithm: must be one of/);
    assert.equal(await api.other.exists(configPath("g")), null);
    assert.equal(await api.other.exists(historyPath("g")), null);
    assert.equal(api.writes("create", "invalid"), 1);
  });
});

Deno.test("POST /api/groups is 422 naming protocol for an unknown upstream protocol; h2 is accepted", async () => {
  await withApi(async (api) => {
    const bad = await api.call("POST", "/api/groups", {
      group: "g",
      config: { backend_servers: ["10.0.0.1:50051"], protocol: "h2c" },
    });
    assert.equal(bad.status, 422);
    assert.match(String(bad.json.reason), /group "g": protocol: must be http\/1\.1 or h2/);
    assert.equal(await api.other.exists(configPath("g")), null);
    const ok = await api.call("POST", "/api/groups", {
      group: "g",
      config: { backend_servers: ["10.0.0.1:50051"], protocol: "h2" },
    });
    assert.ok(ok.status >= 200 && ok.status < 300, String(ok.status));
    assert.notEqual(await api.other.exists(configPath("g")), null);
  });
});

Deno.test("POST /api/groups is 422 for a config that is not an object", async () => {
  await withApi(async (api) => {
    const r = await api.call("POST", "/api/groups", { group: "g", config: ["10.0.0.1:80"] });
    assert.equal(r.status, 422);
    assert.deepEqual(r.json.issues, [{
      group: "g",
      field: "",
      reason: "config must be a JSON object",
    }]);
  });
});

Deno.test("POST /api/groups is 422 with the field for a malformed request body", async () => {
  await withApi(async (api) => {
    const missing = await api.call("POST", "/api/groups", { config: cfg("10.0.0.1:80") });
    assert.equal(missing.status, 422);
    assert.deepEqual((missing.json.issues as { field: string }[]).map((i) => i.field), ["group"]);
    const extra = await api.call("POST", "/api/groups", { group: "g", config: {}, x: 1 });
    assert.equal(extra.status, 422);
    assert.equal(api.writes("create", "invalid"), 2);
    assert.equal(await api.other.exists("/lb-configs"), null);
  });
});

Deno.test("POST /api/groups is 422 with the field for an invalid group name", async () => {
  await withApi(async (api) => {
    const r = await api.call("POST", "/api/groups", { group: "../x", config: cfg("10.0.0.1:80") });
    assert.equal(r.status, 422);
    assert.equal(r.json.error, "invalid group name");
    const issues = r.json.issues as { group: string; field: string; reason: string }[];
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.group, "../x");
    assert.equal(issues[0]?.field, "");
    assert.match(String(issues[0]?.reason), /^group name must be/);
    assert.equal(api.writes("create", "invalid"), 1);
  });
});

Deno.test("POST /api/groups is 400 for a body that is not JSON", async () => {
  await withApi(async (api) => {
    const r = await api.call("POST", "/api/groups", "{not json");
    assert.equal(r.status, 400);
    assert.equal(r.json.error, "the request body must be JSON");
    assert.equal(api.writes("create", "invalid"), 1);
  });
});

// --- PUT -----------------------------------------------------------------------------------------------

Deno.test("PUT without If-Match creates an absent group with 201", async () => {
  await withApi(async (api) => {
    const r = await api.call("PUT", "/api/groups/g", cfg("10.0.0.1:80"));
    assert.equal(r.status, 201);
    assert.equal(r.headers.get("etag"), '"0"');
    assert.deepEqual(await stored(api), { version: 0, config: cfg("10.0.0.1:80") });
    assert.equal(api.writes("create", "ok"), 1);
  });
});

Deno.test("PUT without If-Match is 428 when the group exists and changes nothing", async () => {
  await withApi(async (api) => {
    await seed(api);
    const r = await api.call("PUT", "/api/groups/g", cfg("10.0.0.9:80"));
    assert.equal(r.status, 428);
    assert.match(String(r.json.error), /If-Match/);
    assert.deepEqual(await stored(api), {
      version: 0,
      config: cfg("10.0.0.1:80", "10.0.0.2:80"),
    });
    assert.equal(api.writes("update", "invalid"), 1);
  });
});

Deno.test("PUT with the current version replaces the config and returns the new version", async () => {
  await withApi(async (api) => {
    await seed(api);
    const r = await api.call("PUT", "/api/groups/g", cfg("10.0.0.9:80"), { "if-match": '"0"' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("etag"), '"1"');
    assert.equal(r.json.version, 1);
    assert.deepEqual(await stored(api), { version: 1, config: cfg("10.0.0.9:80") });
    assert.deepEqual((await api.repo.history("g"))[0]?.action, "update");
    assert.equal(api.writes("update", "ok"), 1);
  });
});

Deno.test("PUT accepts a weak ETag, an unquoted version and ?version= as the condition", async () => {
  await withApi(async (api) => {
    await seed(api);
    assert.equal(
      (await api.call("PUT", "/api/groups/g", cfg("10.0.0.5:80"), { "if-match": 'W/"0"' })).status,
      200,
    );
    assert.equal(
      (await api.call("PUT", "/api/groups/g", cfg("10.0.0.6:80"), { "if-match": "1" })).status,
      200,
    );
    assert.equal(
      (await api.call("PUT", "/api/groups/g?version=2", cfg("10.0.0.7:80"))).status,
      200,
    );
    assert.equal((await stored(api))?.version, 3);
  });
});

Deno.test("PUT with a stale version is 409 with the current version and changes nothing", async () => {
  await withApi(async (api) => {
    await seed(api);
    await api.call("PUT", "/api/groups/g", cfg("10.0.0.5:80"), { "if-match": '"0"' });
    const r = await api.call("PUT", "/api/groups/g", cfg("10.0.0.9:80"), { "if-match": '"0"' });
    assert.equal(r.status, 409);
    assert.equal(r.json.current_version, 1);
    assert.match(String(r.json.error), /version conflict/);
    assert.deepEqual(await stored(api), { version: 1, config: cfg("10.0.0.5:80") });
    assert.equal(api.writes("update", "conflict"), 1);
  });
});

Deno.test("PUT with a version that is not a number is 400", async () => {
  await withApi(async (api) => {
    await seed(api);
    const r = await api.call("PUT", "/api/groups/g", cfg("10.0.0.9:80"), { "if-match": '"abc"' });
    assert.equal(r.status, 400);
    assert.match(String(r.json.error), /invalid version "abc"/);
    assert.equal(
      (await api.call("PUT", "/api/groups/g?version=-1", cfg("10.0.0.9:80"))).status,
      400,
    );
  });
});

Deno.test("PUT with a version on an absent group is 404", async () => {
  await withApi(async (api) => {
    const r = await api.call("PUT", "/api/groups/g", cfg("10.0.0.9:80"), { "if-match": '"0"' });
    assert.equal(r.status, 404);
    assert.equal(await stored(api), null);
    assert.equal(api.writes("update", "not_found"), 1);
  });
});

Deno.test("PUT of an invalid config is 422 and writes nothing", async () => {
  await withApi(async (api) => {
    await seed(api);
    const r = await api.call("PUT", "/api/groups/g", { backend_servers: "10.0.0.1:80" }, {
      "if-match": '"0"',
    });
    assert.equal(r.status, 422);
    assert.deepEqual((r.json.issues as { field: string }[]).map((i) => i.field), [
      "backend_servers",
    ]);
    assert.equal((await stored(api))?.version, 0);
    assert.equal((await api.repo.history("g")).length, 1);
    const fresh = await api.call("PUT", "/api/groups/h", { nope: 1 });
    assert.equal(fresh.status, 422);
    assert.equal(await stored(api, "h"), null);
  });
});

// --- PATCH -------------------------------------------------------------------------------------------

Deno.test("PATCH merges top-level settings into the config and keeps the others", async () => {
  await withApi(async (api) => {
    await seed(api, { ...cfg("10.0.0.1:80"), health_endpoint: "/hz" });
    const r = await api.call("PATCH", "/api/groups/g", {
      algorithm: "LEAST_CONNECTIONS",
      healthy_threshold: 4,
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("etag"), '"1"');
    assert.deepEqual(r.json.config, {
      ...cfg("10.0.0.1:80"),
      health_endpoint: "/hz",
      algorithm: "LEAST_CONNECTIONS",
      healthy_threshold: 4,
    });
    assert.deepEqual((await stored(api))?.config, r.json.config);
    assert.equal((await api.repo.history("g"))[0]?.action, "patch");
    assert.equal(api.writes("patch", "ok"), 1);
  });
});

Deno.test("PATCH with null for a key removes that key", async () => {
  await withApi(async (api) => {
    await seed(api, { ...cfg("10.0.0.1:80"), algorithm: "RANDOM", health_endpoint: "/hz" });
    const r = await api.call("PATCH", "/api/groups/g", { algorithm: null });
    assert.equal(r.status, 200);
    assert.deepEqual((await stored(api))?.config, {
      ...cfg("10.0.0.1:80"),
      health_endpoint: "/hz",
    });
  });
});

Deno.test("PATCH validates the merged config: 422 and nothing written", async () => {
  await withApi(async (api) => {
    await seed(api);
    const bad = await api.call("PATCH", "/api/groups/g", { algorithm: "FASTEST" });
    assert.equal(bad.status, 422);
    assert.deepEqual((bad.json.issues as { field: string }[]).map((i) => i.field), ["algorithm"]);
    const unknown = await api.call("PATCH", "/api/groups/g", { algoritm: "RANDOM" });
    assert.equal(unknown.status, 422);
    assert.deepEqual(unknown.json.issues, [{
      group: "g",
      field: "algoritm",
      reason: "unknown key",
    }]);
    const removed = await api.call("PATCH", "/api/groups/g", { backend_servers: null });
    assert.equal(removed.status, 422);
    assert.deepEqual(removed.json.issues, [
      { group: "g", field: "backend_servers", reason: "is required" },
    ]);
    assert.equal((await stored(api))?.version, 0);
    assert.equal(api.writes("patch", "invalid"), 3);
  });
});

Deno.test("PATCH with a body that is not an object is 400", async () => {
  await withApi(async (api) => {
    await seed(api);
    assert.equal((await api.call("PATCH", "/api/groups/g", [1])).status, 400);
    assert.equal((await api.call("PATCH", "/api/groups/g", "null")).status, 400);
    assert.equal((await api.call("PATCH", "/api/groups/g", "3")).status, 400);
    assert.equal((await stored(api))?.version, 0);
  });
});

Deno.test("PATCH with a stale If-Match is 409 with the current version", async () => {
  await withApi(async (api) => {
    await seed(api);
    await api.call("PATCH", "/api/groups/g", { algorithm: "RANDOM" });
    const r = await api.call("PATCH", "/api/groups/g", { algorithm: "IP_HASH" }, {
      "if-match": '"0"',
    });
    assert.equal(r.status, 409);
    assert.equal(r.json.current_version, 1);
    const ok = await api.call("PATCH", "/api/groups/g", { algorithm: "IP_HASH" }, {
      "if-match": '"1"',
    });
    assert.equal(ok.status, 200);
  });
});

Deno.test("PATCH of an unknown group is 404", async () => {
  await withApi(async (api) => {
    assert.equal((await api.call("PATCH", "/api/groups/g", { algorithm: "RANDOM" })).status, 404);
  });
});

// --- DELETE ------------------------------------------------------------------------------------------

Deno.test("DELETE without a version is 428 and keeps the group", async () => {
  await withApi(async (api) => {
    await seed(api);
    const r = await api.call("DELETE", "/api/groups/g");
    assert.equal(r.status, 428);
    assert.notEqual(await stored(api), null);
    assert.equal(api.writes("delete", "invalid"), 1);
  });
});

Deno.test("DELETE with a stale version is 409 with the current version", async () => {
  await withApi(async (api) => {
    await seed(api);
    await api.call("PATCH", "/api/groups/g", { algorithm: "RANDOM" });
    const r = await api.call("DELETE", "/api/groups/g", undefined, { "if-match": '"0"' });
    assert.equal(r.status, 409);
    assert.equal(r.json.current_version, 1);
    assert.notEqual(await stored(api), null);
  });
});

Deno.test("DELETE with the current version removes the group and keeps its history", async () => {
  await withApi(async (api) => {
    await seed(api);
    const r = await api.call("DELETE", "/api/groups/g?version=0");
    assert.equal(r.status, 204);
    assert.equal(r.text, "");
    assert.equal(await stored(api), null);
    assert.equal((await api.call("GET", "/api/groups/g")).status, 404);
    const history = (await api.call("GET", "/api/groups/g/history")).json.history as Json[];
    assert.deepEqual(history.map((e) => e.action), ["delete", "create"]);
    assert.equal(api.writes("delete", "ok"), 1);
  });
});

Deno.test("DELETE of an unknown group is 404", async () => {
  await withApi(async (api) => {
    assert.equal(
      (await api.call("DELETE", "/api/groups/g", undefined, { "if-match": "0" })).status,
      404,
    );
  });
});

// --- backends --------------------------------------------------------------------------------------

Deno.test("adding a backend appends it as a string, or as an object with a weight", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    const r = await api.call("POST", "/api/groups/g/backends", { address: "10.0.0.2:80" });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get("etag"), '"1"');
    assert.deepEqual(r.json.config, cfg("10.0.0.1:80", "10.0.0.2:80"));
    const w = await api.call("POST", "/api/groups/g/backends", {
      address: "10.0.0.3:80",
      weight: 5,
    });
    assert.equal(w.status, 201);
    assert.deepEqual(
      (await stored(api))?.config,
      cfg(
        "10.0.0.1:80",
        "10.0.0.2:80",
        { address: "10.0.0.3:80", weight: 5 },
      ),
    );
    assert.equal((await api.repo.history("g"))[0]?.action, "add-backend");
    assert.equal(api.writes("add-backend", "ok"), 2);
  });
});

Deno.test("adding a duplicate backend is 422, also when written differently", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80", "[::1]:80"));
    const dup = await api.call("POST", "/api/groups/g/backends", { address: "10.0.0.1:80" });
    assert.equal(dup.status, 422);
    assert.match(String(dup.json.reason), /duplicate backend 10\.0\.0\.1:80/);
    const v6 = await api.call("POST", "/api/groups/g/backends", { address: "[0:0::1]:80" });
    assert.equal(v6.status, 422);
    assert.equal((await stored(api))?.version, 0);
    assert.equal(api.writes("add-backend", "invalid"), 2);
  });
});

Deno.test("adding a backend with weight 0 or an invalid address is 422", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    const zero = await api.call("POST", "/api/groups/g/backends", {
      address: "10.0.0.2:80",
      weight: 0,
    });
    assert.equal(zero.status, 422);
    assert.deepEqual((zero.json.issues as { field: string }[]).map((i) => i.field), [
      "backend_servers[1].weight",
    ]);
    const port = await api.call("POST", "/api/groups/g/backends", { address: "10.0.0.2" });
    assert.equal(port.status, 422);
    assert.equal((await stored(api))?.version, 0);
  });
});

Deno.test("adding a backend with a malformed body is 422 with the field", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    const r = await api.call("POST", "/api/groups/g/backends", {
      address: "10.0.0.2:80",
      weight: "5",
    });
    assert.equal(r.status, 422);
    assert.deepEqual(r.json.issues, [{ field: "weight", reason: "must be a number" }]);
    const noAddress = await api.call("POST", "/api/groups/g/backends", { weight: 1 });
    assert.equal(noAddress.status, 422);
    assert.equal(api.writes("add-backend", "invalid"), 2);
  });
});

Deno.test("adding a backend to an unknown group is 404", async () => {
  await withApi(async (api) => {
    const r = await api.call("POST", "/api/groups/g/backends", { address: "10.0.0.2:80" });
    assert.equal(r.status, 404);
    assert.equal(api.writes("add-backend", "not_found"), 1);
  });
});

Deno.test("adding a backend with a stale If-Match is 409", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    await api.call("POST", "/api/groups/g/backends", { address: "10.0.0.2:80" });
    const r = await api.call("POST", "/api/groups/g/backends", { address: "10.0.0.3:80" }, {
      "if-match": '"0"',
    });
    assert.equal(r.status, 409);
    assert.equal(r.json.current_version, 1);
  });
});

Deno.test("removing a backend drops it from the list", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80", { address: "10.0.0.2:80", weight: 2 }, "10.0.0.3:80"));
    const r = await api.call("DELETE", "/api/groups/g/backends/10.0.0.2:80");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("etag"), '"1"');
    assert.deepEqual((await stored(api))?.config, cfg("10.0.0.1:80", "10.0.0.3:80"));
    assert.equal((await api.repo.history("g"))[0]?.action, "remove-backend");
    assert.equal(api.writes("remove-backend", "ok"), 1);
  });
});

Deno.test("removing a backend finds it by the address the proxies report", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("Backend-A.example:80", "[0:0::1]:8080", "10.0.0.3:80"));
    const host = await api.call("DELETE", "/api/groups/g/backends/backend-a.example:80");
    assert.equal(host.status, 200);
    const v6 = await api.call(
      "DELETE",
      `/api/groups/g/backends/${encodeURIComponent("[::1]:8080")}`,
    );
    assert.equal(v6.status, 200, v6.text);
    assert.deepEqual((await stored(api))?.config, cfg("10.0.0.3:80"));
  });
});

Deno.test("removing an unknown backend is 404 and writes nothing", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    const r = await api.call("DELETE", "/api/groups/g/backends/10.0.0.9:80");
    assert.equal(r.status, 404);
    assert.match(String(r.json.error), /no backend 10\.0\.0\.9:80 in g/);
    // a percent sign in the address is a plain character, not an error
    const pct = await api.call("DELETE", "/api/groups/g/backends/a%25zz");
    assert.equal(pct.status, 404);
    assert.match(String(pct.json.error), /no backend a%zz in g/);
    assert.equal((await stored(api))?.version, 0);
    assert.equal(api.writes("remove-backend", "not_found"), 2);
  });
});

Deno.test("re-weighting a backend sets its weight and keeps the others", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80", { address: "10.0.0.2:80", weight: 2 }));
    const r = await api.call("PATCH", "/api/groups/g/backends/10.0.0.1:80", { weight: 7 });
    assert.equal(r.status, 200);
    const w = await api.call("PATCH", "/api/groups/g/backends/10.0.0.2:80", { weight: 3 });
    assert.equal(w.status, 200);
    assert.deepEqual(
      (await stored(api))?.config,
      cfg(
        { address: "10.0.0.1:80", weight: 7 },
        { address: "10.0.0.2:80", weight: 3 },
      ),
    );
    assert.equal((await api.repo.history("g"))[0]?.action, "reweight-backend");
    assert.equal(api.writes("reweight-backend", "ok"), 2);
  });
});

Deno.test("re-weighting to 0 or a non-integer is 422 and an unknown backend is 404", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    const zero = await api.call("PATCH", "/api/groups/g/backends/10.0.0.1:80", { weight: 0 });
    assert.equal(zero.status, 422);
    assert.deepEqual((zero.json.issues as { field: string }[]).map((i) => i.field), [
      "backend_servers[0].weight",
    ]);
    assert.equal(
      (await api.call("PATCH", "/api/groups/g/backends/10.0.0.1:80", { weight: 1.5 })).status,
      422,
    );
    assert.equal(
      (await api.call("PATCH", "/api/groups/g/backends/10.0.0.1:80", { weight: "2" })).status,
      422,
    );
    assert.equal(
      (await api.call("PATCH", "/api/groups/g/backends/10.0.0.9:80", { weight: 2 })).status,
      404,
    );
    assert.equal((await stored(api))?.version, 0);
    assert.equal(api.writes("reweight-backend", "invalid"), 3);
    assert.equal(api.writes("reweight-backend", "not_found"), 1);
  });
});

Deno.test("a backend is drained and undrained with PATCH, and can be added draining", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80", { address: "10.0.0.2:80", weight: 2 }));
    const d = await api.call("PATCH", "/api/groups/g/backends/10.0.0.2:80", { drain: true });
    assert.equal(d.status, 200);
    assert.deepEqual(
      (await stored(api))?.config,
      cfg("10.0.0.1:80", { address: "10.0.0.2:80", weight: 2, drain: true }),
    );
    await api.call("PATCH", "/api/groups/g/backends/10.0.0.2:80", { drain: false });
    assert.deepEqual(
      (await stored(api))?.config,
      cfg("10.0.0.1:80", { address: "10.0.0.2:80", weight: 2 }),
    );
    const add = await api.call("POST", "/api/groups/g/backends", {
      address: "10.0.0.3:80",
      drain: true,
    });
    assert.equal(add.status, 201);
    const empty = await api.call("PATCH", "/api/groups/g/backends/10.0.0.1:80", {});
    assert.equal(empty.status, 422);
    const bad = await api.call("PATCH", "/api/groups/g/backends/10.0.0.1:80", { drain: "yes" });
    assert.equal(bad.status, 422);
  });
});

// --- history, diff, rollback -------------------------------------------------------------------------

Deno.test("the history lists every write newest first with who made it", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    await api.call("POST", "/api/groups/g/backends", { address: "10.0.0.2:80" }, {}, BOB);
    const r = await api.call("GET", "/api/groups/g/history");
    assert.equal(r.status, 200);
    assert.equal(r.json.group, "g");
    const history = r.json.history as Json[];
    assert.deepEqual(history.map((e) => [e.version, e.action, e.by]), [
      [1, "add-backend", "bob"],
      [0, "create", "alice"],
    ]);
    assert.deepEqual(history[1]?.config, cfg("10.0.0.1:80"));
  });
});

Deno.test("one history version is returned by number and an unknown one is 404", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    const r = await api.call("GET", "/api/groups/g/history/0");
    assert.equal(r.status, 200);
    assert.equal(r.json.version, 0);
    assert.deepEqual(r.json.config, cfg("10.0.0.1:80"));
    assert.equal((await api.call("GET", "/api/groups/g/history/5")).status, 404);
    assert.equal((await api.call("GET", "/api/groups/g/history/abc")).status, 404);
    // only decimal digits name a version
    assert.equal((await api.call("GET", "/api/groups/g/history/0x0")).status, 404);
    assert.equal((await api.call("GET", "/api/groups/g/history/0e1")).status, 404);
  });
});

Deno.test("the diff lists the changes from a history version to the current config", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    await api.call("PATCH", "/api/groups/g", { algorithm: "RANDOM" });
    await api.call("POST", "/api/groups/g/backends", { address: "10.0.0.2:80" });
    const r = await api.call("GET", "/api/groups/g/diff?from=0&to=current");
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      group: "g",
      from: 0,
      to: 2,
      changes: [
        { path: "algorithm", op: "add", to: "RANDOM" },
        { path: "backend_servers[1]", op: "add", to: "10.0.0.2:80" },
      ],
    });
    const implicit = await api.call("GET", "/api/groups/g/diff?from=1");
    assert.equal(implicit.json.to, 2);
    assert.deepEqual(implicit.json.changes, [
      { path: "backend_servers[1]", op: "add", to: "10.0.0.2:80" },
    ]);
  });
});

Deno.test("the diff compares two history versions in either direction", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    await api.call("PATCH", "/api/groups/g", { algorithm: "RANDOM" });
    const back = await api.call("GET", "/api/groups/g/diff?from=1&to=0");
    assert.deepEqual(back.json.changes, [{ path: "algorithm", op: "remove", from: "RANDOM" }]);
    const same = await api.call("GET", "/api/groups/g/diff?from=1&to=1");
    assert.deepEqual(same.json.changes, []);
  });
});

Deno.test("the diff needs a from version and is 404 for an unknown version or group", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    const none = await api.call("GET", "/api/groups/g/diff");
    assert.equal(none.status, 400);
    assert.match(String(none.json.error), /from/);
    assert.equal((await api.call("GET", "/api/groups/g/diff?from=9")).status, 404);
    assert.equal((await api.call("GET", "/api/groups/g/diff?from=0&to=9")).status, 404);
    assert.equal((await api.call("GET", "/api/groups/g/diff?from=x")).status, 404);
    assert.equal((await api.call("GET", "/api/groups/h/diff?from=current")).status, 404);
  });
});

Deno.test("a rollback writes an old version's config back as a new version", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    await api.call("PUT", "/api/groups/g", cfg("10.0.0.9:80"), { "if-match": '"0"' });
    const r = await api.call("POST", "/api/groups/g/rollback", { version: 0 });
    assert.equal(r.status, 200);
    assert.equal(r.json.version, 2);
    assert.equal(r.headers.get("etag"), '"2"');
    assert.deepEqual(await stored(api), { version: 2, config: cfg("10.0.0.1:80") });
    const [newest] = await api.repo.history("g");
    assert.equal(newest?.action, "rollback to 0");
    assert.equal(newest?.by, "alice");
    assert.equal(api.writes("rollback", "ok"), 1);
  });
});

Deno.test("a rollback is conditioned on an expected version when one is given", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    await api.call("PUT", "/api/groups/g", cfg("10.0.0.9:80"), { "if-match": '"0"' });
    const stale = await api.call("POST", "/api/groups/g/rollback", {
      version: 0,
      expected_version: 0,
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.current_version, 1);
    const header = await api.call("POST", "/api/groups/g/rollback", { version: 0 }, {
      "if-match": '"0"',
    });
    assert.equal(header.status, 409);
    assert.equal((await stored(api))?.version, 1);
    assert.equal(api.writes("rollback", "conflict"), 2);
    const ok = await api.call("POST", "/api/groups/g/rollback", {
      version: 0,
      expected_version: 1,
    });
    assert.equal(ok.status, 200);
  });
});

Deno.test("a rollback to a version not in the history is 404", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    const r = await api.call("POST", "/api/groups/g/rollback", { version: 7 });
    assert.equal(r.status, 404);
    assert.match(String(r.json.error), /no version 7 in history/);
    assert.equal(api.writes("rollback", "not_found"), 1);
    const bad = await api.call("POST", "/api/groups/g/rollback", { version: "0" });
    assert.equal(bad.status, 422);
  });
});

Deno.test("a rollback of a deleted group re-creates it", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    await api.call("DELETE", "/api/groups/g?version=0");
    const r = await api.call("POST", "/api/groups/g/rollback", { version: 0 });
    assert.equal(r.status, 200);
    assert.deepEqual(await stored(api), { version: 0, config: cfg("10.0.0.1:80") });
  });
});

Deno.test("a rollback to a version that is not a valid config is 422 and writes nothing", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    await api.other.set(configPath("g"), enc("{broken"), 0);
    await api.call("PUT", "/api/groups/g", cfg("10.0.0.2:80"), { "if-match": '"1"' });
    const r = await api.call("POST", "/api/groups/g/rollback", { version: 1 });
    assert.equal(r.status, 422);
    assert.equal((await stored(api))?.version, 2);
    assert.equal(api.writes("rollback", "invalid"), 1);
  });
});

// --- metrics and audit log ---------------------------------------------------------------------------

Deno.test("every write is counted by action and result", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    await api.call("POST", "/api/groups", { group: "g", config: cfg("10.0.0.1:80") });
    await api.call("PUT", "/api/groups/g", cfg("10.0.0.2:80"), { "if-match": "0" });
    await api.call("PUT", "/api/groups/g", cfg("10.0.0.3:80"), { "if-match": "0" });
    await api.call("PATCH", "/api/groups/g", { algorithm: "NOPE" });
    await api.call("POST", "/api/groups/g/backends", { address: "10.0.0.5:80" });
    await api.call("DELETE", "/api/groups/g/backends/10.0.0.5:80");
    await api.call("PATCH", "/api/groups/g/backends/10.0.0.2:80", { weight: 2 });
    await api.call("POST", "/api/groups/g/rollback", { version: 0 });
    await api.call("DELETE", "/api/groups/g");
    await api.call("GET", "/api/groups/g");
    await api.call("GET", "/api/groups/g/history");
    assert.deepEqual(api.samples(), [
      "add-backend/ok=1",
      "create/conflict=1",
      "create/ok=1",
      "delete/invalid=1",
      "patch/invalid=1",
      "remove-backend/ok=1",
      "reweight-backend/ok=1",
      "rollback/ok=1",
      "update/conflict=1",
      "update/ok=1",
    ]);
  });
});

Deno.test("every write is logged with who made it, what it did and the version written", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    await api.call("PATCH", "/api/groups/g", { algorithm: "RANDOM" }, {}, BOB);
    const info = api.lines.filter((l) => l.msg === "admin write");
    assert.deepEqual(
      info.map((l) => [l.level, l.by, l.action, l.group, l.version]),
      [["info", "alice", "create", "g", 0], ["info", "bob", "patch", "g", 1]],
    );
  });
});

Deno.test("a refused write is logged as a warning with who tried, the result and the error", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    await api.call("PUT", "/api/groups/g", cfg("10.0.0.2:80"), { "if-match": "5" }, BOB);
    await api.call("POST", "/api/groups", { group: "h", config: {} }, {}, BOB);
    const refused = api.lines.filter((l) => l.msg === "admin write refused");
    assert.deepEqual(refused.map((l) => [l.level, l.by, l.action, l.group, l.result]), [
      ["warn", "bob", "update", "g", "conflict"],
      ["warn", "bob", "create", "h", "invalid"],
    ]);
    assert.match(String(refused[0]?.error), /VersionConflictError/);
  });
});

Deno.test("reads are neither counted nor logged as writes", async () => {
  await withApi(async (api) => {
    await api.call("GET", "/api/groups");
    await api.call("GET", "/api/groups/g");
    await api.call("GET", "/api/groups/g/history");
    assert.deepEqual(api.samples(), []);
    assert.deepEqual(api.lines.filter((l) => String(l.msg).startsWith("admin write")), []);
  });
});

// --- store errors ------------------------------------------------------------------------------------

Deno.test("a write the store refuses for lack of permission is 403", async () => {
  await withApi(async (api) => {
    // someone else owns /lb-configs: the API's session may read but not create under it
    const owner = await api.server.connect({ digest: "owner:pw" });
    try {
      await owner.create("/lb-configs", enc(""), { acl: writerOnlyAcl("owner:pw") });
      const r = await api.call("POST", "/api/groups", { group: "g", config: cfg("10.0.0.1:80") });
      assert.equal(r.status, 403);
      assert.match(String(r.json.error), /lack permission/);
      assert.equal(api.writes("create", "denied"), 1);
      assert.deepEqual((await api.call("GET", "/api/groups")).json, { groups: [] });
    } finally {
      await owner.close();
    }
  });
});

Deno.test("a request while the store connection is lost is 503", async () => {
  await withApi(async (api) => {
    await seed(api, cfg("10.0.0.1:80"));
    api.store.simulateDisconnect();
    const read = await api.call("GET", "/api/groups/g");
    assert.equal(read.status, 503);
    assert.match(String(read.json.error), /ZooKeeper unavailable/);
    const write = await api.call("PUT", "/api/groups/g", cfg("10.0.0.2:80"), { "if-match": "0" });
    assert.equal(write.status, 503);
    assert.equal(api.writes("update", "error"), 1);
    api.store.simulateReconnect();
    assert.equal((await api.call("GET", "/api/groups/g")).status, 200);
  });
});

Deno.test("a request on a closed store is 503", async () => {
  await withApi(async (api) => {
    await api.store.close();
    assert.equal((await api.call("GET", "/api/groups")).status, 503);
  });
});

Deno.test("a store error that is not about availability is 500, not 503", async () => {
  await withApi(async (api) => {
    const r = await api.call("POST", "/api/groups", { group: "g", config: cfg("10.0.0.1:80") });
    assert.equal(r.status, 500);
    assert.match(String(r.json.error), /refused the operation/);
    assert.equal(api.writes("create", "error"), 1);
    assert.ok(api.lines.some((l) => l.level === "error" && l.msg === "admin API store error"));
  }, { acl: [{ scheme: "digest", id: "no-hash-here", perms: ["read"] }] });
});

Deno.test("an unexpected failure is 500 with a generic message and logged", async () => {
  await withApi(async (api) => {
    const r = await api.call("GET", "/api/groups");
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, { error: "internal error" });
    const line = api.lines.find((l) => l.msg === "admin API error");
    assert.match(String(line?.error), /boom/);
  }, {
    store: (s) =>
      new Proxy(s, {
        get(target, prop) {
          if (prop === "children") return () => Promise.reject(new TypeError("boom"));
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }) as CoordinationStore,
  });
});

// --- size limits (issue 12, point 7) ----------------------------------------------------------

/** A body stream of `total` bytes in 64 KiB chunks that counts what was pulled from it. */
function countingBody(
  total: number,
  fill = "x",
): { stream: ReadableStream<Uint8Array>; pulled(): number } {
  const chunk = new TextEncoder().encode(fill.repeat(64 * 1024));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      controller.enqueue(chunk.subarray(0, n));
    },
  });
  return { stream, pulled: () => sent };
}

Deno.test("a body over the limit with Content-Length gets 413 before any of it is read", async () => {
  await withApi(async (api) => {
    await seed(api);
    const body = countingBody(32 * 1024 * 1024);
    const res = await api.app.request("/api/groups/g", {
      method: "PUT",
      headers: {
        authorization: `Bearer ${ALICE}`,
        "content-type": "application/json",
        "content-length": String(32 * 1024 * 1024),
        "if-match": '"0"',
      },
      body: body.stream,
      // @ts-ignore: a streamed request body (Deno and undici need it)
      duplex: "half",
    });
    assert.equal(res.status, 413);
    const json = await res.json();
    assert.equal(json.limit_bytes, MAX_BODY_BYTES);
    assert.match(json.error, /request body is over the limit of 1048576 bytes \(1 MiB\)/);
    // a pull may be primed by the stream itself, but nothing past the first chunk
    assert.ok(body.pulled() <= 64 * 1024, String(body.pulled()));
    assert.equal((await stored(api))?.version, 0);
  });
});

Deno.test("a chunked body is counted as it is read and refused with 413 once past the limit", async () => {
  await withApi(async (api) => {
    await seed(api);
    const body = countingBody(32 * 1024 * 1024);
    const res = await api.app.request("/api/groups/g", {
      method: "PUT",
      headers: {
        authorization: `Bearer ${ALICE}`,
        "content-type": "application/json",
        "transfer-encoding": "chunked",
        "if-match": '"0"',
      },
      body: body.stream,
      // @ts-ignore: a streamed request body
      duplex: "half",
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).limit_bytes, MAX_BODY_BYTES);
    // read up to the limit and a chunk or two more, never the 32 MiB
    assert.ok(body.pulled() <= MAX_BODY_BYTES + 3 * 64 * 1024, String(body.pulled()));
    assert.ok(body.pulled() > MAX_BODY_BYTES, String(body.pulled()));
    assert.equal((await stored(api))?.version, 0);
  });
});

Deno.test("a body just under the limit is read and parsed (the limit is not lower than documented)", async () => {
  await withApi(async (api) => {
    await seed(api);
    // valid JSON padded with whitespace to just under 1 MiB
    const json = JSON.stringify(cfg("10.0.0.9:80"));
    const padded = json + " ".repeat(MAX_BODY_BYTES - json.length - 10);
    const r = await api.call("PUT", "/api/groups/g", padded, { "if-match": '"0"' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await stored(api))?.version, 1);
  });
});

Deno.test("the body limit is configurable and applies to every write route", async () => {
  const server = new MemoryServer();
  const store = await server.connect();
  try {
    const repo = new ConfigRepo(store, { historyLimit: 50, acl: null });
    const app = adminApi({
      repo,
      tokens: [{ name: "alice", token: ALICE }],
      log: createLogger({ level: "error", write: () => {}, now: () => 0 }),
      registry: new Registry(),
      maxBodyBytes: 100,
    });
    const big = JSON.stringify({ group: "g", config: cfg(..."x".repeat(50).split("")) });
    for (
      const [method, path] of [
        ["POST", "/api/groups"],
        ["PUT", "/api/groups/g"],
        ["PATCH", "/api/groups/g"],
        ["POST", "/api/groups/g/backends"],
        ["PATCH", "/api/groups/g/backends/a:1"],
        ["POST", "/api/groups/g/rollback"],
      ]
    ) {
      const res = await app.request(path!, {
        method,
        headers: { authorization: `Bearer ${ALICE}`, "content-type": "application/json" },
        body: big,
      });
      assert.equal(res.status, 413, `${method} ${path}`);
      assert.equal((await res.json()).limit_bytes, 100);
    }
    assert.equal(await store.exists(configPath("g")), null);
  } finally {
    await store.close();
  }
});

Deno.test("a config over the size limit gets 413 naming the limit, and nothing is written", async () => {
  await withApi(async (api) => {
    await seed(api);
    // about 300 KB as stored, under the body limit when sent compactly
    const many = Array.from({ length: 12_000 }, (_, i) => `b${String(i).padStart(6, "0")}.test:80`);
    const put = await api.call("PUT", "/api/groups/g", cfg(...many), { "if-match": '"0"' });
    assert.equal(put.status, 413, put.text);
    assert.equal(put.json.limit_bytes, MAX_CONFIG_BYTES);
    assert.ok((put.json.size_bytes as number) > MAX_CONFIG_BYTES);
    assert.match(String(put.json.error), /over the limit of 262144 bytes \(256 KiB/);
    const post = await api.call("POST", "/api/groups", { group: "h", config: cfg(...many) });
    assert.equal(post.status, 413, post.text);
    assert.equal(await api.other.exists(configPath("h")), null);
    assert.equal(await api.other.exists(historyPath("h")), null);
    assert.equal((await stored(api))?.version, 0);
    assert.equal(api.writes("update", "too_large"), 1);
    assert.equal(api.writes("create", "too_large"), 1);
  });
});

// --- invalid stored data (issue 12, point 9) ------------------------------------------------------

Deno.test("reading a group whose stored data is invalid JSON says so, why, and what to roll back to", async () => {
  await withApi(async (api) => {
    await seed(api);
    await api.other.set(configPath("g"), enc('{"backend_servers": ["10.0.0.1:80",]}'));
    const r = await api.call("GET", "/api/groups/g");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 1);
    assert.equal(r.json.valid, false);
    assert.equal(r.json.config, null);
    const invalid = r.json.invalid as Json;
    assert.match(
      String(invalid.reason),
      /^invalid JSON at position 35 \(line 1, column 36\): unexpected character "\]"/,
    );
    assert.equal(invalid.raw, '{"backend_servers": ["10.0.0.1:80",]}');
    assert.equal(invalid.last_good_version, 0);
    assert.match(String(invalid.hint), /`ctl rollback g 0`/);
    assert.match(String(invalid.hint), /POST \/api\/groups\/g\/rollback \{"version":0\}/);
    // a valid group says so too
    await api.other.set(configPath("g"), enc(JSON.stringify(cfg("10.0.0.5:80"))));
    const ok = await api.call("GET", "/api/groups/g");
    assert.equal(ok.json.valid, true);
    assert.equal(ok.json.invalid, undefined);
  });
});

Deno.test("reading a group whose stored data fails the schema names each field", async () => {
  await withApi(async (api) => {
    await api.other.create(
      configPath("g"),
      enc('{"backend_servers":[{"address":"10.0.0.1:80","weight":0}],"algorithm":"NOPE"}'),
      { parents: true },
    );
    const r = await api.call("GET", "/api/groups/g");
    assert.equal(r.json.valid, false);
    const invalid = r.json.invalid as Json;
    const fields = (invalid.issues as { field: string }[]).map((i) => i.field).sort();
    assert.deepEqual(fields, ["algorithm", "backend_servers[0].weight"]);
    assert.match(String(invalid.reason), /backend_servers\[0\]\.weight: must be an integer/);
    assert.equal(invalid.last_good_version, null);
    assert.match(String(invalid.hint), /no valid version in the history: .*`ctl set g FILE`/);
  });
});

Deno.test("a backend change on stored data that is not JSON gets 409 with the reason, and nothing is written", async () => {
  await withApi(async (api) => {
    await seed(api);
    await api.other.set(configPath("g"), enc("{oops"));
    const r = await api.call("POST", "/api/groups/g/backends", { address: "10.0.0.3:80" });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.current_version, 1);
    assert.match(
      String(r.json.error),
      /stored config of g \(version 1\) is invalid: invalid JSON at position 1/,
    );
    assert.match(String(r.json.error), /ctl rollback g 0/);
    assert.equal(dec((await api.other.get(configPath("g")))!.data), "{oops");
    // positive control: the rollback it points to works
    const back = await api.call("POST", "/api/groups/g/rollback", { version: 0 });
    assert.equal(back.status, 200, back.text);
    assert.equal((await api.call("GET", "/api/groups/g")).json.valid, true);
  });
});

// --- listeners -------------------------------------------------------------------------------------

const forwardTo = (group: string, name = "main") => ({
  routes: [{ name, match: { path: { prefix: "/" } }, forward: { group } }],
});

Deno.test("listeners are created, read and listed like groups: 201, ETag, the stored blob, history", async () => {
  await withApi(async (api) => {
    await seed(api);
    assert.deepEqual((await api.call("GET", "/api/listeners")).json, { listeners: [] });
    const put = await api.call("PUT", "/api/listeners/public", forwardTo("g"));
    assert.equal(put.status, 201, put.text);
    assert.equal(put.headers.get("etag"), '"0"');
    assert.equal(put.json.listener, "public");
    const node = await api.other.get(routesPath("public"));
    assert.deepEqual(JSON.parse(dec(node!.data)), forwardTo("g"));
    const got = await api.call("GET", "/api/listeners/public");
    assert.equal(got.status, 200);
    assert.deepEqual(
      { listener: got.json.listener, version: got.json.version, valid: got.json.valid },
      { listener: "public", version: 0, valid: true },
    );
    assert.deepEqual(got.json.config, forwardTo("g"));
    assert.deepEqual((await api.call("GET", "/api/listeners")).json, {
      listeners: [{ listener: "public", version: 0 }],
    });
    const h = await api.call("GET", "/api/listeners/public/history");
    assert.equal(h.json.listener, "public");
    assert.deepEqual((h.json.history as Json[]).map((e) => [e.version, e.action, e.by]), [
      [0, "create", "alice"],
    ]);
    assert.equal((await api.other.children(routeHistoryPath("public"))).length, 1);
    assert.equal(api.writes("listener-create", "ok"), 1);
    assert.equal((await api.call("GET", "/api/listeners/nope")).status, 404);
    assert.match(
      String((await api.call("GET", "/api/listeners/nope")).json.error),
      /no such listener/,
    );
    assert.equal((await api.call("GET", "/api/listeners/bad%20name")).status, 400);
  });
});

Deno.test("a listener PUT naming an unknown group is 422 naming the route and field, and writes nothing", async () => {
  await withApi(async (api) => {
    await seed(api);
    const config = {
      routes: [
        { name: "ok", match: { host: "a.example.com" }, forward: { group: "g" } },
        { name: "canary", split: [{ group: "g", weight: 9 }, { group: "nope", weight: 1 }] },
      ],
    };
    const r = await api.call("PUT", "/api/listeners/public", config);
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.json.issues, [{
      listener: "public",
      field: "routes[1].split[1].group",
      reason: 'route "canary" names unknown group "nope"',
    }]);
    assert.match(String(r.json.reason), /^listener "public": routes\[1\]\.split\[1\]\.group: /);
    const schema = await api.call("PUT", "/api/listeners/public", { routes: [{ name: "x" }] });
    assert.equal(schema.status, 422);
    assert.match(JSON.stringify(schema.json.issues), /exactly one action/);
    assert.equal(await api.other.exists(routesPath("public")), null);
    assert.equal(api.writes("listener-create", "invalid"), 2);
  });
});

Deno.test("a listener PUT needs the version when it exists (428) and a stale one is 409", async () => {
  await withApi(async (api) => {
    await seed(api);
    assert.equal((await api.call("PUT", "/api/listeners/public", forwardTo("g"))).status, 201);
    const again = await api.call("PUT", "/api/listeners/public", forwardTo("g", "other"));
    assert.equal(again.status, 428);
    const ok = await api.call("PUT", "/api/listeners/public", forwardTo("g", "two"), {
      "if-match": '"0"',
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.version, 1);
    const stale = await api.call("PUT", "/api/listeners/public", forwardTo("g", "three"), {
      "if-match": '"0"',
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.current_version, 1);
    const node = await api.other.get(routesPath("public"));
    assert.equal(node!.version, 1);
  });
});

Deno.test("listener history, one version, diff and rollback work as for groups", async () => {
  await withApi(async (api) => {
    await seed(api);
    await api.call("POST", "/api/groups", { group: "h", config: cfg("10.0.0.3:80") });
    await api.call("PUT", "/api/listeners/public", forwardTo("g"));
    await api.call("PUT", "/api/listeners/public", forwardTo("h"), { "if-match": '"0"' });
    const v0 = await api.call("GET", "/api/listeners/public/history/0");
    assert.deepEqual(v0.json.config, forwardTo("g"));
    assert.equal((await api.call("GET", "/api/listeners/public/history/9")).status, 404);
    const d = await api.call("GET", "/api/listeners/public/diff?from=0");
    assert.deepEqual(d.json, {
      listener: "public",
      from: 0,
      to: 1,
      changes: [{ path: "routes[0].forward.group", op: "change", from: "g", to: "h" }],
    });
    const rb = await api.call("POST", "/api/listeners/public/rollback", { version: 0 });
    assert.equal(rb.status, 200, rb.text);
    assert.equal(rb.json.version, 2);
    assert.deepEqual(rb.json.config, forwardTo("g"));
    const h = await api.call("GET", "/api/listeners/public/history");
    assert.equal((h.json.history as Json[])[0]!.action, "rollback to 0");
    assert.equal(api.writes("listener-rollback", "ok"), 1);
  });
});

Deno.test("a listener rollback is validated against today's groups: 422 naming the route", async () => {
  await withApi(async (api) => {
    await seed(api);
    await api.call("POST", "/api/groups", { group: "old", config: cfg("10.0.0.3:80") });
    await api.call("PUT", "/api/listeners/public", forwardTo("old", "legacy"));
    await api.call("PUT", "/api/listeners/public", forwardTo("g"), { "if-match": '"0"' });
    const del = await api.call("DELETE", "/api/groups/old", undefined, { "if-match": '"0"' });
    assert.equal(del.status, 204, del.text); // no route names it any more
    const rb = await api.call("POST", "/api/listeners/public/rollback", { version: 0 });
    assert.equal(rb.status, 422, rb.text);
    assert.deepEqual(rb.json.issues, [{
      listener: "public",
      field: "routes[0].forward.group",
      reason: 'route "legacy" names unknown group "old"',
    }]);
    assert.equal((await api.other.get(routesPath("public")))!.version, 1);
  });
});

Deno.test("deleting a listener needs its version and keeps its history", async () => {
  await withApi(async (api) => {
    await seed(api);
    await api.call("PUT", "/api/listeners/public", forwardTo("g"));
    assert.equal((await api.call("DELETE", "/api/listeners/public")).status, 428);
    const stale = await api.call("DELETE", "/api/listeners/public", undefined, {
      "if-match": '"3"',
    });
    assert.equal(stale.status, 409);
    const del = await api.call("DELETE", "/api/listeners/public", undefined, { "if-match": '"0"' });
    assert.equal(del.status, 204, del.text);
    assert.equal(await api.other.exists(routesPath("public")), null);
    const h = await api.call("GET", "/api/listeners/public/history");
    assert.deepEqual((h.json.history as Json[]).map((e) => e.action), ["delete", "create"]);
    assert.equal(api.writes("listener-delete", "ok"), 1);
  });
});

Deno.test("deleting a group a route forwards, splits or mirrors to is 409 naming the listeners and routes", async () => {
  await withApi(async (api) => {
    await seed(api);
    await api.call("POST", "/api/groups", { group: "h", config: cfg("10.0.0.3:80") });
    await api.call("PUT", "/api/listeners/public", {
      routes: [
        { name: "api", forward: { group: "h" }, match: { host: "api.example.com" } },
        { name: "web", split: [{ group: "g", weight: 1 }, { group: "h", weight: 1 }] },
      ],
    });
    await api.call("PUT", "/api/listeners/internal", {
      routes: [{ name: "shadow", forward: { group: "h" } }],
    });
    const r = await api.call("DELETE", "/api/groups/h", undefined, { "if-match": '"0"' });
    assert.equal(r.status, 409, r.text);
    assert.deepEqual(r.json.used_by, [
      { listener: "internal", route: "shadow", index: 0, field: "routes[0].forward.group" },
      { listener: "public", route: "api", index: 0, field: "routes[0].forward.group" },
      { listener: "public", route: "web", index: 1, field: "routes[1].split[1].group" },
    ]);
    assert.match(String(r.json.error), /listener public route web/);
    assert.ok(await api.other.exists(configPath("h")));
    assert.equal(api.writes("delete", "conflict"), 1);
    // positive control: once no route names it, the delete goes through
    await api.call("PUT", "/api/listeners/public", forwardTo("g"), { "if-match": '"0"' });
    await api.call("DELETE", "/api/listeners/internal", undefined, { "if-match": '"0"' });
    const ok = await api.call("DELETE", "/api/groups/h", undefined, { "if-match": '"0"' });
    assert.equal(ok.status, 204, ok.text);
  });
});

Deno.test("a listener write loses to a group deleted after its validation: 409, nothing written", async () => {
  // the store deletes group g between the listener's validation (it reads the groups) and its
  // write: the write's guard on g's version fails
  let armed = false;
  await withApi(async (api) => {
    await seed(api);
    armed = true;
    const r = await api.call("PUT", "/api/listeners/public", forwardTo("g"));
    assert.equal(r.status, 409, r.text);
    assert.match(String(r.json.error), /\/lb-configs\/g changed/);
    assert.equal(await api.other.exists(routesPath("public")), null);
  }, {
    store: (s) =>
      new Proxy(s, {
        get(target, prop, receiver) {
          if (prop === "transaction") {
            return async (ops: Op[]) => {
              if (armed && ops.some((o) => o.path === routesPath("public"))) {
                armed = false;
                await target.delete(configPath("g"));
              }
              return await target.transaction(ops);
            };
          }
          const v = Reflect.get(target, prop, receiver);
          return typeof v === "function" ? v.bind(target) : v;
        },
      }),
  });
});

Deno.test("a listener config over the size limit is 413 and nothing is written", async () => {
  await withApi(async (api) => {
    await seed(api);
    const routes = Array.from({ length: 2000 }, (_, i) => ({
      name: `r${i}`,
      match: { host: `host-${i}-${"x".repeat(50)}.example.com` },
      forward: { group: "g" },
    }));
    const r = await api.call("PUT", "/api/listeners/big", { routes });
    assert.equal(r.status, 413, r.text.slice(0, 300));
    assert.equal(r.json.limit_bytes, MAX_CONFIG_BYTES);
    assert.equal(await api.other.exists(routesPath("big")), null);
  });
});

Deno.test("route-test answers which route, group and usable backends a request would get, from the live config", async () => {
  await withApi(async (api) => {
    await seed(api); // g: 10.0.0.1:80, 10.0.0.2:80
    await api.other.create(healthBackendPath("g", "10.0.0.2:80"), enc("{}"), { parents: true });
    await api.call("PUT", "/api/listeners/public", {
      routes: [{
        name: "cart",
        match: { host: "shop.example.com", path: { template: "/cart/:id" } },
        forward: { group: "g" },
      }],
    });
    const r = await api.call("POST", "/api/listeners/public/route-test", {
      method: "GET",
      url: "https://shop.example.com/cart/7?x=1",
      headers: { cookie: "a=b" },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.listener, "public");
    assert.equal(r.json.version, 0);
    assert.deepEqual(r.json.route, { name: "cart", index: 0, default: false });
    assert.deepEqual(r.json.action, { type: "forward", group: "g" });
    assert.deepEqual(r.json.params, { id: "7" });
    assert.deepEqual(
      (r.json.groups as Json[]).map((g) => [g.group, g.usable]),
      [["g", ["10.0.0.1:80"]]],
    );
    const none = await api.call("POST", "/api/listeners/public/route-test", {
      method: "GET",
      url: "https://other.example.com/",
    });
    assert.equal(none.status, 200);
    assert.equal(none.json.route, null);
    assert.equal(none.json.status, 404);
    const bad = await api.call("POST", "/api/listeners/public/route-test", { url: "/cart" });
    assert.equal(bad.status, 422);
    assert.equal((bad.json.issues as Json[])[0]!.field, "url");
    const missing = await api.call("POST", "/api/listeners/nope/route-test", { url: "http://a/" });
    assert.equal(missing.status, 404);
    assert.deepEqual(api.samples(), ["create/ok=1", "listener-create/ok=1"]);
  });
});

Deno.test("an editor's top-level $schema is dropped from a group or listener config written through the API", async () => {
  await withApi(async (api) => {
    const $schema = "../schema/group-config.schema.json";
    const created = await api.call("POST", "/api/groups", {
      group: "g",
      config: { $schema, ...cfg("10.0.0.1:80") },
    });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(await stored(api), { version: 0, config: cfg("10.0.0.1:80") });
    const put = await api.call("PUT", "/api/groups/g", { $schema, ...cfg("10.0.0.9:80") }, {
      "if-match": '"0"',
    });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(await stored(api), { version: 1, config: cfg("10.0.0.9:80") });
    const listener = await api.call("PUT", "/api/listeners/public", {
      $schema: "../schema/listener-config.schema.json",
      ...forwardTo("g"),
    });
    assert.equal(listener.status, 201, listener.text);
    const node = await api.other.get(routesPath("public"));
    assert.deepEqual(JSON.parse(dec(node!.data)), forwardTo("g"));
    // only the top level: a $schema inside the config is an unknown key, refused as before
    const inside = await api.call("PUT", "/api/groups/g", {
      ...cfg("10.0.0.9:80"),
      health_check: { $schema },
    }, { "if-match": '"1"' });
    assert.equal(inside.status, 422, inside.text);
    assert.equal((await stored(api))?.version, 1);
  });
});
