/**
 * The game day's backend: the sample backend (`roles/backend.ts`'s app, with its health and
 * failure switches) plus the two counts the invariants need, kept on the backend side where a
 * client cannot fake them: requests served (every path but `/health`, so the orchestrator's
 * probes do not count) and POSTs by their `x-gameday-id`, with every id seen twice (a duplicated
 * non-idempotent request). `GET /_gameday/counts` answers them as JSON.
 *
 *   deno run -A tests/gameday/backend.ts --listen 127.0.0.1:7001 --name b1
 *
 * @module
 */
import { backendApp } from "../../roles/backend.ts";

/** What `GET /_gameday/counts` answers. */
export interface BackendCounts {
  readonly name: string;
  /** Requests served, `/health` and `/_gameday/*` excluded. */
  readonly served: number;
  readonly posts: number;
  /** POST ids seen more than once. */
  readonly duplicates: string[];
}

/** The counting wrapper around an app's `fetch`. */
export function countingBackend(
  name: string,
  inner: (req: Request) => Response | Promise<Response>,
): { fetch: (req: Request) => Response | Promise<Response>; counts: () => BackendCounts } {
  let served = 0;
  let posts = 0;
  const seen = new Set<string>();
  const duplicates: string[] = [];
  const counts = (): BackendCounts => ({ name, served, posts, duplicates: [...duplicates] });
  return {
    counts,
    fetch: (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/_gameday/counts") return Response.json(counts());
      if (path !== "/health") served++;
      if (req.method === "POST") {
        posts++;
        const id = req.headers.get("x-gameday-id");
        if (id !== null) {
          if (seen.has(id)) duplicates.push(id);
          else seen.add(id);
        }
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
