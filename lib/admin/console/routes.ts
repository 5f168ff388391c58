/**
 * The console's HTTP routes, mounted on the admin role's API listener before
 * the API itself:
 *
 * - `GET /` the page, `GET /console.js` the bundle, `GET /console.css`: public,
 *   they hold no data.
 * - `POST /api/session` (bearer token) sets the session cookie the live
 *   stream needs; `DELETE /api/session` clears it.
 * - `GET /api/events`: server-sent events (`state`, `series`, `sample`);
 *   bearer token or session cookie. A cookie-authenticated stream ends when
 *   the cookie expires, so the browser reconnects with its renewed one.
 * - `GET /api/overview`: the same state and series as one JSON document.
 *
 * Every write stays on the API (bearer token, If-Match): see `session.ts`.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { Logger } from "../../log.ts";
import { type AdminToken, bearer, identify } from "../tokens.ts";
import type { ConsoleBundle } from "./bundle.ts";
import type { ConsoleHub } from "./hub.ts";
import type { ConsoleEvent } from "./model.ts";
import { PAGE_CSS, PAGE_HEADERS, PAGE_HTML } from "./page.ts";
import {
  issueSession,
  readCookie,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  sessionCookie,
  verifySession,
} from "./session.ts";

/** Options of {@link consoleRoutes}. */
export interface ConsoleRoutesOptions {
  readonly hub: Pick<ConsoleHub, "state" | "series" | "subscribe" | "scraper">;
  readonly tokens: readonly AdminToken[];
  readonly log: Logger;
  /** The browser bundle (built or read once, in the background). */
  readonly bundle: () => Promise<ConsoleBundle>;
  /** Session cookie lifetime (default 15 minutes). */
  readonly sessionTtlMs?: number;
  /** Comment lines keeping idle streams open through proxies (default 15 s). */
  readonly heartbeatMs?: number;
  /** Events queued for a slow client before its stream is dropped (it reconnects; default 256). */
  readonly maxQueuedEvents?: number;
  readonly now?: () => number;
}

/** The routes and a way to end every open stream (before the server shuts down). */
export interface ConsoleRoutes {
  readonly app: Hono;
  /** Open event streams. */
  streams(): number;
  /** Ends every open stream. */
  closeStreams(): void;
}

const enc = new TextEncoder();

function sseFrame(e: ConsoleEvent): Uint8Array {
  const { type, ...rest } = e;
  const data = type === "state" ? e.state : rest;
  return enc.encode(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * Builds the console's routes.
 *
 * @example
 * ```ts ignore
 * const routes = consoleRoutes({ hub, tokens, log, bundle: () => bundlePromise });
 * app.route("/", routes.app);            // before the API
 * app.route("/", adminApi({ ... }));
 * ```
 */
export function consoleRoutes(options: ConsoleRoutesOptions): ConsoleRoutes {
  const { hub, tokens, log } = options;
  const now = options.now ?? Date.now;
  const ttl = options.sessionTtlMs ?? SESSION_TTL_MS;
  const closers = new Set<() => void>();
  const app = new Hono();

  /** Who is calling: bearer token first (no fallback when one is sent), else the cookie. */
  const reader = (c: Context): { name: string; expiresAt: number | null } | null => {
    const presented = bearer(c.req.header("authorization"));
    if (presented !== null) {
      const who = identify(tokens, presented);
      return who === null ? null : { name: who, expiresAt: null };
    }
    const s = verifySession(tokens, readCookie(c.req.header("cookie"), SESSION_COOKIE), now());
    return s ? { name: s.name, expiresAt: s.expiresAt } : null;
  };
  const unauthorized = (c: Context) =>
    c.json({ error: "sign in with an admin token first" }, 401, {
      "www-authenticate": 'Bearer realm="switchyard"',
      "cache-control": "no-store",
    });
  const secure = (c: Context) =>
    new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";

  app.get("/", (c) => c.html(PAGE_HTML, 200, { ...PAGE_HEADERS, "cache-control": "no-cache" }));
  app.get("/index.html", (c) => c.redirect("/", 301));
  app.get("/console.css", (c) =>
    c.body(PAGE_CSS, 200, {
      ...PAGE_HEADERS,
      "content-type": "text/css; charset=utf-8",
      "cache-control": "no-cache",
    }));
  app.get("/console.js", async (c) => {
    let b: ConsoleBundle;
    try {
      b = await options.bundle();
    } catch (e) {
      return c.text(`console unavailable: ${(e as Error).message}\n`, 503);
    }
    const headers: Record<string, string> = {
      ...PAGE_HEADERS,
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "no-cache",
      etag: b.etag,
      vary: "accept-encoding",
    };
    if (c.req.header("if-none-match") === b.etag) return c.body(null, 304, headers);
    const gzip = /\bgzip\b/.test(c.req.header("accept-encoding") ?? "");
    if (gzip) headers["content-encoding"] = "gzip";
    return c.body((gzip ? b.gzip : b.js) as Uint8Array<ArrayBuffer>, 200, headers);
  });

  app.post("/api/session", (c) => {
    const presented = bearer(c.req.header("authorization"));
    const who = presented === null ? null : identify(tokens, presented);
    if (presented === null || who === null) return unauthorized(c);
    const token = tokens.find((t) => t.name === who)!;
    const at = now();
    return c.json(
      { name: who, expires_at: new Date(at + ttl).toISOString(), ttl_seconds: ttl / 1000 },
      200,
      {
        "set-cookie": sessionCookie(issueSession(token, at, ttl), ttl, secure(c)),
        "cache-control": "no-store",
      },
    );
  });
  app.delete(
    "/api/session",
    (c) => c.body(null, 204, { "set-cookie": sessionCookie("", 0, secure(c)) }),
  );

  app.get("/api/overview", (c) => {
    if (!reader(c)) return unauthorized(c);
    return c.json({ state: hub.state(), series: hub.series() }, 200, {
      "cache-control": "no-store",
    });
  });

  app.get("/api/events", (c) => {
    const who = reader(c);
    if (!who) return unauthorized(c);
    const heartbeatMs = options.heartbeatMs ?? 15_000;
    const maxQueued = options.maxQueuedEvents ?? 256;
    let cleanup = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        let open = true;
        const close = () => {
          if (!open) return;
          open = false;
          cleanup();
          try {
            controller.close();
          } catch {
            // already closed or cancelled
          }
        };
        const send = (chunk: Uint8Array) => {
          if (!open) return;
          if ((controller.desiredSize ?? 0) <= 0) {
            log.info("console stream dropped: the client does not keep up", { who: who.name });
            close();
            return;
          }
          controller.enqueue(chunk);
        };
        controller.enqueue(enc.encode("retry: 2000\n\n"));
        controller.enqueue(sseFrame({ type: "state", state: hub.state() }));
        controller.enqueue(
          sseFrame({ type: "series", series: hub.series(), windowMs: hub.scraper.windowMs }),
        );
        const off = hub.subscribe((e) => send(sseFrame(e)));
        const beat = setInterval(() => send(enc.encode(": keep-alive\n\n")), heartbeatMs);
        const expiry = who.expiresAt === null
          ? undefined
          : setTimeout(close, Math.max(0, who.expiresAt - now()));
        const onAbort = () => close();
        c.req.raw.signal?.addEventListener("abort", onAbort);
        cleanup = () => {
          off();
          clearInterval(beat);
          clearTimeout(expiry);
          c.req.raw.signal?.removeEventListener("abort", onAbort);
          closers.delete(close);
        };
        closers.add(close);
      },
      cancel() {
        cleanup();
      },
    }, { highWaterMark: maxQueued });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  });

  return {
    app,
    streams: () => closers.size,
    closeStreams: () => {
      for (const close of [...closers]) close();
    },
  };
}
