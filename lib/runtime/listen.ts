/**
 * A listener that could not be opened: one error type and one message for
 * every role and both runtimes, `listen 127.0.0.1:8080: address already in
 * use`, whatever Deno (`AddrInUse: Address already in use (os error 98)`),
 * Bun (`Failed to start server. Is port 8080 in use?`) or `node:net` said.
 * Roles turn it into exit status 1 at once (`listenOrExit` in
 * `lib/cli/role.ts`): a process that cannot take its port must not linger.
 *
 * @module
 */
import type net from "node:net";

/** Why a listen failed, in words, by the error code both runtimes set. */
const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this host",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTFOUND: "host name not found",
  EAI_NONAME: "host name not found",
  EINVAL: "invalid address",
};

/** Deno's error class names for the same failures (its `serve` errors carry them as `name`). */
const DENO_NAMES: Readonly<Record<string, string>> = {
  AddrInUse: "EADDRINUSE",
  AddrNotAvailable: "EADDRNOTAVAIL",
  PermissionDenied: "EACCES",
};

/** A listener could not be opened on {@link address}. */
export class ListenError extends Error {
  override readonly name = "ListenError";

  /**
   * @param address `host:port` as asked for (IPv6 in brackets)
   * @param reason what went wrong, in words
   * @param code the system error code (`EADDRINUSE`...), when known
   */
  constructor(
    readonly address: string,
    readonly reason: string,
    readonly code: string | null,
    options?: { cause?: unknown },
  ) {
    super(`listen ${address}: ${reason}`, options);
  }
}

/** `host:port`, with an IPv6 host in brackets. */
export function listenAddress(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * The {@link ListenError} for a runtime's listen failure `e` on `host:port`
 * (pure: reads only `e`'s `code`, `name` and `message`).
 *
 * @example
 * ```ts
 * import { listenError } from "./listen.ts";
 * const e = Object.assign(new Error("Failed to start server. Is port 8080 in use?"),
 *   { code: "EADDRINUSE" });
 * console.log(listenError("127.0.0.1", 8080, e).message);
 * // listen 127.0.0.1:8080: address already in use
 * ```
 */
export function listenError(host: string, port: number, e: unknown): ListenError {
  if (e instanceof ListenError) return e;
  const err = (typeof e === "object" && e !== null ? e : {}) as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
  };
  const code = typeof err.code === "string"
    ? err.code
    : typeof err.name === "string"
    ? DENO_NAMES[err.name] ?? null
    : null;
  const message = typeof err.message === "string" ? err.message : String(e);
  const reason = (code !== null ? REASONS[code] : undefined) ?? (message || "unknown error");
  return new ListenError(listenAddress(host, port), reason, code, { cause: e });
}

/**
 * Starts a `node:net` server listening and resolves with the bound port;
 * rejects with a {@link ListenError}, leaving the server closed, when it
 * cannot listen. Nothing else should be started (timers, watches) before
 * this resolves, or a failed listen would keep the process alive.
 */
export function listenNet(
  server: net.Server,
  options: net.ListenOptions & { host: string; port: number },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (e: unknown) => {
      server.close();
      reject(listenError(options.host, options.port, e));
    };
    server.once("error", failed);
    server.listen(options, () => {
      server.off("error", failed);
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : options.port);
    });
  });
}
