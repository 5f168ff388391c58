/**
 * The runtime adapter: serves a web-standard fetch handler (a Hono app's
 * `fetch`) under Deno or Bun, with the client address available, and stops
 * gracefully. The only place besides `signals.ts` that touches `Deno.*` or
 * `Bun.*`.
 *
 * @module
 */
import { listenError } from "./listen.ts";

/** Connection facts passed to the handler (Hono's `env`). */
export interface ServeEnv {
  /** The client's IP address. */
  readonly remoteAddr: string;
}

/** A fetch handler as Hono's `app.fetch` has it. */
export type FetchHandler = (request: Request, env: ServeEnv) => Response | Promise<Response>;

/** A running server. */
export interface ServeHandle {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting and waits for in-flight requests to finish. */
  shutdown(): Promise<void>;
}

/** Which runtime this process is. */
export type RuntimeName = "deno" | "bun" | "node";

interface BunServer {
  readonly port: number;
  requestIP(req: Request): { address: string } | null;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
interface BunGlobal {
  serve(options: {
    hostname: string;
    port: number;
    idleTimeout?: number;
    fetch(req: Request, server: BunServer): Response | Promise<Response>;
  }): BunServer;
  readonly version: string;
}
interface DenoServer {
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}
interface DenoGlobal {
  serve(
    options: {
      hostname: string;
      port: number;
      onListen?: (addr: { hostname: string; port: number }) => void;
    },
    handler: (
      req: Request,
      info: { remoteAddr: { hostname: string } },
    ) => Response | Promise<Response>,
  ): DenoServer;
  readonly version: { readonly deno: string };
}

const g = globalThis as unknown as { Bun?: BunGlobal; Deno?: DenoGlobal };

/** The runtime running this code. */
export function runtimeName(): RuntimeName {
  if (g.Bun) return "bun";
  if (g.Deno) return "deno";
  return "node";
}

/** The runtime's name and version, e.g. `bun 1.4.4`. */
export function runtimeVersion(): string {
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return "node";
}

/**
 * Serves `handler` on `hostname:port` (port 0 picks a free one). Rejects with
 * a `ListenError` (`listen 127.0.0.1:9090: address already in use`) when the
 * port cannot be opened, under either runtime.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * const app = new Hono();
 * app.get("/healthz", (c) => c.text("ok"));
 * const server = await serve(app.fetch, { hostname: "127.0.0.1", port: 9090 });
 * await server.shutdown();
 * ```
 */
export function serve(
  handler: FetchHandler,
  options: { hostname: string; port: number },
): Promise<ServeHandle> {
  const { hostname } = options;
  if (g.Bun) {
    const bun = g.Bun;
    let server: BunServer;
    try {
      // Bun.serve throws at once when it cannot listen
      server = bun.serve({
        hostname,
        port: options.port,
        idleTimeout: 0,
        fetch(req, srv) {
          return handler(req, { remoteAddr: srv.requestIP(req)?.address ?? "unknown" });
        },
      });
    } catch (e) {
      return Promise.reject(listenError(hostname, options.port, e));
    }
    return Promise.resolve({
      hostname,
      port: server.port,
      shutdown: async () => {
        await server.stop(false);
      },
    });
  }
  if (g.Deno) {
    const deno = g.Deno;
    return new Promise((resolve, reject) => {
      try {
        // Deno.serve throws at once when it cannot listen
        const server = deno.serve({
          hostname,
          port: options.port,
          onListen: (addr) => {
            resolve({
              hostname,
              port: addr.port,
              shutdown: async () => {
                await server.shutdown();
              },
            });
          },
        }, (req, info) => handler(req, { remoteAddr: info.remoteAddr.hostname }));
      } catch (e) {
        reject(listenError(hostname, options.port, e));
      }
    });
  }
  return Promise.reject(new Error("serve() needs Deno or Bun"));
}

/**
 * A handler that answers 503 `starting` until {@link DeferredHandler.set}
 * gives it the real one. A role binds its port with it first, so that a
 * taken port is reported at once, and builds its app once what the app
 * needs (a ZooKeeper session) is there.
 */
export interface DeferredHandler {
  readonly handler: FetchHandler;
  set(handler: FetchHandler): void;
}

/**
 * A {@link DeferredHandler}.
 *
 * @example
 * ```ts ignore
 * const deferred = deferredHandler();
 * const server = await serve(deferred.handler, { hostname: "127.0.0.1", port: 9190 });
 * const store = await connectStore(connect); // may take a while
 * deferred.set(adminApp(store).fetch);
 * ```
 */
export function deferredHandler(): DeferredHandler {
  let real: FetchHandler | null = null;
  return {
    handler: (request, env) =>
      real ? real(request, env) : new Response("starting\n", { status: 503 }),
    set(handler) {
      real = handler;
    },
  };
}
