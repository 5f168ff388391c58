/**
 * A response the proxy makes itself (no route, a redirect, a direct
 * response, a limit), written to any client: counted, rendered, given the
 * TLS connection's extra fields (HSTS), timed for the route and logged, the
 * same for an HTTP/1.1 connection and an HTTP/2 stream.
 *
 * @module
 */
import type { RequestHead } from "../http1/head.ts";
import { withFieldsAfterStatusLine } from "../http1/status_line_fields.ts";
import type { ClientSide } from "./client_side.ts";
import type { Answer, ListenerContext } from "./context.ts";

/** Writes `a` for `req` to `client` (`keepAlive`: the connection stays open after it). */
export function writeAnswer(
  ctx: ListenerContext,
  client: Pick<ClientSide, "clientIp" | "tls" | "write">,
  req: RequestHead,
  a: Answer,
  keepAlive: boolean,
): void {
  const start = ctx.now();
  if (a.cause !== null) ctx.metrics.countError(a.cause, a.status, req.method);
  else ctx.metrics.countGenerated(req.method, a.status);
  const rendered = a.render(keepAlive, req.method === "HEAD");
  // a TLS connection's HSTS goes on the proxy's own responses too
  const tls = client.tls;
  const bytes = tls === null || tls.responseFields === ""
    ? rendered
    : withFieldsAfterStatusLine(rendered, tls.responseFields);
  client.write(bytes);
  const seconds = (ctx.now() - start) / 1000;
  a.route?.count(a.status, seconds);
  const log = ctx.accessLog;
  if (log && log.sample()) {
    const name = a.route?.name ?? null;
    let requestId = "";
    for (let i = 0; i < req.lower.length; i++) {
      if (req.lower[i] === "x-request-id") requestId = req.values[i]!;
    }
    log.record({
      timeMs: ctx.wallNow(),
      route: name === "none" ? null : name,
      group: null,
      backend: null,
      method: req.method,
      path: req.target,
      status: a.status,
      durationMs: seconds * 1000,
      upstreamMs: null,
      bytes: bytes.length,
      requestId,
      client: client.clientIp,
    });
  }
}
