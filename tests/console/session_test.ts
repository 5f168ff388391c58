/**
 * Who may see what: the console's page holds no data, the live stream and
 * the overview need the admin token (bearer) or the session cookie it
 * buys, the cookie expires, dies with its token, cannot be forged, and
 * never authorizes a write. The app is mounted as the admin role mounts it
 * (console routes first, then the API) over the memory store.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { adminApi } from "../../lib/admin/api.ts";
import { ConfigRepo } from "../../lib/admin/config_repo.ts";
import type { ConsoleBundle } from "../../lib/admin/console/bundle.ts";
import { ConsoleHub } from "../../lib/admin/console/hub.ts";
import { consoleRoutes } from "../../lib/admin/console/routes.ts";
import {
  issueSession,
  readCookie,
  SESSION_COOKIE,
  verifySession,
} from "../../lib/admin/console/session.ts";
import type { AdminToken } from "../../lib/admin/tokens.ts";
import { silentLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/metrics/registry.ts";
import { createMemoryStore, type MemoryStore } from "../../lib/store/mod.ts";

const TOKENS: AdminToken[] = [
  { name: "alice", token: "alice-token-0123456789" },
  { name: "bob", token: "bob-token-0123456789" },
];

const BUNDLE: ConsoleBundle = {
  js: new TextEncoder().encode("console.log(1)"),
  gzip: new Uint8Array(),
  etag: '"x"',
  origin: "dist",
};

interface Fixture {
  readonly store: MemoryStore;
  readonly hub: ConsoleHub;
  readonly clock: { now: number };
  request(path: string, init?: RequestInit): Promise<Response>;
  /** The same app, but the server now knows only these tokens. */
  withTokens(tokens: AdminToken[]): (path: string, init?: RequestInit) => Promise<Response>;
  close(): Promise<void>;
}

async function fixture(ttlMs = 60_000): Promise<Fixture> {
  const store = await createMemoryStore();
  const repo = new ConfigRepo(store, { historyLimit: 10, acl: null });
  await repo.create("secret-group", { backend_servers: ["10.9.8.7:80"] }, "test");
  const hub = new ConsoleHub({
    store,
    log: silentLogger,
    coalesceMs: 5,
    scraper: { intervalMs: 60_000 },
  });
  await hub.start();
  const clock = { now: Date.now() };
  const routesList: ReturnType<typeof consoleRoutes>[] = [];
  const build = (tokens: AdminToken[]) => {
    const routes = consoleRoutes({
      hub,
      tokens,
      log: silentLogger,
      bundle: () => Promise.resolve(BUNDLE),
      sessionTtlMs: ttlMs,
      now: () => clock.now,
    });
    routesList.push(routes);
    const app = new Hono();
    app.route("/", routes.app);
    app.route("/", adminApi({ repo, tokens, log: silentLogger, registry: new Registry() }));
    return (path: string, init?: RequestInit) =>
      Promise.resolve(app.fetch(new Request(`http://127.0.0.1${path}`, init)));
  };
  return {
    store,
    hub,
    clock,
    request: build(TOKENS),
    withTokens: build,
    close: async () => {
      for (const r of routesList) r.closeStreams();
      hub.stop();
      await store.close();
    },
  };
}

const bearerOf = (t: AdminToken) => ({ authorization: `Bearer ${t.token}` });

async function signIn(f: Fixture, token = TOKENS[0]!): Promise<string> {
  const r = await f.request("/api/session", { method: "POST", headers: bearerOf(token) });
  assert.equal(r.status, 200);
  const setCookie = r.headers.get("set-cookie") ?? "";
  const value = readCookie(setCookie.split(";")[0], SESSION_COOKIE);
  assert.ok(value);
  return value;
}

/** Reads a stream until `needle` shows up (or it ends); returns what was read. */
async function readUntil(body: ReadableStream<Uint8Array>, needle: string): Promise<string> {
  const reader = body.getReader();
  let text = "";
  const dec = new TextDecoder();
  try {
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text;
}

Deno.test("the console page is served without a token but holds no data", async () => {
  const f = await fixture();
  try {
    const r = await f.request("/");
    assert.equal(r.status, 200);
    const html = await r.text();
    assert.match(html, /<script type="module" src="\/console.js">/);
    assert.doesNotMatch(html, /secret-group|10\.9\.8\.7/);
    const csp = r.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    const js = await f.request("/console.js", { headers: { "accept-encoding": "identity" } });
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /javascript/);
    await js.body?.cancel();
  } finally {
    await f.close();
  }
});

Deno.test("the live stream and the overview refuse callers without a token or session", async () => {
  const f = await fixture();
  try {
    for (const path of ["/api/events", "/api/overview"]) {
      const none = await f.request(path);
      assert.equal(none.status, 401, path);
      assert.doesNotMatch(await none.text(), /secret-group/);
      const wrong = await f.request(path, { headers: { authorization: "Bearer not-a-token" } });
      assert.equal(wrong.status, 401, path);
      await wrong.body?.cancel();
      // a bad bearer is not rescued by a good cookie: the header is what the caller meant
      const cookie = await signIn(f);
      const mixed = await f.request(path, {
        headers: { authorization: "Bearer not-a-token", cookie: `${SESSION_COOKIE}=${cookie}` },
      });
      assert.equal(mixed.status, 401, path);
      await mixed.body?.cancel();
    }
    const badSignIn = await f.request("/api/session", { method: "POST" });
    assert.equal(badSignIn.status, 401);
    await badSignIn.body?.cancel();
  } finally {
    await f.close();
  }
});

Deno.test("signing in sets a strict, HttpOnly session cookie that opens the live stream", async () => {
  const f = await fixture();
  try {
    const r = await f.request("/api/session", { method: "POST", headers: bearerOf(TOKENS[0]!) });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).name, "alice");
    const setCookie = r.headers.get("set-cookie") ?? "";
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Path=\/api/);
    assert.match(setCookie, /Max-Age=60/);
    const cookie = readCookie(setCookie.split(";")[0], SESSION_COOKIE)!;

    const events = await f.request("/api/events", {
      headers: { cookie: `other=1; ${SESSION_COOKIE}=${cookie}` },
    });
    assert.equal(events.status, 200);
    assert.match(events.headers.get("content-type") ?? "", /text\/event-stream/);
    const text = await readUntil(events.body!, "event: series");
    assert.match(text, /^retry: \d+/);
    assert.match(text, /event: state\ndata: \{.*"secret-group"/);

    const overview = await f.request("/api/overview", {
      headers: { cookie: `${SESSION_COOKIE}=${cookie}` },
    });
    assert.equal(overview.status, 200);
    assert.equal((await overview.json()).state.groups[0].name, "secret-group");

    // tools without a browser use the bearer token directly
    const withBearer = await f.request("/api/events", { headers: bearerOf(TOKENS[1]!) });
    assert.equal(withBearer.status, 200);
    await withBearer.body?.cancel();

    const out = await f.request("/api/session", { method: "DELETE" });
    assert.equal(out.status, 204);
    assert.match(out.headers.get("set-cookie") ?? "", /Max-Age=0/);
  } finally {
    await f.close();
  }
});

Deno.test("the live stream pushes store changes to a signed-in page", async () => {
  const f = await fixture();
  try {
    const cookie = await signIn(f);
    const events = await f.request("/api/events", {
      headers: { cookie: `${SESSION_COOKIE}=${cookie}` },
    });
    const reading = readUntil(events.body!, '"name":"brand-new-group"');
    await new ConfigRepo(f.store, { historyLimit: 10, acl: null })
      .create("brand-new-group", { backend_servers: [] }, "test");
    assert.match(await reading, /event: state\ndata: .*"name":"brand-new-group"/);
  } finally {
    await f.close();
  }
});

Deno.test("a session cookie expires, cannot be forged, and dies with its token", async () => {
  const f = await fixture(60_000);
  try {
    const cookie = await signIn(f, TOKENS[1]!);
    const open = (req: typeof f.request, value: string) =>
      req("/api/overview", { headers: { cookie: `${SESSION_COOKIE}=${value}` } });

    let r = await open(f.request, cookie);
    assert.equal(r.status, 200);
    await r.body?.cancel();

    // forged: another name in the payload, or a MAC from a token the server does not know
    const [payload, mac] = cookie.split(".");
    const forgedPayload = btoa(JSON.stringify({ n: "alice", e: f.clock.now + 60_000 }))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    for (
      const bad of [
        `${forgedPayload}.${mac}`,
        `${payload}.${mac}x`,
        issueSession({ name: "bob", token: "guessed-token-000" }, f.clock.now),
        "",
        "garbage",
      ]
    ) {
      r = await open(f.request, bad);
      assert.equal(r.status, 401, bad);
      await r.body?.cancel();
    }

    // bob's token is removed from the server: his session ends with it, alice's stays
    const aliceCookie = await signIn(f, TOKENS[0]!);
    const onlyAlice = f.withTokens([TOKENS[0]!]);
    r = await open(onlyAlice, cookie);
    assert.equal(r.status, 401);
    await r.body?.cancel();
    r = await open(onlyAlice, aliceCookie);
    assert.equal(r.status, 200);
    await r.body?.cancel();

    // expiry
    f.clock.now += 60_001;
    r = await open(f.request, cookie);
    assert.equal(r.status, 401);
    await r.body?.cancel();
    assert.equal(verifySession(TOKENS, cookie, f.clock.now), null);
  } finally {
    await f.close();
  }
});

Deno.test("the session cookie never authorizes an API write or read", async () => {
  const f = await fixture();
  try {
    const cookie = await signIn(f);
    const headers = { cookie: `${SESSION_COOKIE}=${cookie}`, "content-type": "application/json" };
    const create = await f.request("/api/groups", {
      method: "POST",
      headers,
      body: JSON.stringify({ group: "evil", config: { backend_servers: [] } }),
    });
    assert.equal(create.status, 401);
    await create.body?.cancel();
    const read = await f.request("/api/groups/secret-group", { headers });
    assert.equal(read.status, 401);
    await read.body?.cancel();
    assert.equal(await f.store.exists("/lb-configs/evil"), null);
  } finally {
    await f.close();
  }
});

Deno.test("a cookie-authenticated stream ends when its session expires", async () => {
  const f = await fixture(300);
  try {
    const cookie = await signIn(f);
    const started = Date.now();
    const events = await f.request("/api/events", {
      headers: { cookie: `${SESSION_COOKIE}=${cookie}` },
    });
    assert.equal(events.status, 200);
    const text = await readUntil(events.body!, "never-appears");
    assert.match(text, /event: state/);
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 5000, `the stream lasted ${took} ms`);
  } finally {
    await f.close();
  }
});
