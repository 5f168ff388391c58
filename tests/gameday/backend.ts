/**
 * The game day's backend: the sample backend (`roles/backend.ts`'s app, with its health and
 * failure switches) plus the two counts the invariants need, kept on the backend side where a
 * client cannot fake them: requests served (every path but `/health` and the `/_control/*` and
 * `/_gameday/*` switches, so neither the orchestrator's probes nor the faults' own calls count) and the `x-gameday-id` of every POST, in arrival order. `GET
 * /_gameday/counts?since=N` answers them as JSON with the ids from index N on, so the game day
 * reads each id once and counts ids across all backends (a retried POST lands on another one);
 * `boot` changes when the process restarts (its list starts over). `POST /_gameday/slow?ms=N`
 * makes every request but `/health` wait N ms first (0 clears): a backend that turns slow while
 * its health checks still pass.
 *
 *   deno run -A tests/gameday/backend.ts --listen 127.0.0.1:7001 --name b1
 *
 * @module
 */
import { backendApp } from "../../roles/backend.ts";

/** What `GET /_gameday/counts` answers. */
export interface BackendCounts {
  readonly name: string;
  /** Requests served, `/health`, `/_control/*` and `/_gameday/*` excluded. */
  readonly served: number;
  readonly posts: number;
  /** Random per process: a new value means a restart (ids start over at index 0). */
  readonly boot: string;
  /** POST ids from index `since` on. */
  readonly ids: string[];
}

/** The counting wrapper around an app's `fetch`. */
export function countingBackend(
  name: string,
  inner: (req: Request) => Response | Promise<Response>,
): {
  fetch: (req: Request) => Response | Promise<Response>;
  counts: (since?: number) => BackendCounts;
} {
  let served = 0;
  let posts = 0;
  let slowMs = 0;
  const boot = crypto.randomUUID().slice(0, 8);
  const ids: string[] = [];
  const counts = (since = 0): BackendCounts => ({
    name,
    served,
    posts,
    boot,
    ids: ids.slice(since),
  });
  return {
    counts,
    fetch: (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/_gameday/counts") {
        return Response.json(counts(Number(url.searchParams.get("since") ?? 0)));
      }
      if (url.pathname === "/_gameday/slow" && req.method === "POST") {
        const ms = Number(url.searchParams.get("ms"));
        if (!Number.isInteger(ms) || ms < 0) {
          return new Response("ms must be an integer >= 0\n", { status: 400 });
        }
        slowMs = ms;
        return new Response(`slow ${ms} ms\n`);
      }
      // the game day's own calls (fault switches) are not traffic: counted, the 5xx fault's
      // restore looked like requests reaching a backend the proxies still showed unhealthy
      if (url.pathname.startsWith("/_control/")) return inner(req);
      if (url.pathname !== "/health") served++;
      if (req.method === "POST") {
        posts++;
        const id = req.headers.get("x-gameday-id");
        if (id !== null) ids.push(id);
      }
      if (slowMs > 0 && url.pathname !== "/health") {
        return new Promise((resolve) => setTimeout(() => resolve(inner(req)), slowMs));
      }
      return inner(req);
    },
  };
}

function flag(args: readonly string[], name: string): string {
  const i = args.indexOf(`--${name}`);
  const value = i < 0 ? undefined : args[i + 1];
  if (value === undefined) throw new Error(`backend.ts: --${name} is required`);
  return value;
}

if (import.meta.main) {
  const listen = flag(Deno.args, "listen");
  const name = flag(Deno.args, "name");
  const colon = listen.lastIndexOf(":");
  const app = backendApp(name, 200);
  const backend = countingBackend(name, (req) => app.fetch(req));
  Deno.serve(
    { hostname: listen.slice(0, colon), port: Number(listen.slice(colon + 1)), onListen: () => {} },
    backend.fetch,
  );
}
