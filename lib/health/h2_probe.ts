/**
 * The HTTP probe of a `protocol: "h2"` group (gRPC backends), over HTTP/2:
 * h2c with prior knowledge, or TLS with ALPN `h2` (the caller's TLS options
 * say so). A gRPC server answers an HTTP/1.1 GET badly (Node's grpc-js closes
 * the connection; a GET over HTTP/2 gets 415), so the probe is a gRPC call:
 * `POST <health_endpoint>` with `content-type: application/grpc` and one empty
 * message (an empty `grpc.health.v1.HealthCheckRequest`, so the standard
 * health service's `/grpc.health.v1.Health/Check` can be the endpoint).
 *
 * The rule ({@link judgeH2Probe}): the HTTP status must be the configured one
 * (200 by default, what every gRPC answer carries), and the `grpc-status`, if
 * any, OK (0) or UNIMPLEMENTED (12: the server is up but does not serve that
 * path); any other gRPC status (UNAVAILABLE from a draining server, ...) fails.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { H2ClientSession } from "../http2/client_session.ts";
import { tlsFailure } from "../tls/upstream_tls.ts";
import type { ProbeResult, ProbeTarget } from "./probe.ts";

/** gRPC statuses that show a live server: OK, and UNIMPLEMENTED (no such method here). */
const LIVE_GRPC_STATUS: ReadonlySet<string> = new Set(["0", "12"]);

const ALPN_H2 = ["h2"];

/** An empty gRPC message: uncompressed, length 0. */
const EMPTY_MESSAGE = new Uint8Array(5);

/**
 * Judges an HTTP/2 probe's answer (pure): the status, and the grpc-status
 * from the trailers or a trailers-only head (null when none came).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { judgeH2Probe } from "./h2_probe.ts";
 * assert.deepEqual(judgeH2Probe(200, "0", 200), { ok: true, error: null, status: 200 });
 * assert.equal(judgeH2Probe(200, "12", 200).ok, true);
 * assert.equal(judgeH2Probe(200, "14", 200).error, "grpc-status 14");
 * assert.equal(judgeH2Probe(415, null, 200).error, "status 415, expected 200");
 * ```
 */
export function judgeH2Probe(
  status: number,
  grpcStatus: string | null,
  expectedStatus: number,
): ProbeResult {
  if (status !== expectedStatus) {
    return { ok: false, error: `status ${status}, expected ${expectedStatus}`, status };
  }
  if (grpcStatus !== null && !LIVE_GRPC_STATUS.has(grpcStatus)) {
    return { ok: false, error: `grpc-status ${grpcStatus}`, status };
  }
  return { ok: true, error: null, status };
}

/**
 * Probes a target over HTTP/2 once (`type: "http"`; a `tcp` probe stays a
 * connect, with ALPN h2 over TLS). Always resolves.
 */
export function probeH2(target: ProbeTarget): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const secure = target.tls;
    const socket = secure === undefined
      ? net.connect({ host: target.host, port: target.port })
      : tls.connect({ host: target.host, port: target.port, ...secure, ALPNProtocols: ALPN_H2 });
    let status = 0;
    let grpcStatus: string | null = null;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: `timeout after ${target.timeoutMs} ms`, status: null }),
      target.timeoutMs,
    );
    const grpcOf = (names: string[], values: string[]) => {
      const i = names.indexOf("grpc-status");
      if (i >= 0) grpcStatus = values[i]!;
    };
    const session = new H2ClientSession({
      send: (bytes) => socket.write(bytes),
      response(_stream, s, names, values, end) {
        status = s;
        grpcOf(names, values);
        if (end) finish(judgeH2Probe(status, grpcStatus, target.expectedStatus));
      },
      data(stream, chunk, end) {
        session.consumed(stream, chunk.length); // read and dropped: keep the windows open
        if (end) finish(judgeH2Probe(status, grpcStatus, target.expectedStatus));
      },
      trailers(_stream, names, values) {
        grpcOf(names, values);
        finish(judgeH2Probe(status, grpcStatus, target.expectedStatus));
      },
      reset: (_stream, _code, reason) => finish({ ok: false, error: reason, status: null }),
      writable: () => {},
      closed: (e) => finish({ ok: false, error: e ? e.reason : "connection closed", status: null }),
    });
    socket.once(
      "error",
      (e: Error & { code?: string }) =>
        finish({
          ok: false,
          error: secure === undefined ? e.code ?? e.message : tlsFailure(e),
          status: null,
        }),
    );
    socket.once(secure === undefined ? "connect" : "secureConnect", () => {
      if (secure !== undefined && (socket as tls.TLSSocket).alpnProtocol !== "h2") {
        finish({ ok: false, error: "the backend did not select h2 by ALPN", status: null });
        return;
      }
      if (target.type === "tcp") {
        finish({ ok: true, error: null, status: null });
        return;
      }
      session.start();
      const host = target.host.includes(":") ? `[${target.host}]` : target.host;
      const id = session.open(
        [":method", ":scheme", ":path", ":authority", "content-type", "te", "user-agent"],
        [
          "POST",
          secure === undefined ? "http" : "https",
          target.path,
          `${host}:${target.port}`,
          "application/grpc",
          "trailers",
          "switchyard-health/1",
        ],
        false,
      );
      session.sendData(id, EMPTY_MESSAGE, true);
    });
    socket.on("data", (chunk: Uint8Array) => session.receive(chunk));
    socket.once("end", () => finish({ ok: false, error: "connection closed", status: null }));
  });
}
