/**
 * The admin console: a web page, served by the admin role on its API
 * listener, where an operator sees the whole system live (groups, backends,
 * proxies, orchestrator, DNS, connections, charts) and changes it through
 * the API (validated in the browser with the same zod schema, diff before
 * save, If-Match, conflicts shown, history and rollback).
 *
 * `startConsole()` is all the admin role calls: it starts the watches and
 * the fleet scraper, loads (or builds) the browser bundle in the
 * background, and returns the routes to mount before the API.
 *
 * @module
 */
import type { Hono } from "hono";
import type { Logger } from "../../log.ts";
import { Counter, Gauge, type Registry } from "../../metrics/registry.ts";
import type { CoordinationStore } from "../../store/types.ts";
import type { AdminToken } from "../tokens.ts";
import { type ConsoleBundle, loadConsoleBundle } from "./bundle.ts";
import type { DnsProvider } from "./dns.ts";
import { ConsoleHub } from "./hub.ts";
import { consoleRoutes } from "./routes.ts";
import type { ScraperOptions } from "./scraper.ts";

export type { DnsProvider, DnsReading } from "./dns.ts";
export type * from "./model.ts";
export { ConsoleHub } from "./hub.ts";
export { consoleRoutes } from "./routes.ts";

/** Options of {@link startConsole}. */
export interface ConsoleOptions {
  readonly store: CoordinationStore;
  readonly tokens: readonly AdminToken[];
  readonly log: Logger;
  /** Console metrics (streams, scrapes) are added here when given. */
  readonly registry?: Registry;
  /** The DNS panel's source; absent: "no DNS configured". */
  readonly dns?: DnsProvider | null;
  /** Scrape interval and timeouts (defaults: every 2 s, 1.5 s timeout, 10 minutes of charts). */
  readonly scraper?: Omit<ScraperOptions, "log" | "now">;
  /** Session cookie lifetime (default 15 minutes). */
  readonly sessionTtlMs?: number;
  /** Loads the browser bundle (default: dist/console.js, built when missing or stale). */
  readonly bundle?: () => Promise<ConsoleBundle>;
}

/** A running console. */
export interface ConsoleHandle {
  /** Mount with `app.route("/", handle.app)` BEFORE the API routes. */
  readonly app: Hono;
  readonly hub: ConsoleHub;
  /** Resolves when the first full picture has been read. */
  readonly ready: Promise<void>;
  /** Ends the event streams and stops watching and scraping (call before the server shuts down). */
  stop(): Promise<void>;
}

/**
 * Starts the console.
 *
 * @example
 * ```ts ignore
 * const ui = startConsole({ store: zk, tokens, log, registry });
 * const app = new Hono();
 * app.route("/", ui.app);
 * app.route("/", adminApi({ repo, tokens, log, registry }));
 * onShutdownSignal(async () => { await ui.stop(); await server.shutdown(); });
 * ```
 */
export function startConsole(options: ConsoleOptions): ConsoleHandle {
  const { log } = options;
  const hub = new ConsoleHub({
    store: options.store,
    log,
    dns: options.dns ?? null,
    ...(options.scraper ? { scraper: options.scraper } : {}),
  });
  let bundle: Promise<ConsoleBundle> | null = null;
  const loadBundle = options.bundle ?? (() => loadConsoleBundle(log));
  const getBundle = () => {
    bundle ??= loadBundle().catch((e) => {
      log.error("the console bundle is unavailable", { error: String(e) });
      bundle = null; // try again on the next request
      throw e;
    });
    return bundle;
  };
  void getBundle().catch(() => {});
  const routes = consoleRoutes({
    hub,
    tokens: options.tokens,
    log,
    bundle: getBundle,
    ...(options.sessionTtlMs === undefined ? {} : { sessionTtlMs: options.sessionTtlMs }),
  });
  if (options.registry) {
    options.registry.add(
      new Gauge(
        "switchyard_console_streams",
        "Console live-event streams open.",
        [],
        (g) => g.labels().set(routes.streams()),
      ),
    );
    options.registry.add(
      new Counter(
        "switchyard_console_scrapes_total",
        "Scrapes of proxy admin endpoints by the console, by result.",
        ["result"],
        (c) => {
          c.labels("ok").value = hub.scraper.scrapes - hub.scraper.failures;
          c.labels("error").value = hub.scraper.failures;
        },
      ),
    );
  }
  const ready = hub.start().catch((e) => {
    log.error("the console cannot watch the store", { error: String(e) });
  });
  return {
    app: routes.app,
    hub,
    ready,
    stop: async () => {
      routes.closeStreams();
      hub.stop();
      await ready;
    },
  };
}
