import assert from "node:assert/strict";
import { digestAcl, digestId, worldAcl } from "../store/acl.ts";
import {
  ASSIGNMENTS_PATH,
  AUTOSCALER_ROOT,
  CERTS_ROOT,
  CONFIG_ROOT,
  DNS_ROOT,
  ELECTION_PATH,
  HEALTH_ROOT,
  HISTORY_ROOT,
  INSTANCES_ROOT,
  ORCHESTRATOR_ROOT,
  PROXIES_ROOT,
  ROUTE_HISTORY_ROOT,
  ROUTES_ROOT,
  SWITCHYARD_ROOT,
  WORKERS_PATH,
} from "../store/layout.ts";
import { MemoryServer, type MemoryStore } from "../store/memory.ts";
import { type AclEntry, type CoordinationStore, NoAuthError } from "../store/types.ts";
import { aclPlan, bootstrapTree, type RoleCredentials } from "./bootstrap.ts";

const creds: RoleCredentials = {
  operator: "ops:ops-pw",
  admin: "admin:admin-pw",
  orchestrator: "orch:orch-pw",
  proxy: "proxy:proxy-pw",
};

const enc = (t: string) => new TextEncoder().encode(t);

const read = worldAcl(["read"]);
const op = digestAcl(creds.operator);

function planOf(c: RoleCredentials): Map<string, AclEntry[]> {
  return new Map(aclPlan(c));
}

/** Digest ids granted everything on a node (by the plan). */
function fullIds(acl: readonly AclEntry[]): string[] {
  return acl.filter((e) => e.scheme === "digest" && e.perms.length === 5).map((e) => e.id);
}

/**
 * Deletes a session's own ephemerals before it closes. The memory store removes the ephemerals of
 * an ending session with ACL checks as an identity-less session, so under a node without world
 * DELETE its `close()` throws NoAuthError (ZooKeeper itself removes them whatever the ACL).
 */
async function dropEphemerals(store: MemoryStore, parents: readonly string[]): Promise<void> {
  const me = store.session()?.id;
  for (const parent of parents) {
    for (const name of await store.children(parent)) {
      const path = `${parent}/${name}`;
      if ((await store.exists(path))?.ephemeralOwner === me) await store.delete(path);
    }
  }
}

async function withServer(
  fn: (server: MemoryServer, sessions: MemoryStore[]) => Promise<void>,
): Promise<void> {
  const server = new MemoryServer();
  const sessions: MemoryStore[] = [];
  try {
    await fn(server, sessions);
  } finally {
    for (const s of sessions) await s.close();
  }
}

async function open(
  server: MemoryServer,
  sessions: MemoryStore[],
  digest?: string,
): Promise<MemoryStore> {
  const s = await server.connect(digest === undefined ? {} : { digest });
  sessions.push(s);
  return s;
}

Deno.test("aclPlan lists every fixed node of the layout, parents before children", () => {
  const paths = aclPlan(creds).map(([p]) => p);
  assert.deepEqual(paths, [
    CONFIG_ROOT,
    ROUTES_ROOT,
    SWITCHYARD_ROOT,
    HISTORY_ROOT,
    ROUTE_HISTORY_ROOT,
    HEALTH_ROOT,
    ORCHESTRATOR_ROOT,
    ELECTION_PATH,
    WORKERS_PATH,
    ASSIGNMENTS_PATH,
    PROXIES_ROOT,
    DNS_ROOT,
    INSTANCES_ROOT,
    AUTOSCALER_ROOT,
    CERTS_ROOT,
  ]);
  for (const [i, p] of paths.entries()) {
    const parent = p.slice(0, p.lastIndexOf("/")) || "/";
    if (parent !== "/") assert.ok(paths.indexOf(parent) < i, `${parent} before ${p}`);
  }
});

Deno.test("aclPlan gives the admin the configs, the listeners' routes and their histories", () => {
  const plan = planOf(creds);
  for (const p of [CONFIG_ROOT, HISTORY_ROOT, ROUTES_ROOT, ROUTE_HISTORY_ROOT]) {
    assert.deepEqual(plan.get(p), [op, digestAcl(creds.admin), read]);
  }
});

Deno.test("aclPlan gives the orchestrator health and its coordination nodes", () => {
  const plan = planOf(creds);
  for (const p of [HEALTH_ROOT, ORCHESTRATOR_ROOT, ELECTION_PATH, WORKERS_PATH, ASSIGNMENTS_PATH]) {
    assert.deepEqual(plan.get(p), [op, digestAcl(creds.orchestrator), read], p);
  }
});

Deno.test("aclPlan gives the proxies their registrations only", () => {
  const plan = planOf(creds);
  assert.deepEqual(plan.get(PROXIES_ROOT), [op, digestAcl(creds.proxy), read]);
  const proxyId = digestId("proxy", "proxy-pw");
  for (const [path, acl] of plan) {
    if (path !== PROXIES_ROOT) assert.ok(!fullIds(acl).includes(proxyId), path);
  }
});

Deno.test("aclPlan keeps the operator's full rights on every node and world read on all but the certificates", () => {
  for (const [path, acl] of aclPlan(creds)) {
    assert.deepEqual(acl[0], op, path);
    if (path === CERTS_ROOT) continue; // private keys: see the next test
    assert.deepEqual(acl.at(-1), read, path);
    assert.ok(!acl.some((e) => e.scheme === "world" && e.perms.length > 1), path);
  }
  assert.deepEqual(planOf(creds).get(SWITCHYARD_ROOT), [op, read]);
});

Deno.test("aclPlan: certificates are written by the admin, read by the proxies, hidden from the world", () => {
  assert.deepEqual(planOf(creds).get(CERTS_ROOT), [
    op,
    digestAcl(creds.admin),
    digestAcl(creds.proxy, ["read"]),
  ]);
  // an identity used for two roles appears once, with the larger rights
  assert.deepEqual(planOf({ ...creds, admin: creds.operator }).get(CERTS_ROOT), [
    op,
    digestAcl(creds.proxy, ["read"]),
  ]);
  assert.deepEqual(planOf({ ...creds, proxy: creds.admin }).get(CERTS_ROOT), [
    op,
    digestAcl(creds.admin),
  ]);
});

Deno.test("aclPlan leaves the dns subtree to the operator unless a dns identity is given", () => {
  assert.deepEqual(planOf(creds).get(DNS_ROOT), [op, read]);
  assert.deepEqual(planOf({ ...creds, dns: "dns:dns-pw" }).get(DNS_ROOT), [
    op,
    digestAcl("dns:dns-pw"),
    read,
  ]);
});

Deno.test("aclPlan lets each non-proxy role register under instances, and gives the autoscaler its root", () => {
  const withAutoscaler = planOf({ ...creds, dns: "dns:dns-pw", autoscaler: "scaler:pw" });
  assert.deepEqual(withAutoscaler.get(INSTANCES_ROOT), [
    op,
    digestAcl(creds.admin, ["create"]),
    digestAcl(creds.orchestrator, ["create"]),
    digestAcl("dns:dns-pw", ["create"]),
    digestAcl("scaler:pw", ["create"]),
    read,
  ]);
  assert.deepEqual(withAutoscaler.get(AUTOSCALER_ROOT), [op, digestAcl("scaler:pw"), read]);
  assert.deepEqual(planOf(creds).get(AUTOSCALER_ROOT), [op, read]);
  const proxyId = digestId("proxy", "proxy-pw");
  assert.ok(!withAutoscaler.get(INSTANCES_ROOT)!.some((e) => e.id === proxyId));
});

Deno.test("aclPlan does not repeat the operator's entry when a role uses the operator identity", () => {
  const plan = planOf({ ...creds, admin: creds.operator });
  assert.deepEqual(plan.get(CONFIG_ROOT), [op, read]);
});

Deno.test("aclPlan refuses credentials without a colon", () => {
  assert.throws(() => aclPlan({ ...creds, proxy: "nopassword" }), /user:password/);
});

Deno.test("bootstrapTree creates every fixed node with its planned ACL", async () => {
  await withServer(async (server, sessions) => {
    const operator = await open(server, sessions, creds.operator);
    const lines = await bootstrapTree(operator, creds);
    assert.deepEqual(lines, aclPlan(creds).map(([p]) => `created ${p}`));
    for (const [path, acl] of aclPlan(creds)) {
      const got = await operator.getAcl(path);
      assert.deepEqual(got.acl, acl, path);
      assert.equal((await operator.get(path))?.data.length, 0, path);
    }
  });
});

Deno.test("after bootstrapTree an unauthenticated session may read but not write a config", async () => {
  await withServer(async (server, sessions) => {
    await bootstrapTree(await open(server, sessions, creds.operator), creds);
    const anon = await open(server, sessions);
    await assert.rejects(anon.create("/lb-configs/x", enc("{}")), NoAuthError);
    await assert.rejects(anon.create("/switchyard/health/g", enc("")), NoAuthError);
    await assert.rejects(anon.create("/switchyard/proxies/g", enc("")), NoAuthError);
    await assert.rejects(anon.create("/switchyard/other", enc("")), NoAuthError);
    await assert.rejects(anon.set("/lb-configs", enc("x")), NoAuthError);
    await assert.rejects(anon.delete("/switchyard/history"), NoAuthError);
    await assert.rejects(anon.setAcl("/lb-configs", [read]), NoAuthError);
    assert.deepEqual(await anon.children("/lb-configs"), []);
    assert.notEqual(await anon.get("/switchyard/health"), null);
  });
});

Deno.test("after bootstrapTree a proxy registers itself but cannot write configs, health or history", async () => {
  await withServer(async (server, sessions) => {
    await bootstrapTree(await open(server, sessions, creds.operator), creds);
    const proxy = await open(server, sessions, creds.proxy);
    await assert.rejects(proxy.create("/lb-configs/x", enc("{}")), NoAuthError);
    await assert.rejects(proxy.create("/switchyard/health/g", enc("")), NoAuthError);
    await assert.rejects(proxy.create("/switchyard/history/g", enc("")), NoAuthError);
    await assert.rejects(proxy.create("/switchyard/orchestrator/workers/p", enc("")), NoAuthError);
    await proxy.create("/switchyard/proxies/g", enc(""), { acl: [digestAcl(creds.proxy), read] });
    assert.equal(
      await proxy.create("/switchyard/proxies/g/p1", enc("{}"), { mode: "ephemeral" }),
      "/switchyard/proxies/g/p1",
    );
    await proxy.delete("/switchyard/proxies/g/p1"); // see dropEphemerals
  });
});

Deno.test("after bootstrapTree the orchestrator writes health and coordination but not configs", async () => {
  await withServer(async (server, sessions) => {
    await bootstrapTree(await open(server, sessions, creds.operator), creds);
    const orch = await open(server, sessions, creds.orchestrator);
    await orch.create("/switchyard/health/g", enc(""));
    await orch.create("/switchyard/health/g/10.0.0.1:80", enc("{}"));
    await orch.create("/switchyard/orchestrator/workers/w1", enc(""), { mode: "ephemeral" });
    await orch.create("/switchyard/orchestrator/election/c-", enc(""), {
      mode: "ephemeral_sequential",
    });
    await orch.create("/switchyard/orchestrator/assignments/w1", enc("[]"));
    await orch.create("/switchyard/orchestrator/master", enc("w1"), { mode: "ephemeral" });
    await assert.rejects(orch.create("/lb-configs/x", enc("{}")), NoAuthError);
    await assert.rejects(orch.create("/switchyard/history/x", enc("")), NoAuthError);
    await assert.rejects(orch.create("/switchyard/proxies/x", enc("")), NoAuthError);
    await dropEphemerals(orch, [
      "/switchyard/orchestrator/workers",
      "/switchyard/orchestrator/election",
      "/switchyard/orchestrator",
    ]);
  });
});

Deno.test("after bootstrapTree the admin writes configs and history but not health", async () => {
  await withServer(async (server, sessions) => {
    await bootstrapTree(await open(server, sessions, creds.operator), creds);
    const admin = await open(server, sessions, creds.admin);
    await admin.create("/lb-configs/x", enc("{}"));
    await admin.set("/lb-configs/x", enc('{"a":1}'), 0);
    await admin.create("/switchyard/history/x", enc(""));
    await admin.create("/switchyard/history/x/v-", enc("{}"), { mode: "persistent_sequential" });
    await admin.delete("/lb-configs/x", 1);
    await assert.rejects(admin.create("/switchyard/health/g", enc("")), NoAuthError);
    await assert.rejects(admin.create("/switchyard/orchestrator/workers/a", enc("")), NoAuthError);
  });
});

Deno.test("after bootstrapTree only a dns identity given at bootstrap writes the dns subtree", async () => {
  await withServer(async (server, sessions) => {
    await bootstrapTree(await open(server, sessions, creds.operator), {
      ...creds,
      dns: "dns:dns-pw",
    });
    const dns = await open(server, sessions, "dns:dns-pw");
    await dns.create("/switchyard/dns/election", enc(""));
    const admin = await open(server, sessions, creds.admin);
    await assert.rejects(admin.create("/switchyard/dns/x", enc("")), NoAuthError);
  });
});

Deno.test("bootstrapTree run a second time re-ACLs the existing nodes and keeps their data", async () => {
  await withServer(async (server, sessions) => {
    const operator = await open(server, sessions, creds.operator);
    await bootstrapTree(operator, creds);
    const admin = await open(server, sessions, creds.admin);
    await admin.create("/lb-configs/x", enc("{}"));
    const again = await bootstrapTree(operator, { ...creds, dns: "dns:dns-pw" });
    assert.deepEqual(again, aclPlan(creds).map(([p]) => `set ACL on ${p}`));
    assert.deepEqual((await operator.getAcl(DNS_ROOT)).acl, [op, digestAcl("dns:dns-pw"), read]);
    assert.equal((await operator.getAcl(CONFIG_ROOT)).stat.aversion, 1);
    assert.notEqual(await operator.get("/lb-configs/x"), null);
    // a third run still works: the operator kept its rights
    await bootstrapTree(operator, creds);
    assert.deepEqual((await operator.getAcl(DNS_ROOT)).acl, [op, read]);
  });
});

Deno.test("bootstrapTree run again gives the certificates already stored the certificates' ACL", async () => {
  await withServer(async (server, sessions) => {
    const operator = await open(server, sessions, creds.operator);
    await bootstrapTree(operator, creds);
    const admin = await open(server, sessions, creds.admin);
    // as the admin role creates it: with the ACL of /switchyard/certs
    await admin.create(`${CERTS_ROOT}/shop`, enc("{}"), { acl: planOf(creds).get(CERTS_ROOT)! });
    const next = { ...creds, proxy: "proxy2:proxy2-pw" };
    const lines = await bootstrapTree(operator, next);
    assert.equal(lines.at(-1), `set ACL on ${CERTS_ROOT}/shop`);
    assert.deepEqual(
      (await operator.getAcl(`${CERTS_ROOT}/shop`)).acl,
      planOf(next).get(CERTS_ROOT),
    );
    const proxy2 = await open(server, sessions, next.proxy);
    assert.notEqual(await proxy2.get(`${CERTS_ROOT}/shop`), null);
    const oldProxy = await open(server, sessions, creds.proxy);
    await assert.rejects(oldProxy.get(`${CERTS_ROOT}/shop`), NoAuthError);
  });
});

Deno.test("bootstrapTree locks down nodes that existed with an open ACL before it ran", async () => {
  await withServer(async (server, sessions) => {
    const early = await open(server, sessions);
    await early.create("/lb-configs", enc(""));
    await early.create("/switchyard", enc(""));
    const lines = await bootstrapTree(await open(server, sessions, creds.operator), creds);
    assert.equal(lines[0], "set ACL on /lb-configs");
    assert.equal(lines[1], "created /lb-routes");
    assert.equal(lines[2], "set ACL on /switchyard");
    assert.equal(lines[3], "created /switchyard/history");
    await assert.rejects(early.create("/lb-configs/x", enc("{}")), NoAuthError);
    await assert.rejects(early.create("/lb-routes/x", enc("{}")), NoAuthError);
  });
});

Deno.test("bootstrapTree re-ACLs a node created by someone else between its check and its create", async () => {
  await withServer(async (server, sessions) => {
    const operator = await open(server, sessions, creds.operator);
    const other = await open(server, sessions, creds.operator);
    let raced = false;
    const racing = new Proxy(operator, {
      get(target, prop) {
        if (prop === "exists") {
          return async (path: string) => {
            const stat = await target.exists(path);
            if (path === HEALTH_ROOT && !raced) {
              raced = true;
              await other.create(path, enc(""));
            }
            return stat;
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as CoordinationStore;
    const lines = await bootstrapTree(racing, creds);
    assert.ok(raced);
    assert.ok(lines.includes(`set ACL on ${HEALTH_ROOT}`));
    assert.deepEqual(
      (await operator.getAcl(HEALTH_ROOT)).acl,
      planOf(creds).get(HEALTH_ROOT),
    );
  });
});

Deno.test("bootstrapTree fails with NoAuthError when the session is not the operator of an existing tree", async () => {
  await withServer(async (server, sessions) => {
    await bootstrapTree(await open(server, sessions, creds.operator), creds);
    const intruder = await open(server, sessions, "intruder:pw");
    await assert.rejects(bootstrapTree(intruder, creds), NoAuthError);
  });
});
