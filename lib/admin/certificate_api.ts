/**
 * The admin API's TLS certificate routes (`/api/certs`): list, read (metadata and the chain,
 * never the key), create or replace (PUT, If-Match like configs), delete. A write is checked
 * before anything is stored: the body's shape, the pair (the key belongs to the leaf) and the
 * leaf's validity now: 422 names the field and the reason (an expired certificate: its notAfter).
 * The private key is only ever in the request body and the znode: no answer, log line or error
 * carries it.
 *
 * Mounted by {@linkcode adminApi} (api.ts), behind its authentication, body limit and error
 * handler; writes go through its `audited` (counted as `cert-create`, `cert-update`,
 * `cert-delete`, logged with the fingerprint, names and notAfter).
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { NoNodeError } from "../store/types.ts";
import { checkCertificateValue, daysLeft, validityProblem } from "../tls/stored_certificate.ts";
import {
  ApiError,
  type Audited,
  type Env,
  expectedVersion,
  jsonBody,
  nameParam,
  requireVersion,
} from "./api_request.ts";
import type { CertificateRecord, CertificateRepo } from "./certificate_repo.ts";

/** What the certificate routes need from the app. */
export interface CertificateRouteDeps {
  readonly certs: CertificateRepo;
  /** The clock expiry is checked against, ms since the epoch. */
  readonly now: () => number;
  readonly audited: Audited;
}

const NOUN = "certificate";

/**
 * A certificate as the API (and the console, and `ctl certs`) shows it: metadata only, never the
 * key; `valid: false` with `invalid: {field, reason}` for a node written around the API that does
 * not hold a usable pair.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presentCertificate } from "./certificate_api.ts";
 * const at = Date.UTC(2026, 0, 1);
 * const shown = presentCertificate({
 *   name: "shop", version: 2, modifiedAt: "2026-01-01T00:00:00.000Z", cert: "PEM", problem: null,
 *   facts: { subject: "CN=shop", issuer: "CN=ca", names: ["shop.example.com"], notBeforeMs: at,
 *     notAfterMs: at + 10 * 86_400_000, fingerprint256: "AA", chainLength: 2 },
 * }, at);
 * assert.equal(shown.days_left, 10);
 * assert.equal(shown.not_after, "2026-01-11T00:00:00.000Z");
 * assert.equal("cert" in shown || "key" in shown, false);
 * ```
 */
export function presentCertificate(r: CertificateRecord, nowMs: number): Record<string, unknown> {
  const base = { name: r.name, version: r.version, modified_at: r.modifiedAt };
  const f = r.facts;
  if (f === null) {
    return {
      ...base,
      valid: false,
      invalid: { field: r.problem?.field ?? "", reason: r.problem?.reason ?? "not a certificate" },
    };
  }
  return {
    ...base,
    valid: true,
    names: f.names,
    subject: f.subject,
    issuer: f.issuer,
    not_before: new Date(f.notBeforeMs).toISOString(),
    not_after: new Date(f.notAfterMs).toISOString(),
    days_left: daysLeft(f.notAfterMs, nowMs),
    fingerprint256: f.fingerprint256,
    chain_length: f.chainLength,
  };
}

function invalidCertificate(field: string, reason: string, extra: Record<string, unknown> = {}) {
  return new ApiError(422, {
    error: "invalid certificate",
    reason: field === "" ? reason : `${field}: ${reason}`,
    issues: [{ field, reason }],
    ...extra,
  });
}

/**
 * Adds the certificate routes to the API app.
 *
 * @example
 * ```ts ignore
 * certificateRoutes(app, { certs, now: Date.now, audited });
 * ```
 */
export function certificateRoutes(app: Hono<Env>, deps: CertificateRouteDeps): void {
  const { certs, now, audited } = deps;
  const tag = async (c: Context<Env>, next: () => Promise<void>) => {
    c.set("noun", NOUN);
    await next();
  };
  app.use("/api/certs", tag);
  app.use("/api/certs/*", tag);
  const name = (c: Context<Env>) => nameParam(c, NOUN);

  app.get("/api/certs", async (c) => {
    const at = now();
    return c.json({ certs: (await certs.list()).map((r) => presentCertificate(r, at)) });
  });

  app.get("/api/certs/:certificate", async (c) => {
    const r = await certs.get(name(c));
    if (!r) throw new NoNodeError();
    // the chain (public) beside the metadata; the key stays in ZooKeeper
    return c.json({ ...presentCertificate(r, now()), cert: r.cert }, 200, {
      etag: `"${r.version}"`,
    });
  });

  app.put("/api/certs/:certificate", (c) => {
    const conditional = c.req.header("if-match") !== undefined ||
      c.req.query("version") !== undefined;
    return audited(c, conditional ? "cert-update" : "cert-create", async (note) => {
      const n = name(c);
      const version = expectedVersion(c);
      if (version === undefined && await certs.get(n)) {
        note.action = "cert-update";
        requireVersion(c);
      }
      const check = checkCertificateValue(await jsonBody(c));
      if (!check.ok) throw invalidCertificate(check.field, check.reason);
      const notAfter = new Date(check.facts.notAfterMs).toISOString();
      const expiry = validityProblem(check.facts, now());
      if (expiry !== null) {
        throw invalidCertificate("cert", expiry, {
          not_before: new Date(check.facts.notBeforeMs).toISOString(),
          not_after: notAfter,
        });
      }
      note.details = {
        fingerprint256: check.facts.fingerprint256,
        names: check.facts.names,
        not_after: notAfter,
      };
      const r = await certs.put(n, { cert: check.cert, key: check.key }, version);
      note.version = r.version;
      return c.json(presentCertificate(r, now()), version === undefined ? 201 : 200, {
        etag: `"${r.version}"`,
      });
    }, NOUN);
  });

  app.delete("/api/certs/:certificate", (c) =>
    audited(c, "cert-delete", async () => {
      const n = name(c);
      await certs.remove(n, requireVersion(c));
      return c.body(null, 204);
    }, NOUN));
}
