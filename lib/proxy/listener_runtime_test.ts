import assert from "node:assert/strict";
import { parseRequestHead, type RequestHead } from "../http1/head.ts";
import { silentLogger } from "../log.ts";
import { type Answer, type Dispatch, isForward, type ListenerFacts } from "./context.ts";
import { GroupRuntime } from "./group_runtime.ts";
import { ListenerRuntime } from "./listener_runtime.ts";
import { ProxyMetricFamilies } from "./metrics.ts";

/** A listener runtime without timers, bound to a fixed clock. */
function listener(wall = { now: 1_000_000 }) {
  const rt = new ListenerRuntime({
    listener: "public",
    log: silentLogger,
    families: new ProxyMetricFamilies(),
    newRuntime: (group, onSwap) =>
      new GroupRuntime({ group, log: silentLogger, onSwap, every: () => () => {} }),
    random: () => 0.5,
    wallNow: () => wall.now,
  });
  const facts: ListenerFacts = {
    log: silentLogger,
    now: () => 0,
    wallNow: () => wall.now,
    get coarseNow() {
      return 0;
    },
    get coarseWall() {
      return wall.now;
    },
    draining: false,
  };
  rt.bind(facts);
  return rt;
}

function req(target: string, host = "a.test"): RequestHead {
  const h = parseRequestHead(`GET ${target} HTTP/1.1\r\nHost: ${host}`, {
    maxHeaderCount: 100,
    maxUriLength: 8192,
  });
  if ("error" in h) throw new Error(h.reason);
  return h;
}

const groupOf = (d: Dispatch) =>
  isForward(d) ? d.ctx.state.group : `answer ${(d as Answer).status}`;

const ROUTES = (limit: number) => ({
  routes: [
    { name: "api", match: { path: { prefix: "/api" } }, forward: { group: "api" } },
    {
      name: "limited",
      match: { path: { prefix: "/limited" } },
      forward: { group: "web" },
      rate_limit: { rate: 0.001, burst: limit },
    },
  ],
});

Deno.test("ListenerRuntime: 503 before routes, then routes to groups, 404 without a match", () => {
  const rt = listener();
  assert.equal(groupOf(rt.dispatch(req("/api/x"), "10.0.0.1")), "answer 503");
  rt.applyGroup("api", "1", { backend_servers: ["127.0.0.1:9001"] });
  rt.applyGroup("web", "1", { backend_servers: ["127.0.0.1:9002"] });
  assert.deepEqual(rt.applyListener("1", ROUTES(2)), { ok: true, changed: true });
  assert.equal(groupOf(rt.dispatch(req("/api/x"), "10.0.0.1")), "api");
  assert.equal(groupOf(rt.dispatch(req("/nothing"), "10.0.0.1")), "answer 404");
  rt.close();
});

Deno.test("ListenerRuntime: routes naming a group without config are rejected; the last good serve", () => {
  const rt = listener();
  rt.applyGroup("api", "1", { backend_servers: ["127.0.0.1:9001"] });
  rt.applyGroup("web", "1", { backend_servers: ["127.0.0.1:9002"] });
  rt.applyListener("1", ROUTES(2));
  const bad = rt.applyListener("2", {
    routes: [{ name: "x", forward: { group: "missing" } }],
  });
  assert.ok(!bad.ok);
  assert.equal(bad.issues[0]!.field, "routes[0].forward.group");
  assert.equal(rt.version, "1");
  assert.equal(rt.rejectedTotal, 1);
  assert.equal(groupOf(rt.dispatch(req("/api/x"), "10.0.0.1")), "api");
  rt.close();
});

Deno.test("ListenerRuntime: a group no longer referenced is dropped at the swap", () => {
  const rt = listener();
  rt.applyGroup("api", "1", { backend_servers: ["127.0.0.1:9001"] });
  rt.applyGroup("web", "1", { backend_servers: ["127.0.0.1:9002"] });
  rt.applyListener("1", ROUTES(2));
  assert.deepEqual([...rt.groups.keys()].sort(), ["api", "web"]);
  rt.applyListener("2", { routes: [{ name: "api", forward: { group: "api" } }] });
  assert.deepEqual([...rt.groups.keys()], ["api"]);
  assert.deepEqual([...rt.referenced], ["api"]);
  rt.close();
});

Deno.test("ListenerRuntime: a rate limit keeps its buckets across a swap that leaves it unchanged", () => {
  const rt = listener();
  rt.applyGroup("api", "1", { backend_servers: ["127.0.0.1:9001"] });
  rt.applyGroup("web", "1", { backend_servers: ["127.0.0.1:9002"] });
  rt.applyListener("1", ROUTES(2));
  const take = () => groupOf(rt.dispatch(req("/limited"), "10.0.0.1"));
  assert.deepEqual([take(), take(), take()], ["web", "web", "answer 429"]);
  // another route changes: the bucket is the same one, still empty
  const other = ROUTES(2);
  other.routes[0]!.match = { path: { prefix: "/v2" } };
  rt.applyListener("2", other);
  assert.equal(take(), "answer 429");
  // positive control: a changed limit starts afresh
  rt.applyListener("3", ROUTES(3));
  assert.deepEqual([take(), take(), take(), take()], ["web", "web", "web", "answer 429"]);
  rt.close();
});

Deno.test("ListenerRuntime: a scheme route redirects plain requests to https; TLS ones fall through", () => {
  const rt = listener();
  rt.applyGroup("web", "1", { backend_servers: ["127.0.0.1:9002"] });
  const applied = rt.applyListener("1", {
    routes: [
      { name: "to-https", match: { scheme: "http" }, redirect: { scheme: "https", status: 308 } },
      { name: "web", forward: { group: "web" } },
    ],
  });
  assert.equal(applied.ok, true);
  const plain = rt.dispatch(req("/cart?id=1", "shop.test:8080"), "10.0.0.1", false) as Answer;
  assert.equal(plain.status, 308);
  assert.match(
    String(plain.render(true, false)),
    /\r\nlocation: https:\/\/shop\.test\/cart\?id=1\r\n/,
  );
  assert.equal(groupOf(rt.dispatch(req("/cart", "shop.test"), "10.0.0.1", true)), "web");
  rt.close();
});

Deno.test("ListenerRuntime: a redirect keeps the scheme the request came with", () => {
  const rt = listener();
  rt.applyListener("1", {
    routes: [{ name: "moved", redirect: { host: "new.test", status: 301 } }],
  });
  const over = (secure: boolean) =>
    String((rt.dispatch(req("/x"), "10.0.0.1", secure) as Answer).render(true, false));
  assert.match(over(true), /\r\nlocation: https:\/\/new\.test\/x\r\n/);
  assert.match(over(false), /\r\nlocation: http:\/\/new\.test\/x\r\n/);
  rt.close();
});
