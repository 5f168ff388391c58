/**
 * Request mirroring: a copy of a routed request goes to the route's mirror
 * group, and its answer is read and dropped. Fire and forget: nothing the
 * mirror does (slow, failing, gone) reaches the client, which has its own
 * exchange. Only requests without a body are copied (a body streams once, to
 * the primary backend); the others are counted as skipped.
 *
 * @module
 */
import { HOP_BY_HOP } from "../http1/syntax.ts";
import type { RequestHead } from "../http1/head.ts";
import { BackendLease } from "../group/backend_lease.ts";
import type { GroupRuntimeCore } from "./group_runtime_core.ts";
import { forwardWebRequest } from "./http_client.ts";
import { pickContext } from "./pick_context.ts";
import type { RouteLane } from "./route_lane.ts";

/** The largest response head accepted from a mirror backend. */
const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;

/**
 * Sends a copy of `head` (already rewritten for the route), with the same
 * request id, to a backend of `runtime`'s group, counting the outcome on `lane`.
 */
export function sendMirror(
  runtime: GroupRuntimeCore,
  head: RequestHead,
  clientIp: string,
  requestId: string,
  lane: RouteLane,
): void {
  const snap = runtime.state.snapshot;
  if (snap === null || head.contentLength > 0 || head.chunked || head.upgrade !== null) {
    lane.countMirrored("skipped");
    return;
  }
  const index = snap.selector.pick(pickContext(snap.config, head, clientIp, null));
  if (index < 0) {
    lane.countMirrored("skipped");
    return;
  }
  const backend = snap.backends[index]!;
  const headers = new Headers();
  for (let i = 0; i < head.lower.length; i++) {
    const name = head.lower[i]!;
    if (name !== "host" && name !== "x-request-id" && !HOP_BY_HOP.has(name)) {
      headers.append(name, head.values[i]!);
    }
  }
  headers.set("x-request-id", requestId);
  let request: Request;
  try {
    request = new Request(`http://${head.host ?? backend.address}${head.target}`, {
      method: head.method,
      headers,
    });
  } catch {
    lane.countMirrored("skipped"); // a target or header the URL/Headers parser refuses
    return;
  }
  const lease = new BackendLease(backend, runtime.state);
  forwardWebRequest(request, {
    pool: runtime.pool(backend),
    connectTimeoutMs: snap.config.connect_timeout_seconds * 1000,
    responseTimeoutMs: snap.config.response_timeout_seconds * 1000,
    clientIp,
    target: head.target,
    maxResponseHeaderBytes: MAX_RESPONSE_HEAD_BYTES,
    now: runtime.now,
  }).then(
    async (res) => {
      lane.countMirrored("sent");
      try {
        await res.body?.cancel();
      } finally {
        lease.release();
      }
    },
    () => {
      lane.countMirrored("failed");
      lease.release();
    },
  );
}
