/**
 * Active health probes (I/O): an HTTP GET of the group's health endpoint on a
 * fresh connection, expecting the configured status; or a bare TCP connect.
 * Each probe has a timeout and always resolves (never throws).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import tls from "node:tls";
import { parseResponseHead } from "../http1/head.ts";
import { probeH2 } from "./h2_probe.ts";
import { type TlsConnectOptions, tlsFailure } from "../tls/upstream_tls.ts";

/** What to probe and how. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly type: "http" | "tcp";
  /** HTTP path, e.g. `/health`. */
  readonly path: string;
  readonly expectedStatus: number;
  readonly timeoutMs: number;
  /**
   * Probe over TLS with the group's upstream settings (absent: plain TCP):
   * a failed handshake or verification fails the probe, and for `tcp` a
   * completed handshake passes it.
   */
  readonly tls?: TlsConnectOptions;
  /**
   * The group speaks HTTP/2 (`protocol: "h2"`): probe over HTTP/2 with a
   * gRPC call (see h2_probe.ts), TLS with ALPN `h2`.
   */
  readonly h2?: boolean;
}

/** A probe's outcome. */
export interface ProbeResult {
  readonly ok: boolean;
  /** Why it failed (null on success). */
  readonly error: string | null;
  /** HTTP status received, if any. */
  readonly status: number | null;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const MAX_HEAD = 64 * 1024;

/**
 * Probes a target once.
 *
 * @example
 * ```ts ignore
 * const r = await probe({ host: "127.0.0.1", port: 9001, type: "http", path: "/health",
 *   expectedStatus: 200, timeoutMs: 2000 });
 * ```
 */
export function probe(target: ProbeTarget): Promise<ProbeResult> {
  if (target.h2 === true) return probeH2(target);
  return new Promise((resolve) => {
    let done = false;
    let buf: Buffer | null = null;
    const secure = target.tls;
    const socket = secure === undefined
      ? net.connect({ host: target.host, port: target.port })
      : tls.connect({ host: target.host, port: target.port, ...secure });
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // An RST instead of a FIN: thousands of probes a second must not pile up TIME_WAIT sockets.
      const s = socket as net.Socket & { resetAndDestroy?: () => void };
      if (typeof s.resetAndDestroy === "function" && !socket.destroyed && !socket.connecting) {
        s.resetAndDestroy();
      } else socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: `timeout after ${target.timeoutMs} ms`, status: null }),
      target.timeoutMs,
    );
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
      if (target.type === "tcp") {
        finish({ ok: true, error: null, status: null });
        return;
      }
      const host = target.host.includes(":") ? `[${target.host}]` : target.host;
      socket.write(
        `GET ${target.path} HTTP/1.1\r\nhost: ${host}:${target.port}\r\n` +
          "user-agent: switchyard-health/1\r\naccept: */*\r\nconnection: close\r\n\r\n",
      );
    });
    socket.on("data", (chunk: Buffer) => {
      buf = buf === null ? chunk : Buffer.concat([buf, chunk]);
      // one chunk may hold interim 1xx heads and the final one: judge each in turn
      while (!done) {
        const idx = buf.indexOf(CRLFCRLF);
        if (idx < 0) {
          if (buf.length > MAX_HEAD) {
            finish({ ok: false, error: "response head too large", status: null });
          }
          return;
        }
        const head = parseResponseHead(buf.toString("latin1", 0, idx), 200);
        if ("error" in head) {
          finish({ ok: false, error: `invalid response: ${head.reason}`, status: null });
          return;
        }
        if (head.status < 200) {
          buf = buf.subarray(idx + 4);
          continue;
        }
        const ok = head.status === target.expectedStatus;
        finish({
          ok,
          error: ok ? null : `status ${head.status}, expected ${target.expectedStatus}`,
          status: head.status,
        });
      }
    });
    socket.once("end", () => finish({ ok: false, error: "connection closed", status: null }));
  });
}
