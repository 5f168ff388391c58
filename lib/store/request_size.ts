/**
 * How large a request the stores send. A ZooKeeper server reads at most `jute.maxbuffer` bytes
 * (default 0xfffff, 1,048,575) per request packet; a larger one is not refused with an error
 * code: the server drops the connection, every pending operation of the session fails with a
 * connection loss and the client reconnects (measured on ZooKeeper 3.8). So the stores measure a
 * write before sending it and refuse it locally with `RequestTooLargeError` instead: an oversized
 * write never costs the session its connection, in any role.
 *
 * The estimate is an upper bound of the serialized request (jute encoding: every string and
 * buffer is a 4-byte length plus its bytes, ints are 4 bytes), so a request it accepts fits.
 *
 * @module
 */
import type { AclEntry, Op } from "./types.ts";

/** ZooKeeper's default `jute.maxbuffer`: the largest request packet a server reads. */
export const ZOOKEEPER_MAX_PACKET_BYTES = 0xfffff;

/**
 * The largest request (all ops of a transaction together) a store sends: `jute.maxbuffer` less a
 * margin for the request header, a chroot prepended to each path and the estimate's slack.
 */
export const MAX_REQUEST_BYTES = 1_000_000;

const enc = new TextEncoder();

/** Per-op overhead: the multi header (type, done, err), create flags or version, lengths. */
const OP_OVERHEAD = 32;
/** Request header (xid, type) and the closing multi header. */
const REQUEST_OVERHEAD = 32;

function aclBytes(acl: readonly AclEntry[] | undefined): number {
  // default ACL (world:anyone) when none is given
  const list = acl ?? [{ scheme: "world", id: "anyone", perms: [] }];
  let n = 4;
  for (const entry of list) n += 12 + enc.encode(entry.scheme).length + enc.encode(entry.id).length;
  return n;
}

/**
 * An upper bound of the bytes `ops` take on the wire as one request.
 *
 * @example
 * ```ts
 * import { requestBytes } from "./request_size.ts";
 * requestBytes([{ op: "set", path: "/a", data: new Uint8Array(10) }]); // 76
 * ```
 */
export function requestBytes(ops: readonly Op[]): number {
  let n = REQUEST_OVERHEAD;
  for (const op of ops) {
    n += OP_OVERHEAD + enc.encode(op.path).length;
    if (op.op === "create") n += (op.data?.length ?? 0) + aclBytes(op.acl);
    else if (op.op === "set") n += op.data.length;
  }
  return n;
}

/**
 * Whether `ops` fit in one request, as a refusal message (null when they fit).
 *
 * @param ops the ops of one request
 * @param limit the largest request, default {@linkcode MAX_REQUEST_BYTES}
 */
export function requestTooLarge(
  ops: readonly Op[],
  limit: number = MAX_REQUEST_BYTES,
): { bytes: number; limit: number } | null {
  const bytes = requestBytes(ops);
  return bytes > limit ? { bytes, limit } : null;
}
