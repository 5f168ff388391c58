import assert from "node:assert/strict";
import type { ProbeTarget } from "../health/probe.ts";
import { silentLogger } from "../log.ts";
import { assignmentPath, healthBackendPath, healthGroupPath } from "../store/layout.ts";
import { MemoryServer, type MemoryStore, type Op } from "../store/mod.ts";
import { type Assignment, encodeAssignment } from "./assignment.ts";
import { orchestratorAcls } from "./paths.ts";
import type { ProbeSettings } from "./targets.ts";
import { Worker } from "./worker.ts";
import type { UpstreamTls, UpstreamTlsConfig } from "../tls/upstream_tls.ts";

const settings: ProbeSettings = {
  type: "http",
  path: "/health",
  expectedStatus: 200,
  timeoutMs: 100,
  intervalMs: 20,
  rise: 2,
  fall: 3,
};

function assignment(session: string, backends: string[], worker = "w1"): Assignment {
  return {
    worker,
    session,
    master: "m",
    term: "t",
    groups: new Map([["web", { settings, backends }]]),
  };
}

async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * A worker on a memory server (a new one unless `options.server`), with id `options.id` ("w1"),
 * recording its probes and health writes.
 */
async function setup(
  intercept?: (ops: readonly Op[], admin: MemoryStore) => Promise<void>,
  options: {
    server?: MemoryServer;
    id?: string;
    loadTls?: (tls: UpstreamTlsConfig) => UpstreamTls | string;
  } = {},
) {
  const server = options.server ?? new MemoryServer();
  const admin = await server.connect();
  const store = await server.connect({ reconnectWaitMs: 50 });
  const wrapped = intercept === undefined ? store : new Proxy(store, {
    get(target, prop) {
      if (prop === "transaction") {
        return async (ops: readonly Op[]) => {
          await intercept(ops, admin);
          return await target.transaction(ops);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const down = new Set<string>();
  const probed: string[] = [];
  const probes: ProbeTarget[] = [];
  const writes: string[] = [];
  const worker = new Worker({
    store: wrapped,
    id: options.id ?? "w1",
    acls: orchestratorAcls(undefined),
    log: silentLogger,
    probe: (t: ProbeTarget) => {
      const a = `${t.host}:${t.port}`;
      probed.push(a);
      probes.push(t);
      return Promise.resolve(
        down.has(a)
          ? { ok: false, error: "ECONNREFUSED", status: null }
          : { ok: true, error: null, status: 200 },
      );
    },
    now: () => performance.now(),
    wallClock: Date.now,
    random: Math.random,
    events: { write: (o) => writes.push(o) },
    ...(options.loadTls ? { loadTls: options.loadTls } : {}),
  });
  await worker.start();
  const session = store.session()!.id;
  const close = async () => {
    await worker.stop();
    await store.close();
    await admin.close();
  };
  return { server, admin, store, worker, down, probed, probes, writes, session, close };
}

Deno.test("Worker: probes only an assignment made for its own session", async () => {
  const w = await setup();
  // positive control: a second worker on the same server, given an assignment for its own
  // session right after, probes it: the wait below is long enough to see probing start
  const control = await setup(undefined, { server: w.server, id: "w2" });
  try {
    await w.admin.create(
      assignmentPath("w1"),
      encodeAssignment(assignment("someone-else", ["127.0.0.1:9001"])),
      { parents: true },
    );
    await control.admin.create(
      assignmentPath("w2"),
      encodeAssignment(assignment(control.session, ["127.0.0.1:9002"], "w2")),
      { parents: true },
    );
    await until(() => control.probed.length >= 3, "control: w2 probes its own assignment");
    assert.equal(w.probed.length, 0);
    await w.admin.set(
      assignmentPath("w1"),
      encodeAssignment(assignment(w.session, ["127.0.0.1:9001"])),
    );
    await until(() => w.probed.length >= 3, "probing");
    assert.equal(w.worker.status().targets, 1);
  } finally {
    await control.close();
    await w.close();
  }
});

Deno.test("Worker: takes over a marked target as unhealthy, writing nothing until rise successes", async () => {
  const w = await setup();
  try {
    await w.admin.create(`${healthGroupPath("web")}/127.0.0.1:9001`, undefined, { parents: true });
    await w.admin.create(
      assignmentPath("w1"),
      encodeAssignment(assignment(w.session, ["127.0.0.1:9001", "127.0.0.1:9002"])),
      { parents: true },
    );
    await until(() => w.worker.status().targets === 2, "assigned");
    assert.equal(w.worker.health("web/127.0.0.1:9001")?.status, "unhealthy");
    assert.equal(w.worker.health("web/127.0.0.1:9002")?.status, "healthy");
    // It is up again: cleared after 2 successes.
    await until(
      async () => await w.admin.exists(healthBackendPath("web", "127.0.0.1:9001")) === null,
      "cleared",
    );
    assert.deepEqual(w.writes, ["ok"]);
  } finally {
    await w.close();
  }
});

Deno.test("Worker: a health write is fenced when its assignment changed in the meantime", async () => {
  let moved = false;
  const w = await setup(async (ops, admin) => {
    if (moved || ops[1]?.op !== "create") return;
    moved = true;
    // The master moves the target away just before the worker's write reaches the store.
    const sessionOf =
      JSON.parse(new TextDecoder().decode((await admin.get(assignmentPath("w1")))!.data))
        .session;
    await admin.set(assignmentPath("w1"), encodeAssignment(assignment(sessionOf, [])));
  });
  try {
    w.down.add("127.0.0.1:9001");
    await w.admin.create(
      assignmentPath("w1"),
      encodeAssignment(assignment(w.session, ["127.0.0.1:9001"])),
      { parents: true },
    );
    await w.admin.ensurePath(healthGroupPath("web"));
    await until(() => w.writes.length > 0, "write attempted");
    assert.deepEqual(w.writes, ["fenced"]);
    assert.equal(await w.admin.exists(healthBackendPath("web", "127.0.0.1:9001")), null);
    await until(() => w.worker.status().targets === 0, "target dropped");
    assert.equal(w.worker.status().pendingWrites, 0);
  } finally {
    await w.close();
  }
});

Deno.test("Worker: session expiry drops every target until a new assignment names the new session", async () => {
  const w = await setup();
  try {
    await w.admin.create(
      assignmentPath("w1"),
      encodeAssignment(assignment(w.session, ["127.0.0.1:9001"])),
      { parents: true },
    );
    await until(() => w.worker.status().targets === 1, "assigned");
    w.store.simulateExpiry();
    await until(() => w.worker.status().registered, "re-registered");
    assert.equal(w.worker.status().targets, 0, "the old assignment is not resumed");
    const fresh = w.store.session()!.id;
    assert.notEqual(fresh, w.session);
    await w.admin.set(
      assignmentPath("w1"),
      encodeAssignment(assignment(fresh, ["127.0.0.1:9001"])),
    );
    await until(() => w.worker.status().targets === 1, "reassigned");
  } finally {
    await w.close();
  }
});

Deno.test("Worker: at most maxConcurrency probes in flight, lag recorded for each", async () => {
  const server = new MemoryServer();
  const admin = await server.connect();
  const store = await server.connect();
  let inflight = 0;
  let peak = 0;
  const worker = new Worker({
    store,
    id: "w1",
    acls: orchestratorAcls(undefined),
    log: silentLogger,
    probe: async () => {
      inflight++;
      peak = Math.max(peak, inflight);
      await new Promise((r) => setTimeout(r, 5));
      inflight--;
      return { ok: true, error: null, status: 200 };
    },
    now: () => performance.now(),
    wallClock: Date.now,
    random: () => 0,
    maxConcurrency: 4,
  });
  try {
    await worker.start();
    const many = Array.from({ length: 40 }, (_, i) => `127.0.0.1:${9000 + i}`);
    await admin.create(
      assignmentPath("w1"),
      encodeAssignment(assignment(store.session()!.id, many)),
      { parents: true },
    );
    await until(() => worker.status().lag.count >= 80, "two rounds");
    assert.ok(peak <= 4, `peak ${peak}`);
    assert.equal(peak, 4);
  } finally {
    await worker.stop();
    await store.close();
    await admin.close();
  }
});

Deno.test("Worker: probes a TLS group over TLS with the loaded CA, and fails them with the reason when it cannot load", async () => {
  const tls = { enabled: true, server_name: "api.internal", ca_file: "/etc/ca.pem", verify: true };
  const loads: string[] = [];
  let loadable = true;
  const w = await setup(undefined, {
    loadTls: (t) => {
      loads.push(t.ca_file!);
      return loadable
        ? { serverName: t.server_name, ca: "CA PEM", verify: t.verify, key: "k" }
        : "tls.ca_file: cannot read /etc/ca.pem: ENOENT";
    },
  });
  try {
    const withTls: Assignment = {
      worker: "w1",
      session: w.session,
      master: "m",
      term: "t",
      groups: new Map([["web", { settings: { ...settings, tls }, backends: ["127.0.0.1:9001"] }]]),
    };
    await w.admin.create(assignmentPath("w1"), encodeAssignment(withTls), { parents: true });
    await until(() => w.probes.length >= 3, "TLS probes");
    assert.deepEqual(w.probes[0]!.tls, {
      servername: "api.internal",
      ca: "CA PEM",
      rejectUnauthorized: true,
      ALPNProtocols: ["http/1.1"],
    });
    assert.equal(loads.length, 1, "loaded once per assignment, not per probe");

    // a CA the worker cannot load: no probe is sent, the backend goes unhealthy with the reason
    loadable = false;
    await w.admin.set(
      assignmentPath("w1"),
      encodeAssignment({
        ...withTls,
        groups: new Map([["web", {
          settings: { ...settings, tls: { ...tls, verify: false } },
          backends: ["127.0.0.1:9001"],
        }]]),
      }),
    );
    await until(() => w.worker.health("web/127.0.0.1:9001")?.status === "unhealthy", "unhealthy");
    assert.equal(
      w.worker.health("web/127.0.0.1:9001")?.lastError,
      "tls.ca_file: cannot read /etc/ca.pem: ENOENT",
    );
    assert.ok(w.probes.every((p) => p.tls?.rejectUnauthorized === true), "no probe without its CA");
  } finally {
    await w.close();
  }
});

Deno.test("Worker: probes an h2 group's backends over HTTP/2 (h2 on the probe target), others as before", async () => {
  const w = await setup();
  try {
    await w.admin.create(
      assignmentPath("w1"),
      encodeAssignment({
        worker: "w1",
        session: w.session,
        master: "m",
        term: "t",
        groups: new Map([
          ["rpc", { settings: { ...settings, protocol: "h2" }, backends: ["127.0.0.1:9001"] }],
          ["web", { settings, backends: ["127.0.0.1:9002"] }],
        ]),
      }),
      { parents: true },
    );
    await until(
      () => w.probed.includes("127.0.0.1:9001") && w.probed.includes("127.0.0.1:9002"),
      "both groups probed",
    );
    for (const p of w.probes) {
      assert.equal(p.h2 === true, p.port === 9001, `${p.host}:${p.port} h2=${p.h2}`);
    }
  } finally {
    await w.close();
  }
});
