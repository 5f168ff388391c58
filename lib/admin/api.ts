/**
 * The admin REST API (Hono): list, read, create, update, delete group
 * configs; add, remove and re-weight one backend; change the algorithm or
 * health settings; history, diff and rollback. Every write is validated with
 * the same zod schema the proxies use (422 with field and reason), is
 * conditioned on the znode version (409 with the current version when
 * stale), needs a bearer token, and is logged with who and what. Sizes are
 * bounded (`limits.ts`): a body over `MAX_BODY_BYTES` gets 413 before it is
 * parsed (or read past the limit), a config over `MAX_CONFIG_BYTES` gets 413
 * before anything is written. A stored blob that is invalid (written around
 * the API) is shown as such, with the reason and the version to roll back to. TLS certificates
 * (`/api/certs`) have their own module, certificate_api.ts, mounted here behind the same
 * authentication, limits, error answers and audit.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { formatHostPort, parseHostPort } from "../config/address.ts";
import { formatIssues, GROUP_NAME, validateGroupConfig } from "../config/schema.ts";
import { withoutSchemaKey } from "../config/schema_key.ts";
import type { Logger } from "../log.ts";
import { Counter, type Registry } from "../metrics/registry.ts";
import {
  isTransient,
  NoAuthError,
  NodeExistsError,
  NoNodeError,
  RequestTooLargeError,
  StoreClosedError,
  StoreError,
  VersionConflictError,
} from "../store/types.ts";
import { type GroupReference, groupReferences } from "../routing/references.ts";
import { type RouteIssue, validateListenerConfig } from "../routing/schema.ts";
import { whichRoute } from "../routing/which_route.ts";
import type { Op } from "../store/types.ts";
import { type ConfigKind, GROUP_CONFIGS, LISTENER_CONFIGS } from "./config_kind.ts";
import {
  ConfigRepo,
  DependencyChangedError,
  type GroupRecord,
  InvalidStoredConfigError,
} from "./config_repo.ts";
import { bodyTooLargeMessage, ConfigTooLargeError, MAX_BODY_BYTES } from "./limits.ts";
import { diffJson } from "./diff.ts";
import { readGroupStates } from "./group_state.ts";
import { type AdminToken, bearer, identify } from "./tokens.ts";
import {
  ApiError,
  type Env,
  expectedVersion,
  jsonBody,
  nameParam,
  parseBody,
  requireVersion,
  type WriteNote,
} from "./api_request.ts";
import { certificateRoutes } from "./certificate_api.ts";
import { CertificateRepo } from "./certificate_repo.ts";

/** Dependencies of the API. */
export interface AdminApiOptions {
  readonly repo: ConfigRepo;
  readonly tokens: readonly AdminToken[];
  readonly log: Logger;
  /** Metrics (writes, conflicts) are added to this registry. */
  readonly registry: Registry;
  /** Largest request body read, bytes (default {@linkcode MAX_BODY_BYTES}). */
  readonly maxBodyBytes?: number;
  /**
   * Listeners' route configs (default: a repository of kind `LISTENER_CONFIGS` on `repo`'s store
   * with `repo`'s options).
   */
  readonly listeners?: ConfigRepo;
  /**
   * TLS certificates (default: a repository on `repo`'s store whose own ACL entry is the digest
   * entry of `repo`'s ACL).
   */
  readonly certs?: CertificateRepo;
  /** The clock certificates' expiry is checked against (default `Date.now`). */
  readonly now?: () => number;
}

/** What differs between the collections served by the shared routes (groups, listeners). */
interface Collection {
  readonly kind: ConfigKind;
  readonly repo: ConfigRepo;
  /** Prefix of the write `action` labels (`""` for groups, `listener-`). */
  readonly actionPrefix: string;
  /** Validates a config about to be written (422 with the issues), returning the guards to commit. */
  checked(name: string, config: unknown): Promise<readonly Op[]>;
  /** Before a delete: refuses it (an ApiError) or returns the guards to commit with it. */
  beforeDelete(name: string): Promise<readonly Op[]>;
}

const backendBody = z.strictObject({
  address: z.string({ error: 'must be a "host:port" string' }),
  weight: z.number({ error: "must be a number" }).optional(),
  drain: z.boolean({ error: "must be true or false" }).optional(),
});
const backendPatchBody = z.strictObject({
  weight: z.number({ error: "must be a number" }).optional(),
  drain: z.boolean({ error: "must be true or false" }).optional(),
}).refine((b) => b.weight !== undefined || b.drain !== undefined, {
  error: "give weight, drain or both",
});
const rollbackBody = z.strictObject({
  version: z.number({ error: "must be a number" }).int(),
  expected_version: z.number().int().optional(),
});
const createBody = z.strictObject({ group: z.string(), config: z.unknown() });
const routeTestBody = z.strictObject({
  method: z.string({ error: "must be a string" }).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, {
    error: "must be a method name such as GET",
  }).default("GET"),
  url: z.string({ error: 'must be an absolute URL such as "https://shop.example.com/cart"' })
    .refine((u) => URL.canParse(u), {
      error: 'must be an absolute URL such as "https://shop.example.com/cart"',
    }),
  headers: z.record(z.string(), z.string({ error: "must be a string" }), {
    error: "must be an object of header names to values",
  }).optional(),
});

function groupParam(c: Context): string {
  return nameParam(c, "group");
}

/** Route issues one per line, as `formatIssues` formats a group's. */
function formatRouteIssues(issues: readonly RouteIssue[]): string {
  return formatIssues(issues.map((i) => ({ group: i.listener, field: i.field, reason: i.reason })))
    .replace(/^group /gm, "listener ");
}

function validated(group: string, config: unknown): unknown {
  const r = validateGroupConfig(group, config);
  if (!r.ok) {
    throw new ApiError(422, {
      error: "invalid config",
      reason: formatIssues(r.issues),
      issues: r.issues,
    });
  }
  return config;
}

function present(r: GroupRecord, noun = "group"): Record<string, unknown> {
  return {
    [noun]: r.group,
    version: r.version,
    modified_at: r.modifiedAt,
    config: r.config,
    valid: r.problem === null,
  };
}

/**
 * What is wrong with a stored blob and what to do: `{reason, issues, raw, last_good_version,
 * hint}` (the `invalid` member of a read, and the body of a refused delta write).
 */
async function invalidity(repo: ConfigRepo, r: GroupRecord): Promise<Record<string, unknown>> {
  const lastGood = await repo.lastValidVersion(r.group);
  return {
    reason: r.problem?.reason ?? "not a JSON object",
    issues: r.problem?.issues ?? [],
    raw: r.raw,
    last_good_version: lastGood,
    hint: repo.kind.rollbackHint(r.group, lastGood),
  };
}

/** A version in a path or query: decimal digits only (not `0x10`, `1e1` or ` 1`). */
function versionNumber(raw: string): number | null {
  return /^\d{1,15}$/.test(raw) ? Number(raw) : null;
}

/** A backend address as the schema identifies it (host lower-cased, IPv6 canonical). */
function canonicalAddress(address: string): string {
  const p = parseHostPort(address);
  return typeof p === "string"
    ? address.toLowerCase()
    : formatHostPort(p.host.toLowerCase(), p.port);
}

/** The `result` label of a refused write. */
function outcome(e: unknown): string {
  if (e instanceof VersionConflictError || e instanceof NodeExistsError) return "conflict";
  if (e instanceof NoNodeError) return "not_found";
  if (e instanceof NoAuthError) return "denied";
  if (e instanceof ConfigTooLargeError || e instanceof RequestTooLargeError) return "too_large";
  if (e instanceof InvalidStoredConfigError || e instanceof DependencyChangedError) {
    return "conflict";
  }
  if (e instanceof ApiError) {
    if (e.status === 404) return "not_found";
    if (e.status === 409) return "conflict";
    if (e.status >= 400 && e.status < 500) return "invalid";
  }
  return "error";
}

/**
 * Builds the API app (mount under `/`; routes are under `/api`).
 *
 * @example
 * ```ts ignore
 * const app = adminApi({ repo, tokens: [{ name: "alice", token: "s3cret-token" }], log, registry });
 * await serve(app.fetch, { hostname: "127.0.0.1", port: 9300 });
 * ```
 */
export function adminApi(options: AdminApiOptions): Hono<Env> {
  const { repo, log } = options;
  const listeners = options.listeners ??
    new ConfigRepo(repo.store, { ...repo.options, kind: LISTENER_CONFIGS });
  const writes = options.registry.add(
    new Counter("switchyard_admin_writes_total", "Config writes through the admin API.", [
      "action",
      "result",
    ]),
  );
  const app = new Hono<Env>();

  app.onError(async (e, c) => {
    if (e instanceof ApiError) return c.json(e.body, e.status as 400);
    if (e instanceof ConfigTooLargeError) {
      return c.json({ error: e.message, limit_bytes: e.limit, size_bytes: e.bytes }, 413);
    }
    if (e instanceof RequestTooLargeError) {
      return c.json({
        error: `this write needs a ZooKeeper request of ${e.bytes} bytes, over the limit of ` +
          `${e.limit} bytes (ZooKeeper drops a connection over its 1 MB jute.maxbuffer); ` +
          "nothing was written",
        limit_bytes: e.limit,
        size_bytes: e.bytes,
      }, 413);
    }
    if (e instanceof InvalidStoredConfigError) {
      const invalid = await invalidity(repo, e.current);
      return c.json({
        error: `${e.message}; a change cannot be applied to it: ${invalid.hint}`,
        current_version: e.current.version,
        invalid,
      }, 409);
    }
    if (e instanceof VersionConflictError) {
      return c.json({
        error: "version conflict: someone else wrote first",
        current_version: e.currentVersion,
      }, 409);
    }
    if (e instanceof DependencyChangedError) {
      return c.json({ error: `${e.message}: read it again and retry` }, 409);
    }
    const noun = c.get("noun") ?? "group";
    if (e instanceof NodeExistsError) return c.json({ error: `the ${noun} already exists` }, 409);
    if (e instanceof NoNodeError) return c.json({ error: `no such ${noun}` }, 404);
    if (e instanceof NoAuthError) {
      return c.json(
        { error: "ZooKeeper refused: the admin role's credentials lack permission" },
        403,
      );
    }
    if (isTransient(e) || e instanceof StoreClosedError) {
      return c.json({ error: `ZooKeeper unavailable: ${e.message}` }, 503);
    }
    if (e instanceof StoreError) {
      log.error("admin API store error", { error: String(e) });
      return c.json({ error: `ZooKeeper refused the operation: ${e.message}` }, 500);
    }
    log.error("admin API error", { error: String(e), stack: (e as Error).stack });
    return c.json({ error: "internal error" }, 500);
  });

  app.use("/api/*", async (c, next) => {
    const token = bearer(c.req.header("authorization"));
    const who = token === null ? null : identify(options.tokens, token);
    if (who === null) {
      return c.json({ error: "a valid bearer token is required" }, 401, {
        "www-authenticate": 'Bearer realm="switchyard"',
      });
    }
    c.set("who", who);
    await next();
  });

  // After authentication (an anonymous client is refused without reading its body): a declared
  // Content-Length over the limit is refused up front, a chunked body is counted as it is read
  // and refused as soon as it passes the limit; nothing is parsed either way.
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: maxBody,
      onError: (c) => {
        log.warn("admin request refused: body too large", {
          by: c.get("who"),
          method: c.req.method,
          limit_bytes: maxBody,
        });
        return c.json({ error: bodyTooLargeMessage(maxBody), limit_bytes: maxBody }, 413, {
          connection: "close",
        });
      },
    }),
  );

  /**
   * Runs a whole write request (body parsing and preconditions included, so a refused write is
   * counted and logged too), counts it and logs who did what.
   */
  const audited = async (
    c: Context<Env>,
    action: string,
    run: (note: WriteNote) => Promise<Response>,
    noun = "group",
  ): Promise<Response> => {
    const who = c.get("who");
    const note: WriteNote = { action, group: c.req.param(noun) ?? "", noun };
    try {
      const response = await run(note);
      writes.labels(note.action, "ok").inc();
      log.info("admin write", {
        by: who,
        action: note.action,
        [note.noun]: note.group,
        ...(note.version === undefined ? {} : { version: note.version }),
        ...note.details,
      });
      return response;
    } catch (e) {
      const result = outcome(e);
      writes.labels(note.action, result).inc();
      log.warn("admin write refused", {
        by: who,
        action: note.action,
        [note.noun]: note.group,
        result,
        error: String(e),
      });
      throw e;
    }
  };

  /** The response to a successful write: the record and its version as ETag. */
  const written = (c: Context<Env>, note: WriteNote, r: GroupRecord, status: 200 | 201) => {
    note.version = r.version;
    return c.json(present(r, note.noun), status, { etag: `"${r.version}"` });
  };

  /**
   * The routes groups and listeners share: list, read, create or replace (PUT), delete, history,
   * one version, diff and rollback, each as the group routes always were. The collection says
   * where its configs live, how a write is validated and what a delete must check first.
   */
  const collectionRoutes = (col: Collection) => {
    const { kind } = col;
    const noun = kind.noun;
    const base = `/api/${kind.plural}`;
    const one = `${base}/:${noun}`;
    const label = (action: string) => `${col.actionPrefix}${action}`;
    const name = (c: Context<Env>) => nameParam(c, noun);
    const tag = async (c: Context<Env>, next: () => Promise<void>) => {
      c.set("noun", noun);
      await next();
    };
    app.use(base, tag);
    app.use(`${base}/*`, tag);

    app.get(base, async (c) =>
      c.json({
        [kind.plural]: (await col.repo.list()).map((x) => ({
          [noun]: x.group,
          version: x.version,
        })),
      }));

    app.get(one, async (c) => {
      const r = await col.repo.get(name(c));
      if (!r) throw new NoNodeError();
      const body = present(r, noun);
      if (r.problem !== null) body.invalid = await invalidity(col.repo, r);
      return c.json(body, 200, { etag: `"${r.version}"` });
    });

    app.put(one, (c) => {
      const conditional = c.req.header("if-match") !== undefined ||
        c.req.query("version") !== undefined;
      return audited(c, label(conditional ? "update" : "create"), async (note) => {
        const n = name(c);
        // an editor's "$schema" (schema/) is dropped: it is not config, and proxies never see it
        const config = withoutSchemaKey(await jsonBody(c));
        const version = expectedVersion(c);
        const who = c.get("who");
        if (version === undefined) {
          if (await col.repo.get(n)) {
            note.action = label("update");
            requireVersion(c);
          }
          note.action = label("create");
          const guards = await col.checked(n, config);
          return written(c, note, await col.repo.create(n, config, who, guards), 201);
        }
        note.action = label("update");
        const guards = await col.checked(n, config);
        return written(
          c,
          note,
          await col.repo.update(n, config, version, who, "update", guards),
          200,
        );
      }, noun);
    });

    app.delete(one, (c) =>
      audited(c, label("delete"), async () => {
        const n = name(c);
        const version = requireVersion(c);
        const guards = await col.beforeDelete(n);
        await col.repo.remove(n, version, c.get("who"), guards);
        return c.body(null, 204);
      }, noun));

    app.get(`${one}/history`, async (c) => {
      const n = name(c);
      return c.json({ [noun]: n, history: await col.repo.history(n) });
    });

    app.get(`${one}/history/:version`, async (c) => {
      const n = name(c);
      const v = versionNumber(c.req.param("version"));
      const entry = v === null ? null : await col.repo.historyVersion(n, v);
      if (!entry) {
        throw new ApiError(404, { error: `no version ${c.req.param("version")} in history` });
      }
      return c.json(entry);
    });

    app.get(`${one}/diff`, async (c) => {
      const n = name(c);
      const load = async (v: string) => {
        if (v === "current") {
          const r = await col.repo.get(n);
          if (!r) throw new NoNodeError();
          return { version: r.version, config: r.config };
        }
        const num = versionNumber(v);
        const e = num === null ? null : await col.repo.historyVersion(n, num);
        if (!e) throw new ApiError(404, { error: `no version ${v} in history` });
        return { version: e.version, config: e.config };
      };
      const fromParam = c.req.query("from");
      if (fromParam === undefined || fromParam === "") {
        throw new ApiError(400, { error: "from=<version> is required (to defaults to current)" });
      }
      const from = await load(fromParam);
      const to = await load(c.req.query("to") || "current");
      return c.json({
        [noun]: n,
        from: from.version,
        to: to.version,
        changes: diffJson(from.config, to.config),
      });
    });

    app.post(`${one}/rollback`, (c) =>
      audited(c, label("rollback"), async (note) => {
        const n = name(c);
        const body = parseBody(rollbackBody, await jsonBody(c));
        const entry = await col.repo.historyVersion(n, body.version);
        if (!entry) throw new ApiError(404, { error: `no version ${body.version} in history` });
        // validated again: for a listener, against the groups that exist today
        const guards = await col.checked(n, entry.config);
        const current = await col.repo.get(n);
        const who = c.get("who");
        // 200 also when it re-creates a deleted config (clients test for 200)
        if (!current) {
          return written(c, note, await col.repo.create(n, entry.config, who, guards), 200);
        }
        const expected = body.expected_version ?? expectedVersion(c) ?? current.version;
        const r = await col.repo.update(
          n,
          entry.config,
          expected,
          who,
          `rollback to ${body.version}`,
          guards,
        );
        return written(c, note, r, 200);
      }, noun));
  };

  collectionRoutes({
    kind: GROUP_CONFIGS,
    repo,
    actionPrefix: "",
    checked: (group, config) => {
      validated(group, config);
      return Promise.resolve([]);
    },
    beforeDelete: async (group) => {
      // a group a route still sends traffic to stays; the delete is conditioned on every
      // listener's version, so a route naming it cannot be written meanwhile
      const users: (GroupReference & { listener: string })[] = [];
      const guards: Op[] = [];
      for (const { group: listener } of await listeners.list()) {
        const r = await listeners.get(listener);
        if (!r) continue;
        guards.push({ op: "check", path: listeners.kind.path(listener), version: r.version });
        for (const ref of groupReferences(r.config)) {
          if (ref.group === group) users.push({ listener, ...ref });
        }
      }
      if (users.length > 0) {
        throw new ApiError(409, {
          error: `group ${group} is still used by ${
            users.map((u) => `listener ${u.listener} route ${u.route} (${u.field})`).join(", ")
          }: change those routes first`,
          used_by: users.map((u) => ({
            listener: u.listener,
            route: u.route,
            index: u.index,
            field: u.field,
          })),
        });
      }
      return guards;
    },
  });

  collectionRoutes({
    kind: LISTENER_CONFIGS,
    repo: listeners,
    actionPrefix: "listener-",
    checked: async (listener, config) => {
      // the groups as they are now; the write is conditioned on the versions read here, so a
      // group deleted meanwhile fails it (DependencyChangedError) instead of being named
      const groups = new Map((await repo.list()).map((g) => [g.group, g.version]));
      const r = validateListenerConfig(listener, config, new Set(groups.keys()));
      if (!r.ok) {
        throw new ApiError(422, {
          error: "invalid config",
          reason: formatRouteIssues(r.issues),
          issues: r.issues,
        });
      }
      const named = new Set(groupReferences(config).map((ref) => ref.group));
      return [...named].map((g) => ({
        op: "check" as const,
        path: repo.kind.path(g),
        version: groups.get(g)!,
      }));
    },
    beforeDelete: () => Promise.resolve([]),
  });
  app.post("/api/groups", (c) =>
    audited(c, "create", async (note) => {
      const body = parseBody(createBody, await jsonBody(c));
      note.group = body.group;
      if (!GROUP_NAME.test(body.group)) {
        // the schema's own issue for a bad name (field "", reason "group name must be ...")
        const r = validateGroupConfig(body.group, {});
        const issues = r.ok ? [] : r.issues;
        throw new ApiError(422, {
          error: "invalid group name",
          reason: formatIssues(issues),
          issues,
        });
      }
      const config = validated(body.group, withoutSchemaKey(body.config));
      return written(c, note, await repo.create(body.group, config, c.get("who")), 201);
    }));

  app.patch("/api/groups/:group", (c) =>
    audited(c, "patch", async (note) => {
      const group = groupParam(c);
      const patch = await jsonBody(c);
      if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
        throw new ApiError(400, { error: "a PATCH body is an object of top-level settings" });
      }
      const { after } = await repo.modify(
        group,
        (cfg) => {
          const next = { ...cfg };
          for (const [k, v] of Object.entries(patch)) {
            if (v === null) delete next[k];
            else next[k] = v;
          }
          validated(group, next);
          return next;
        },
        c.get("who"),
        "patch",
        expectedVersion(c),
      );
      return written(c, note, after, 200);
    }));

  const backendIndex = (list: unknown[], address: string): number => {
    const wanted = canonicalAddress(address);
    return list.findIndex((b) => {
      const a = typeof b === "string"
        ? b
        : typeof b === "object" && b !== null
        ? (b as { address?: unknown }).address
        : undefined;
      return typeof a === "string" && canonicalAddress(a) === wanted;
    });
  };

  /**
   * A write that changes the backend list: `change` gets a copy of the list
   * (and the group), the result is validated with the schema and written as
   * a delta (re-applied on a newer config unless a version was given).
   */
  const changeBackends = (
    c: Context<Env>,
    action: string,
    status: 200 | 201,
    change: (list: unknown[], group: string) => void,
  ) =>
    audited(c, action, async (note) => {
      const group = groupParam(c);
      const { after } = await repo.modify(
        group,
        (cfg) => {
          const list = Array.isArray(cfg.backend_servers) ? [...cfg.backend_servers] : [];
          change(list, group);
          const next = { ...cfg, backend_servers: list };
          validated(group, next);
          return next;
        },
        c.get("who"),
        action,
        expectedVersion(c),
      );
      return written(c, note, after, status);
    });

  /** Index of `:address` in the list (404 when absent); the router has already decoded it. */
  const indexOf = (c: Context<Env>, list: unknown[], group: string): number => {
    const address = c.req.param("address") ?? "";
    const i = backendIndex(list, address);
    if (i < 0) throw new ApiError(404, { error: `no backend ${address} in ${group}` });
    return i;
  };

  app.post("/api/groups/:group/backends", async (c) => {
    const body = await jsonBody(c).then((b) => parseBody(backendBody, b)).catch((e) => e);
    return changeBackends(c, "add-backend", 201, (list) => {
      if (body instanceof Error) throw body;
      list.push(
        body.weight === undefined && body.drain === undefined ? body.address : {
          address: body.address,
          ...(body.weight !== undefined ? { weight: body.weight } : {}),
          ...(body.drain === true ? { drain: true } : {}),
        },
      );
    });
  });

  app.delete(
    "/api/groups/:group/backends/:address",
    (c) =>
      changeBackends(c, "remove-backend", 200, (list, group) => {
        list.splice(indexOf(c, list, group), 1);
      }),
  );

  app.patch("/api/groups/:group/backends/:address", async (c) => {
    const body = await jsonBody(c).then((b) => parseBody(backendPatchBody, b)).catch((e) => e);
    return changeBackends(c, "reweight-backend", 200, (list, group) => {
      if (body instanceof Error) throw body;
      const i = indexOf(c, list, group);
      const cur = list[i];
      const next: Record<string, unknown> = typeof cur === "object" && cur !== null
        ? { ...cur }
        : { address: cur };
      if (body.weight !== undefined) next.weight = body.weight;
      if (body.drain === true) next.drain = true;
      else if (body.drain === false) delete next.drain;
      list[i] = next;
    });
  });

  // "Which route?": a read, so neither counted nor logged as a write
  app.post("/api/listeners/:listener/route-test", async (c) => {
    const listener = nameParam(c, "listener");
    const body = parseBody(routeTestBody, await jsonBody(c));
    const r = await listeners.get(listener);
    if (!r) throw new NoNodeError();
    const v = validateListenerConfig(listener, r.config);
    if (!v.ok) {
      const invalid = await invalidity(listeners, r);
      throw new ApiError(409, {
        error: `the stored config of ${listener} (version ${r.version}) is invalid: ` +
          `${invalid.reason}; ${invalid.hint}`,
        current_version: r.version,
        invalid,
      });
    }
    const request = body.headers === undefined
      ? { method: body.method, url: body.url }
      : { method: body.method, url: body.url, headers: body.headers };
    // the matching alone names the groups involved; only those are read
    const names = whichRoute(v.value, request, new Map()).groups.map((g) => g.group);
    const answer = whichRoute(v.value, request, await readGroupStates(repo, names));
    return c.json({ listener, version: r.version, ...answer }, 200, {
      "cache-control": "no-store",
    });
  });

  const ownAcl = repo.options.acl?.filter((e) => e.scheme === "digest") ?? [];
  certificateRoutes(app, {
    certs: options.certs ??
      new CertificateRepo(repo.store, { writerAcl: ownAcl.length > 0 ? ownAcl : null }),
    now: options.now ?? Date.now,
    audited,
  });

  app.get("/api/whoami", (c) => c.json({ name: c.get("who") }));

  return app;
}
