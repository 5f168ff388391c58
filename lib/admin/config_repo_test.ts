import assert from "node:assert/strict";
import { OPEN_ACL, writerOnlyAcl } from "../store/acl.ts";
import { configPath, historyPath, routeHistoryPath, routesPath } from "../store/layout.ts";
import { MemoryServer, type MemoryStore } from "../store/memory.ts";
import {
  type CoordinationStore,
  NoAuthError,
  NodeExistsError,
  NoNodeError,
  type Op,
  RequestTooLargeError,
  VersionConflictError,
} from "../store/types.ts";
import { LISTENER_CONFIGS } from "./config_kind.ts";
import {
  ConfigRepo,
  DependencyChangedError,
  encodeConfig,
  InvalidStoredConfigError,
} from "./config_repo.ts";
import { ConfigTooLargeError, MAX_CONFIG_BYTES } from "./limits.ts";

const enc = (t: string) => new TextEncoder().encode(t);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

interface Fixture {
  server: MemoryServer;
  store: MemoryStore;
  /** A second session, for writes "around" the repo (zkCli.sh, another admin). */
  other: MemoryStore;
  repo: ConfigRepo;
}

async function withRepo(
  fn: (f: Fixture) => Promise<void>,
  options: { historyLimit?: number; digest?: string; acl?: ConfigRepo["options"]["acl"] } = {},
): Promise<void> {
  const server = new MemoryServer();
  const store = await server.connect(options.digest ? { digest: options.digest } : {});
  const other = await server.connect(options.digest ? { digest: options.digest } : {});
  const repo = new ConfigRepo(store, {
    historyLimit: options.historyLimit ?? 50,
    acl: options.acl ?? null,
  });
  try {
    await fn({ server, store, other, repo });
  } finally {
    await store.close();
    await other.close();
  }
}

/**
 * The store, with `before` run ahead of each `transaction` for as many calls as it returns true:
 * a writer slipping in between the repo's read and its write.
 */
function interfering(
  store: CoordinationStore,
  before: (ops: readonly Op[], call: number) => Promise<void>,
): CoordinationStore {
  let calls = 0;
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "transaction") {
        return async (ops: readonly Op[]) => {
          await before(ops, calls++);
          return await target.transaction(ops);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as CoordinationStore;
}

const cfg = (n: number) => ({ backend_servers: [`10.0.0.${n}:80`] });

Deno.test("ConfigRepo.list is empty when /lb-configs does not exist", async () => {
  await withRepo(async ({ repo }) => {
    assert.deepEqual(await repo.list(), []);
  });
});

Deno.test("ConfigRepo.list returns every group with its version, sorted by name", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("zeta", cfg(1), "alice");
    await repo.create("alpha", cfg(2), "alice");
    await repo.update("zeta", cfg(3), 0, "alice");
    assert.deepEqual(await repo.list(), [
      { group: "alpha", version: 0 },
      { group: "zeta", version: 1 },
    ]);
  });
});

Deno.test("ConfigRepo.get returns null for an absent group", async () => {
  await withRepo(async ({ repo }) => {
    assert.equal(await repo.get("nope"), null);
  });
});

Deno.test("ConfigRepo.get returns the parsed blob, its raw text, version and modification time", async () => {
  await withRepo(async ({ repo, other }) => {
    await other.create("/lb-configs", enc(""));
    await other.create("/lb-configs/g", enc('{"backend_servers":[]}'));
    const r = await repo.get("g");
    assert.ok(r);
    assert.equal(r.group, "g");
    assert.equal(r.version, 0);
    assert.deepEqual(r.config, { backend_servers: [] });
    assert.equal(r.raw, '{"backend_servers":[]}');
    const stat = await other.exists("/lb-configs/g");
    assert.equal(r.modifiedAt, new Date(stat!.mtimeMs).toISOString());
  });
});

Deno.test("ConfigRepo.get keeps the raw text and gives a null config for a blob that is not JSON", async () => {
  await withRepo(async ({ repo, other }) => {
    await other.create("/lb-configs/g", enc("{oops"), { parents: true });
    const r = await repo.get("g");
    assert.equal(r?.config, null);
    assert.equal(r?.raw, "{oops");
  });
});

Deno.test("ConfigRepo.create writes the blob as indented JSON at version 0", async () => {
  await withRepo(async ({ repo, store }) => {
    const r = await repo.create("g", cfg(1), "alice");
    assert.equal(r.version, 0);
    assert.deepEqual(r.config, cfg(1));
    const node = await store.get(configPath("g"));
    assert.equal(dec(node!.data), JSON.stringify(cfg(1), null, 2) + "\n");
  });
});

Deno.test("ConfigRepo.create records a create entry in the history", async () => {
  await withRepo(async ({ repo }) => {
    const before = Date.now();
    await repo.create("g", cfg(1), "alice");
    const [entry, ...rest] = await repo.history("g");
    assert.deepEqual(rest, []);
    assert.ok(entry);
    assert.match(entry.id, /^v-\d{10}$/);
    assert.equal(entry.version, 0);
    assert.equal(entry.action, "create");
    assert.equal(entry.by, "alice");
    assert.deepEqual(entry.config, cfg(1));
    assert.ok(Date.parse(entry.at) >= before - 1000 && Date.parse(entry.at) <= Date.now() + 1000);
  });
});

Deno.test("ConfigRepo.create fails with NodeExistsError for an existing group and writes nothing", async () => {
  await withRepo(async ({ repo, store }) => {
    await repo.create("g", cfg(1), "alice");
    await assert.rejects(repo.create("g", cfg(2), "bob"), NodeExistsError);
    assert.deepEqual((await repo.get("g"))?.config, cfg(1));
    assert.equal((await repo.history("g")).length, 1);
    assert.equal((await store.children(historyPath("g"))).length, 1);
  });
});

Deno.test("ConfigRepo.update replaces the blob at the expected version and records it", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(1), "alice");
    const r = await repo.update("g", cfg(2), 0, "bob");
    assert.equal(r.version, 1);
    assert.deepEqual(r.config, cfg(2));
    const [newest] = await repo.history("g");
    assert.equal(newest?.version, 1);
    assert.equal(newest?.action, "update");
    assert.equal(newest?.by, "bob");
    assert.deepEqual(newest?.config, cfg(2));
  });
});

Deno.test("ConfigRepo.update records the action it is given", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(1), "alice");
    await repo.update("g", cfg(2), 0, "bob", "rollback to 0");
    assert.equal((await repo.history("g"))[0]?.action, "rollback to 0");
  });
});

Deno.test("ConfigRepo.update at a stale version fails with the current version and changes nothing", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(1), "alice");
    await repo.update("g", cfg(2), 0, "alice");
    const error = await repo.update("g", cfg(3), 0, "bob").catch((e) => e);
    assert.ok(error instanceof VersionConflictError);
    assert.equal(error.expectedVersion, 0);
    assert.equal(error.currentVersion, 1);
    assert.equal(error.path, "/lb-configs/g");
    assert.deepEqual((await repo.get("g"))?.config, cfg(2));
    assert.equal((await repo.history("g")).length, 2);
  });
});

Deno.test("ConfigRepo.update of an absent group fails with NoNodeError", async () => {
  await withRepo(async ({ repo }) => {
    await assert.rejects(repo.update("nope", cfg(1), 0, "bob"), NoNodeError);
  });
});

Deno.test("ConfigRepo.update losing a race after its read fails with the winner's version and records nothing", async () => {
  await withRepo(async ({ repo, store, other }) => {
    await repo.create("g", cfg(1), "alice");
    const racing = new ConfigRepo(
      interfering(store, async (_ops, call) => {
        if (call === 0) await other.set(configPath("g"), enc(JSON.stringify(cfg(9))));
      }),
      repo.options,
    );
    const error = await racing.update("g", cfg(2), 0, "bob").catch((e) => e);
    assert.ok(error instanceof VersionConflictError);
    assert.equal(error.expectedVersion, 0);
    assert.equal(error.currentVersion, 1);
    assert.deepEqual((await repo.get("g"))?.config, cfg(9));
    // the transaction was all or nothing: no history entry for the failed write
    assert.deepEqual((await repo.history("g")).map((e) => e.action), ["create"]);
  });
});

Deno.test("ConfigRepo.update reports a null current version when the node vanished after the conflict", async () => {
  await withRepo(async ({ repo, store, other }) => {
    await repo.create("g", cfg(1), "alice");
    const racing = new Proxy(store, {
      get(target, prop) {
        if (prop === "transaction") {
          return async (ops: readonly Op[]) => {
            await other.set(configPath("g"), enc("{}"));
            try {
              return await target.transaction(ops);
            } finally {
              await other.delete(configPath("g"));
            }
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as CoordinationStore;
    const error = await new ConfigRepo(racing, repo.options).update("g", cfg(2), 0, "bob")
      .catch((e) => e);
    assert.ok(error instanceof VersionConflictError);
    assert.equal(error.currentVersion, null);
  });
});

Deno.test("ConfigRepo.update first records a version written around the repo as an external entry", async () => {
  await withRepo(async ({ repo, other }) => {
    await repo.create("g", cfg(1), "alice");
    await other.set(configPath("g"), enc(JSON.stringify(cfg(5))), 0);
    await repo.update("g", cfg(2), 1, "bob");
    const history = await repo.history("g");
    assert.deepEqual(
      history.map((e) => [e.version, e.action, e.by]),
      [[2, "update", "bob"], [1, "external", "zookeeper"], [0, "create", "alice"]],
    );
    assert.deepEqual(history[1]?.config, cfg(5));
  });
});

Deno.test("ConfigRepo.update records an external blob that is not JSON with a null config", async () => {
  await withRepo(async ({ repo, other }) => {
    await repo.create("g", cfg(1), "alice");
    await other.set(configPath("g"), enc("not json"), 0);
    await repo.update("g", cfg(2), 1, "bob");
    const external = (await repo.history("g"))[1];
    assert.equal(external?.action, "external");
    assert.equal(external?.config, null);
  });
});

Deno.test("ConfigRepo.update records an external delete and re-create that lands on a known version", async () => {
  await withRepo(async ({ repo, other }) => {
    await repo.create("g", cfg(1), "alice");
    // zkCli.sh: delete /lb-configs/g; create /lb-configs/g ... -> version 0 again, other content
    await other.delete(configPath("g"));
    await other.create(configPath("g"), enc(JSON.stringify(cfg(7))));
    await repo.update("g", cfg(2), 0, "bob");
    const history = await repo.history("g");
    assert.deepEqual(history.map((e) => [e.version, e.action]), [
      [1, "update"],
      [0, "external"],
      [0, "create"],
    ]);
    assert.deepEqual(history[1]?.config, cfg(7));
  });
});

Deno.test("ConfigRepo.update adds no external entry when the history already has the current version", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(1), "alice");
    await repo.update("g", cfg(2), 0, "bob");
    await repo.update("g", cfg(3), 1, "bob");
    assert.deepEqual((await repo.history("g")).map((e) => e.action), [
      "update",
      "update",
      "create",
    ]);
  });
});

Deno.test("ConfigRepo.update records a group created around the repo before its first write", async () => {
  await withRepo(async ({ repo, other }) => {
    await other.create(configPath("g"), enc(JSON.stringify(cfg(1))), { parents: true });
    await repo.update("g", cfg(2), 0, "bob");
    assert.deepEqual((await repo.history("g")).map((e) => [e.version, e.action]), [
      [1, "update"],
      [0, "external"],
    ]);
  });
});

Deno.test("ConfigRepo.history is empty for a group without history", async () => {
  await withRepo(async ({ repo }) => {
    assert.deepEqual(await repo.history("nope"), []);
  });
});

Deno.test("ConfigRepo.history lists entries newest first and honours a limit", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(0), "alice");
    for (let v = 0; v < 4; v++) await repo.update("g", cfg(v + 1), v, "alice");
    const all = await repo.history("g");
    assert.deepEqual(all.map((e) => e.version), [4, 3, 2, 1, 0]);
    const ids = all.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort().reverse());
    assert.deepEqual((await repo.history("g", 2)).map((e) => e.version), [4, 3]);
    assert.deepEqual(await repo.history("g", 0), []);
  });
});

Deno.test("ConfigRepo.history skips a damaged entry", async () => {
  await withRepo(async ({ repo, other }) => {
    await repo.create("g", cfg(1), "alice");
    await other.create(`${historyPath("g")}/v-`, enc("{damaged"), {
      mode: "persistent_sequential",
    });
    await repo.update("g", cfg(2), 0, "alice");
    assert.deepEqual((await repo.history("g")).map((e) => e.version), [1, 0]);
  });
});

Deno.test("ConfigRepo.historyVersion returns the newest entry holding a version", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(1), "alice");
    await repo.update("g", cfg(2), 0, "bob");
    assert.deepEqual((await repo.historyVersion("g", 0))?.config, cfg(1));
    assert.deepEqual((await repo.historyVersion("g", 1))?.config, cfg(2));
    assert.equal(await repo.historyVersion("g", 2), null);
    assert.equal(await repo.historyVersion("nope", 0), null);
  });
});

Deno.test("ConfigRepo.historyVersion prefers the newest incarnation and ignores delete entries", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(1), "alice");
    await repo.remove("g", 0, "alice");
    assert.deepEqual((await repo.historyVersion("g", 0))?.action, "create");
    await repo.create("g", cfg(2), "bob");
    const entry = await repo.historyVersion("g", 0);
    assert.equal(entry?.by, "bob");
    assert.deepEqual(entry?.config, cfg(2));
  });
});

Deno.test("ConfigRepo trims the history to its limit, dropping the oldest entries", async () => {
  await withRepo(async ({ repo, store }) => {
    await repo.create("g", cfg(0), "alice");
    for (let v = 0; v < 5; v++) await repo.update("g", cfg(v + 1), v, "alice");
    assert.deepEqual((await repo.history("g")).map((e) => e.version), [5, 4, 3]);
    assert.equal((await store.children(historyPath("g"))).length, 3);
  }, { historyLimit: 3 });
});

Deno.test("ConfigRepo trims the history after a remove too", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(0), "alice");
    await repo.update("g", cfg(1), 0, "alice");
    await repo.remove("g", 1, "alice");
    assert.deepEqual((await repo.history("g")).map((e) => e.action), ["delete", "update"]);
  }, { historyLimit: 2 });
});

Deno.test("ConfigRepo writes succeed even when trimming the history fails", async () => {
  await withRepo(async ({ store }) => {
    const noDelete = new Proxy(store, {
      get(target, prop) {
        if (prop === "delete") return () => Promise.reject(new Error("no deletes today"));
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as CoordinationStore;
    const repo = new ConfigRepo(noDelete, { historyLimit: 1, acl: null });
    await repo.create("g", cfg(0), "alice");
    const r = await repo.update("g", cfg(1), 0, "alice");
    assert.equal(r.version, 1);
    assert.equal((await repo.history("g")).length, 2);
  });
});

Deno.test("ConfigRepo.modify applies a change to the current config and returns both versions", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", { ...cfg(1), algorithm: "RANDOM" }, "alice");
    const { before, after } = await repo.modify(
      "g",
      (c) => ({ ...c, algorithm: "ROUND_ROBIN" }),
      "bob",
      "patch",
    );
    assert.equal(before.version, 0);
    assert.equal(before.config && (before.config as { algorithm: string }).algorithm, "RANDOM");
    assert.equal(after.version, 1);
    assert.deepEqual(after.config, { ...cfg(1), algorithm: "ROUND_ROBIN" });
    const [newest] = await repo.history("g");
    assert.equal(newest?.action, "patch");
    assert.equal(newest?.by, "bob");
  });
});

Deno.test("ConfigRepo.modify hands the change a copy, never the record it returns as before", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", { backend_servers: ["a:1"] }, "alice");
    const { before } = await repo.modify(
      "g",
      (c) => {
        (c.backend_servers as string[]).push("b:1");
        return c;
      },
      "bob",
      "add-backend",
    );
    assert.deepEqual(before.config, { backend_servers: ["a:1"] });
  });
});

Deno.test("ConfigRepo.modify refuses a stored blob that is not a JSON object and writes nothing", async () => {
  await withRepo(async ({ repo, other }) => {
    for (const [i, blob] of ["[1,2]", "{bad json", "null"].entries()) {
      const group = `g${i}`;
      await other.create(configPath(group), enc(blob), { parents: true });
      let called = false;
      const err = await repo.modify(
        group,
        (c) => {
          called = true;
          return { ...c, x: 1 };
        },
        "bob",
        "patch",
      ).catch((e) => e);
      assert.ok(err instanceof InvalidStoredConfigError, String(err));
      assert.equal(err.current.version, 0);
      assert.ok(err.current.problem, blob);
      assert.equal(called, false);
      assert.equal(dec((await other.get(configPath(group)))!.data), blob);
      assert.equal(await other.exists(historyPath(group)), null);
    }
  });
});

Deno.test("ConfigRepo.modify patches a schema-invalid object (which may fix it)", async () => {
  await withRepo(async ({ repo, other }) => {
    await other.create(
      configPath("g"),
      enc('{"backend_servers":["a:1"],"algorithm":"NOPE"}'),
      { parents: true },
    );
    assert.match((await repo.get("g"))!.problem!.reason, /^algorithm: /);
    const { after } = await repo.modify(
      "g",
      (c) => ({ ...c, algorithm: "ROUND_ROBIN" }),
      "bob",
      "patch",
    );
    assert.equal(after.problem, null);
    assert.deepEqual(after.config, { backend_servers: ["a:1"], algorithm: "ROUND_ROBIN" });
  });
});

Deno.test("ConfigRepo.modify re-applies a delta on the newer config when another writer slips in", async () => {
  await withRepo(async ({ repo, store, other }) => {
    await repo.create("g", { backend_servers: ["a:1"] }, "alice");
    const racing = new ConfigRepo(
      interfering(store, async (_ops, call) => {
        if (call === 0) {
          await other.set(
            configPath("g"),
            enc(JSON.stringify({ backend_servers: ["a:1", "c:1"] })),
          );
        }
      }),
      repo.options,
    );
    let calls = 0;
    const { before, after } = await racing.modify(
      "g",
      (c) => {
        calls++;
        return { ...c, backend_servers: [...(c.backend_servers as string[]), "b:1"] };
      },
      "bob",
      "add-backend",
    );
    assert.equal(calls, 2);
    assert.equal(before.version, 1);
    assert.equal(after.version, 2);
    assert.deepEqual(after.config, { backend_servers: ["a:1", "c:1", "b:1"] });
    assert.deepEqual((await repo.history("g")).map((e) => [e.version, e.action]), [
      [2, "add-backend"],
      [1, "external"],
      [0, "create"],
    ]);
  });
});

Deno.test("ConfigRepo.modify with an expected version fails on a writer slipping in, without retrying", async () => {
  await withRepo(async ({ repo, store, other }) => {
    await repo.create("g", cfg(1), "alice");
    const racing = new ConfigRepo(
      interfering(store, async (_ops, call) => {
        if (call === 0) await other.set(configPath("g"), enc(JSON.stringify(cfg(9))));
      }),
      repo.options,
    );
    let calls = 0;
    const error = await racing.modify(
      "g",
      (c) => {
        calls++;
        return { ...c, algorithm: "RANDOM" };
      },
      "bob",
      "patch",
      0,
    ).catch((e) => e);
    assert.ok(error instanceof VersionConflictError);
    assert.equal(error.expectedVersion, 0);
    assert.equal(error.currentVersion, 1);
    assert.equal(calls, 1);
    assert.deepEqual((await repo.get("g"))?.config, cfg(9));
  });
});

Deno.test("ConfigRepo.modify with a stale expected version fails before calling the change", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(1), "alice");
    await repo.update("g", cfg(2), 0, "alice");
    let called = false;
    const error = await repo.modify(
      "g",
      (c) => {
        called = true;
        return c;
      },
      "bob",
      "patch",
      0,
    ).catch((e) => e);
    assert.ok(error instanceof VersionConflictError);
    assert.equal(error.currentVersion, 1);
    assert.equal(called, false);
  });
});

Deno.test("ConfigRepo.modify gives up with a conflict after five lost races", async () => {
  await withRepo(async ({ repo, store, other }) => {
    await repo.create("g", cfg(1), "alice");
    const racing = new ConfigRepo(
      interfering(store, async () => {
        await other.set(configPath("g"), enc(JSON.stringify(cfg(9))));
      }),
      repo.options,
    );
    let calls = 0;
    await assert.rejects(
      racing.modify(
        "g",
        (c) => {
          calls++;
          return c;
        },
        "bob",
        "patch",
      ),
      VersionConflictError,
    );
    assert.equal(calls, 5);
  });
});

Deno.test("ConfigRepo.modify passes an error of the change through and writes nothing", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(1), "alice");
    await assert.rejects(
      repo.modify(
        "g",
        () => {
          throw new RangeError("refused");
        },
        "bob",
        "patch",
      ),
      RangeError,
    );
    assert.equal((await repo.get("g"))?.version, 0);
    assert.equal((await repo.history("g")).length, 1);
  });
});

Deno.test("ConfigRepo.modify of an absent group fails with NoNodeError", async () => {
  await withRepo(async ({ repo }) => {
    await assert.rejects(repo.modify("nope", (c) => c, "bob", "patch"), NoNodeError);
  });
});

Deno.test("ConfigRepo.remove deletes the group at the expected version and keeps its history", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(1), "alice");
    await repo.update("g", cfg(2), 0, "alice");
    await repo.remove("g", 1, "bob");
    assert.equal(await repo.get("g"), null);
    assert.deepEqual(await repo.list(), []);
    const [newest] = await repo.history("g");
    assert.equal(newest?.action, "delete");
    assert.equal(newest?.by, "bob");
    assert.equal(newest?.version, 1);
    assert.deepEqual(newest?.config, cfg(2));
    assert.equal((await repo.history("g")).length, 3);
  });
});

Deno.test("ConfigRepo.remove at a stale version fails with the current version and keeps the group", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(1), "alice");
    await repo.update("g", cfg(2), 0, "alice");
    const error = await repo.remove("g", 0, "bob").catch((e) => e);
    assert.ok(error instanceof VersionConflictError);
    assert.equal(error.currentVersion, 1);
    assert.equal((await repo.get("g"))?.version, 1);
    assert.equal((await repo.history("g"))[0]?.action, "update");
  });
});

Deno.test("ConfigRepo.remove losing a race after its read fails with the winner's version", async () => {
  await withRepo(async ({ repo, store, other }) => {
    await repo.create("g", cfg(1), "alice");
    const racing = new ConfigRepo(
      interfering(store, async (_ops, call) => {
        if (call === 0) await other.set(configPath("g"), enc(JSON.stringify(cfg(9))));
      }),
      repo.options,
    );
    const error = await racing.remove("g", 0, "bob").catch((e) => e);
    assert.ok(error instanceof VersionConflictError);
    assert.equal(error.expectedVersion, 0);
    assert.equal(error.currentVersion, 1);
    assert.notEqual(await repo.get("g"), null);
    assert.deepEqual((await repo.history("g")).map((e) => e.action), ["create"]);
  });
});

Deno.test("ConfigRepo.remove records a version written around the repo before the delete", async () => {
  await withRepo(async ({ repo, other }) => {
    await repo.create("g", cfg(1), "alice");
    await other.set(configPath("g"), enc(JSON.stringify(cfg(3))), 0);
    await repo.remove("g", 1, "bob");
    assert.deepEqual((await repo.history("g")).map((e) => [e.version, e.action]), [
      [1, "delete"],
      [1, "external"],
      [0, "create"],
    ]);
  });
});

Deno.test("ConfigRepo.remove of an absent group fails with NoNodeError", async () => {
  await withRepo(async ({ repo }) => {
    await assert.rejects(repo.remove("nope", 0, "bob"), NoNodeError);
  });
});

Deno.test("ConfigRepo re-creates a deleted group at version 0 with a fresh create entry", async () => {
  await withRepo(async ({ repo }) => {
    await repo.create("g", cfg(1), "alice");
    await repo.remove("g", 0, "alice");
    const r = await repo.create("g", cfg(2), "bob");
    assert.equal(r.version, 0);
    assert.deepEqual((await repo.history("g")).map((e) => e.action), [
      "create",
      "delete",
      "create",
    ]);
    // the next write needs no external entry: the newest entry is this incarnation's create
    await repo.update("g", cfg(3), 0, "bob");
    assert.equal((await repo.history("g"))[1]?.action, "create");
  });
});

Deno.test("ConfigRepo gives every node it creates the configured ACL", async () => {
  const acl = writerOnlyAcl("admin:pw");
  await withRepo(async ({ repo, store }) => {
    await repo.create("g", cfg(1), "alice");
    await repo.update("g", cfg(2), 0, "alice");
    const paths = [
      "/lb-configs",
      "/lb-configs/g",
      "/switchyard",
      "/switchyard/history",
      historyPath("g"),
      ...(await store.children(historyPath("g"))).map((n) => `${historyPath("g")}/${n}`),
    ];
    for (const path of paths) assert.deepEqual((await store.getAcl(path)).acl, acl, path);
  }, { digest: "admin:pw", acl });
});

Deno.test("ConfigRepo without an ACL leaves created nodes open", async () => {
  await withRepo(async ({ repo, store }) => {
    await repo.create("g", cfg(1), "alice");
    assert.deepEqual((await store.getAcl("/lb-configs/g")).acl, OPEN_ACL);
    const [entry] = await store.children(historyPath("g"));
    assert.deepEqual((await store.getAcl(`${historyPath("g")}/${entry}`)).acl, OPEN_ACL);
  });
});

Deno.test("ConfigRepo nodes written with the admin's ACL refuse writes of other identities", async () => {
  const acl = writerOnlyAcl("admin:pw");
  await withRepo(async ({ repo, server }) => {
    await repo.create("g", cfg(1), "alice");
    const anon = await server.connect();
    const impostor = new ConfigRepo(anon, { historyLimit: 50, acl: null });
    try {
      assert.deepEqual((await impostor.get("g"))?.config, cfg(1));
      await assert.rejects(impostor.update("g", cfg(2), 0, "eve"), NoAuthError);
      await assert.rejects(impostor.create("h", cfg(2), "eve"), NoAuthError);
      await assert.rejects(anon.set("/lb-configs/g", enc("{}")), NoAuthError);
      assert.equal((await repo.get("g"))?.version, 0);
    } finally {
      await anon.close();
    }
  }, { digest: "admin:pw", acl });
});

/** A valid config whose stored form is `bytes` long, give or take one entry (25 bytes). */
function configOfSize(bytes: number): { backend_servers: string[] } {
  // fixed-width entries: `    "b000000.test:8080",\n` is 25 bytes as stored
  const n = Math.max(1, Math.round((bytes - 25) / 25));
  return {
    backend_servers: Array.from(
      { length: n },
      (_, i) => `b${String(i).padStart(6, "0")}.test:8080`,
    ),
  };
}

Deno.test("ConfigRepo refuses a config over the size limit before writing anything", async () => {
  await withRepo(async ({ repo, other }) => {
    const big = configOfSize(MAX_CONFIG_BYTES + 1_000);
    const size = encodeConfig(big).length;
    assert.ok(size > MAX_CONFIG_BYTES, String(size));
    const err = await repo.create("g", big, "alice").catch((e) => e);
    assert.ok(err instanceof ConfigTooLargeError, String(err));
    assert.equal(err.bytes, size);
    assert.equal(err.limit, MAX_CONFIG_BYTES);
    assert.match(err.message, /over the limit of 262144 bytes/);
    assert.equal(await other.exists(configPath("g")), null);
    assert.equal(await other.exists(historyPath("g")), null);

    // just under the limit is written (positive control), and an update over it changes nothing
    const fits = configOfSize(MAX_CONFIG_BYTES - 2_000);
    assert.ok(encodeConfig(fits).length <= MAX_CONFIG_BYTES);
    await repo.create("g", fits, "alice");
    const upd = await repo.update("g", big, 0, "alice").catch((e) => e);
    assert.ok(upd instanceof ConfigTooLargeError, String(upd));
    assert.equal((await other.get(configPath("g")))!.version, 0);
    assert.equal((await repo.history("g")).length, 1);
    const grown = await repo.modify("g", (c) => ({ ...c, ...big }), "alice", "add-backend")
      .catch((e) => e);
    assert.ok(grown instanceof ConfigTooLargeError, String(grown));
    assert.equal((await other.get(configPath("g")))!.version, 0);
  });
});

Deno.test("ConfigRepo honours a smaller configured size limit", async () => {
  await withRepo(async ({ repo }) => {
    const small = new ConfigRepo(repo.store, { historyLimit: 50, acl: null, maxConfigBytes: 100 });
    const err = await small.create("g", configOfSize(200), "alice").catch((e) => e);
    assert.ok(err instanceof ConfigTooLargeError, String(err));
    assert.equal(err.limit, 100);
    await small.create("g", { backend_servers: ["a:1"] }, "alice");
  });
});

Deno.test("ConfigRepo refuses a write whose transaction is over the store's request limit, writing nothing", async () => {
  await withRepo(async ({ repo, other }) => {
    // a large version written around the repo must be recorded in the same transaction
    const external = JSON.stringify(configOfSize(800_000));
    await other.create(configPath("g"), enc(external), { parents: true });
    const err = await repo.update("g", configOfSize(MAX_CONFIG_BYTES - 2_000), 0, "alice")
      .catch((e) => e);
    assert.ok(err instanceof RequestTooLargeError, String(err));
    assert.equal(dec((await other.get(configPath("g")))!.data), external);
    assert.equal(await other.exists(historyPath("g")), null);
  });
});

Deno.test("ConfigRepo.create of a group that exists around it leaves no history node behind", async () => {
  await withRepo(async ({ repo, other }) => {
    await other.create(configPath("g"), enc('{"backend_servers":["a:1"]}'), { parents: true });
    await assert.rejects(repo.create("g", { backend_servers: ["b:1"] }, "alice"), NodeExistsError);
    assert.equal(await other.exists(historyPath("g")), null);
    // positive control: a write that succeeds creates it
    await repo.update("g", { backend_servers: ["b:1"] }, 0, "alice");
    assert.equal((await other.children(historyPath("g"))).length, 2);
  });
});

Deno.test("ConfigRepo creates the history node in the write's transaction and retries once when another writer made it", async () => {
  await withRepo(async ({ store, other }) => {
    const racing = new ConfigRepo(
      interfering(store, async (_ops, call) => {
        if (call === 0) await other.ensurePath(historyPath("g"));
      }),
      { historyLimit: 50, acl: null },
    );
    const r = await racing.create("g", { backend_servers: ["a:1"] }, "alice");
    assert.equal(r.version, 0);
    assert.equal((await racing.history("g")).length, 1);
  });
});

Deno.test("ConfigRepo records history entries compactly, the blob itself indented", async () => {
  await withRepo(async ({ repo, other }) => {
    await repo.create("g", { backend_servers: ["a:1"] }, "alice");
    const [name] = await other.children(historyPath("g"));
    const entry = dec((await other.get(`${historyPath("g")}/${name}`))!.data);
    assert.doesNotMatch(entry, /\n/);
    assert.match(dec((await other.get(configPath("g")))!.data), /\n {2}"backend_servers"/);
  });
});

Deno.test("ConfigRepo.get names what is wrong with a blob written around it", async () => {
  await withRepo(async ({ repo, other }) => {
    await other.create(configPath("bad"), enc('{"backend_servers": [}'), { parents: true });
    const bad = (await repo.get("bad"))!;
    assert.equal(bad.config, null);
    assert.match(
      bad.problem!.reason,
      /^invalid JSON at position 21 \(line 1, column 22\): unexpected character "}"/,
    );
    await other.create(configPath("w"), enc('{"backend_servers":[{"address":"a:1","weight":0}]}'));
    assert.match((await repo.get("w"))!.problem!.reason, /^backend_servers\[0\]\.weight: /);
    await repo.create("ok", { backend_servers: ["a:1"] }, "alice");
    assert.equal((await repo.get("ok"))!.problem, null);
  });
});

Deno.test("ConfigRepo.lastValidVersion is the newest valid version in the history", async () => {
  await withRepo(async ({ repo, other }) => {
    assert.equal(await repo.lastValidVersion("g"), null);
    await repo.create("g", { backend_servers: ["a:1"] }, "alice");
    await repo.update("g", { backend_servers: ["b:1"] }, 0, "alice");
    await other.set(configPath("g"), enc("{nope"));
    // the invalid version 2 is recorded as external by the next write attempt's catch-up only;
    // either way the newest valid one is 1
    assert.equal(await repo.lastValidVersion("g"), 1);
    await repo.update("g", { backend_servers: ["c:1"] }, 2, "alice"); // records 2 (invalid) and 3
    assert.equal(await repo.lastValidVersion("g"), 3);
  });
});

// --- listeners: the same repository over /lb-routes ---------------------------------------------

const ROUTES = {
  routes: [{ name: "api", match: { path: { prefix: "/api" } }, forward: { group: "api" } }],
};

Deno.test("a listener ConfigRepo keeps blobs in /lb-routes and history in /switchyard/route-history", async () => {
  await withRepo(async ({ store, other }) => {
    const repo = new ConfigRepo(store, { historyLimit: 50, acl: null, kind: LISTENER_CONFIGS });
    const r = await repo.create("public", ROUTES, "alice");
    assert.equal(r.version, 0);
    assert.equal(r.problem, null);
    assert.deepEqual(JSON.parse(dec((await other.get(routesPath("public")))!.data)), ROUTES);
    assert.equal(await other.exists(configPath("public")), null);
    assert.deepEqual(await repo.list(), [{ group: "public", version: 0 }]);
    const next = { routes: [{ ...ROUTES.routes[0], name: "api2" }] };
    await repo.update("public", next, 0, "bob");
    assert.equal((await other.children(routeHistoryPath("public"))).length, 2);
    assert.deepEqual((await repo.history("public")).map((e) => [e.version, e.by]), [
      [1, "bob"],
      [0, "alice"],
    ]);
  });
});

Deno.test("a listener ConfigRepo judges a stored blob with the route schema", async () => {
  await withRepo(async ({ store, other }) => {
    const repo = new ConfigRepo(store, { historyLimit: 50, acl: null, kind: LISTENER_CONFIGS });
    await other.create(
      routesPath("bad"),
      enc('{"routes":[{"name":"Bad!","forward":{"group":"a"}}]}'),
      {
        parents: true,
      },
    );
    assert.match((await repo.get("bad"))!.problem!.reason, /^routes\[0\]\.name: /);
    await repo.create("ok", ROUTES, "alice");
    assert.equal(await repo.lastValidVersion("ok"), 0);
  });
});

Deno.test("a write whose guard fails is a DependencyChangedError naming the node, and writes nothing", async () => {
  await withRepo(async ({ store, other }) => {
    const groups = new ConfigRepo(store, { historyLimit: 50, acl: null });
    const listeners = new ConfigRepo(store, {
      historyLimit: 50,
      acl: null,
      kind: LISTENER_CONFIGS,
    });
    await groups.create("api", { backend_servers: ["a:1"] }, "alice");
    const guard: Op = { op: "check", path: configPath("api"), version: 0 };
    await listeners.create("public", ROUTES, "alice", [guard]); // positive control
    await groups.update("api", { backend_servers: ["b:1"] }, 0, "alice");
    const err = await listeners.update("public", ROUTES, 0, "bob", "update", [guard]).catch((e) =>
      e
    );
    assert.ok(err instanceof DependencyChangedError, String(err));
    assert.equal(err.path, configPath("api"));
    assert.equal((await other.exists(routesPath("public")))!.version, 0);
    assert.equal((await listeners.history("public")).length, 1);
    await groups.remove("api", 1, "alice");
    const gone = await listeners.create("other", ROUTES, "alice", [guard]).catch((e) => e);
    assert.ok(gone instanceof DependencyChangedError, String(gone));
    assert.equal(await other.exists(routesPath("other")), null);
  });
});
