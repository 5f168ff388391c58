/**
 * TLS certificates in the coordination store: `/switchyard/certs/<name>` holds
 * `{"cert": "<PEM chain>", "key": "<PEM key>"}` (see lib/tls/stored_certificate.ts).
 *
 * Unlike group configs there is no history node: a history would keep old private keys around in
 * more nodes. The admin API's audit log records who wrote which certificate (fingerprint, names,
 * notAfter) instead.
 *
 * ACLs: a certificate node gets the ACL of `/switchyard/certs` (which `ctl zk-init` sets: admin
 * writes, proxies read, no world read), minus any world entry, plus this writer's own full rights.
 * So the admin role needs no flag naming the proxies' identity, and a root created without
 * zk-init (or with an open ACL by someone else) never makes a key world-readable: until zk-init
 * runs, only the admin identity can read it. Without credentials (a store without ACLs) nodes are
 * open like every other node.
 *
 * Writes are conditioned on the znode version like configs (VersionConflictError when stale,
 * NodeExistsError when creating over an existing one). Records never carry the private key.
 *
 * @module
 */
import { ALL_PERMS } from "../store/acl.ts";
import { certPath, CERTS_ROOT } from "../store/layout.ts";
import {
  type AclEntry,
  type CoordinationStore,
  type NodeData,
  NoNodeError,
  VersionConflictError,
} from "../store/types.ts";
import type { CertificateFacts } from "../tls/certificate_pair.ts";
import {
  type CertificatePem,
  type CertificateProblem,
  checkStoredCertificate,
  encodeStoredCertificate,
} from "../tls/stored_certificate.ts";

/** A stored certificate as the admin role shows it: never the key. */
export interface CertificateRecord {
  readonly name: string;
  /** The znode version (what writers send back to replace or delete it). */
  readonly version: number;
  readonly modifiedAt: string;
  /** The PEM chain, or null when the node does not hold a valid pair. */
  readonly cert: string | null;
  /** What the leaf says, or null when the node does not hold a valid pair. */
  readonly facts: CertificateFacts | null;
  /** Why the node is not a valid pair (written around the API), or null. */
  readonly problem: CertificateProblem | null;
}

const decoder = new TextDecoder();

function record(name: string, node: NodeData): CertificateRecord {
  const check = checkStoredCertificate(decoder.decode(node.data));
  const base = {
    name,
    version: node.version,
    modifiedAt: new Date(node.stat.mtimeMs).toISOString(),
  };
  return check.ok
    ? { ...base, cert: check.cert, facts: check.facts, problem: null }
    : { ...base, cert: null, facts: null, problem: check };
}

/**
 * The certificates under `/switchyard/certs`.
 *
 * @example
 * ```ts ignore
 * const certs = new CertificateRepo(store, { writerAcl: [digestAcl("admin:pw")] });
 * const r = await certs.put("shop", { cert, key }, undefined);
 * await certs.remove("shop", r.version);
 * ```
 */
export class CertificateRepo {
  constructor(
    readonly store: CoordinationStore,
    readonly options: {
      /**
       * The writer's own entry (its digest, all rights), or null for a store without ACLs. Used
       * for `/switchyard/certs` when it must be created, and added to every certificate's ACL.
       */
      readonly writerAcl: readonly AclEntry[] | null;
    },
  ) {}

  /** The certificates, sorted by name (a node deleted meanwhile is left out). */
  async list(): Promise<CertificateRecord[]> {
    let names: string[];
    try {
      names = await this.store.children(CERTS_ROOT);
    } catch (e) {
      if (e instanceof NoNodeError) return [];
      throw e;
    }
    const out: CertificateRecord[] = [];
    for (const name of names.sort()) {
      const node = await this.store.get(certPath(name));
      if (node) out.push(record(name, node));
    }
    return out;
  }

  /** One certificate, or null when absent. */
  async get(name: string): Promise<CertificateRecord | null> {
    const node = await this.store.get(certPath(name));
    return node ? record(name, node) : null;
  }

  /**
   * The ACL of a new certificate: the root's (created admin-only when missing) without world
   * entries, with the writer's own rights; undefined (open) without credentials.
   */
  async #acl(): Promise<AclEntry[] | undefined> {
    const own = this.options.writerAcl;
    if (own === null) {
      await this.store.ensurePath(CERTS_ROOT);
      return undefined;
    }
    await this.store.ensurePath(CERTS_ROOT, own);
    const { acl } = await this.store.getAcl(CERTS_ROOT);
    const out = acl.filter((e) => e.scheme !== "world");
    for (const entry of own) {
      const i = out.findIndex((e) => e.scheme === entry.scheme && e.id === entry.id);
      if (i >= 0) out[i] = { ...out[i]!, perms: ALL_PERMS };
      else out.push(entry);
    }
    return out;
  }

  /**
   * Creates (`expectedVersion` undefined: NodeExistsError when it exists) or replaces (at
   * `expectedVersion`: VersionConflictError when stale, NoNodeError when absent) a certificate.
   * The caller has checked the pair.
   */
  async put(
    name: string,
    pair: CertificatePem,
    expectedVersion: number | undefined,
  ): Promise<CertificateRecord> {
    const data = encodeStoredCertificate(pair);
    const path = certPath(name);
    if (expectedVersion === undefined) {
      const acl = await this.#acl();
      await this.store.create(path, data, acl ? { acl } : {});
    } else {
      try {
        await this.store.set(path, data, expectedVersion);
      } catch (e) {
        if (e instanceof VersionConflictError) throw await this.#conflict(name, expectedVersion);
        throw e;
      }
    }
    const r = await this.get(name);
    if (!r) throw new NoNodeError(path); // deleted right after the write
    return r;
  }

  /** Deletes a certificate if it is still at `expectedVersion`. */
  async remove(name: string, expectedVersion: number): Promise<void> {
    try {
      await this.store.delete(certPath(name), expectedVersion);
    } catch (e) {
      if (e instanceof VersionConflictError) throw await this.#conflict(name, expectedVersion);
      throw e;
    }
  }

  /** The conflict to report: with the version now stored. */
  async #conflict(name: string, expected: number): Promise<VersionConflictError> {
    const now = await this.store.exists(certPath(name)).catch(() => null);
    return new VersionConflictError(certPath(name), expected, now?.version ?? null);
  }
}
