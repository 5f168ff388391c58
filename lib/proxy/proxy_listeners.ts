/**
 * The sockets one proxy process serves on, shared by both kinds of proxy
 * ({@link ProxyInstance} for `--group`, {@link ListenerInstance} for
 * `--listener`): the plain listener, the optional TLS listener beside it
 * (`--tls-listen`) with its certificate watch, and the admin listener. They
 * start in that order and stop in the reverse one, and a failed start stops
 * what had started, so a proxy that cannot bind leaves nothing behind.
 *
 * @module
 */
import { type FetchHandler, serve, type ServeHandle } from "../runtime/serve.ts";
import type { ProxyServer } from "./server.ts";
import type { TlsTermination } from "./tls_termination.ts";

/** A host and port to listen on. */
export interface ListenAt {
  readonly host: string;
  readonly port: number;
}

/** The ports bound (the TLS one null without `--tls-listen`). */
export interface BoundPorts {
  readonly port: number;
  readonly adminPort: number;
  readonly tlsPort: number | null;
}

/** Listeners and their order of start and stop. */
export class ProxyListeners {
  #admin: ServeHandle | null = null;
  #listen = "";
  #tlsListen = "";

  constructor(
    private readonly server: ProxyServer,
    private readonly tls: TlsTermination | null,
    private readonly tlsAt: ListenAt | null,
  ) {}

  /** `host:port` of the plain listener (after {@link start}). */
  get listenAddress(): string {
    return this.#listen;
  }

  /** `host:port` of the TLS listener, or "" without one. */
  get tlsListenAddress(): string {
    return this.#tlsListen;
  }

  /**
   * Binds the plain listener, then the TLS one (and starts watching its
   * certificates), then the admin app that `adminFetch` builds once the
   * addresses are known. On any failure, `stop` runs and the error is thrown.
   */
  async start(
    listen: ListenAt,
    adminListen: ListenAt,
    adminFetch: () => FetchHandler,
    stop: () => Promise<void>,
  ): Promise<BoundPorts> {
    try {
      const bound = await this.server.listen(listen.host, listen.port);
      this.#listen = `${listen.host}:${bound.port}`;
      let tlsPort: number | null = null;
      if (this.tls !== null && this.tlsAt) {
        tlsPort = (await this.server.listenTls(this.tlsAt.host, this.tlsAt.port)).port;
        this.#tlsListen = `${this.tlsAt.host}:${tlsPort}`;
        this.tls.watch();
      }
      this.#admin = await serve(adminFetch(), {
        hostname: adminListen.host,
        port: adminListen.port,
      });
      return { port: bound.port, adminPort: this.#admin.port, tlsPort };
    } catch (e) {
      await stop();
      throw e;
    }
  }

  /** Stops watching certificates, drains the proxy listeners, then runs `between` and closes admin. */
  async shutdown(drainMs: number, between: () => void): Promise<void> {
    this.tls?.stop();
    await this.server.shutdown(drainMs);
    between();
    await this.#admin?.shutdown();
  }
}
