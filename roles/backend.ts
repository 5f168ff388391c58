/**
 * The sample backend role: a small HTTP server for demos, tests and
 * benchmarks. It names itself in every answer so you can see balancing at
 * work, and its health can be switched at runtime.
 *
 * Endpoints: `/health` (status switchable), `POST /_control/health?status=N`,
 * `POST /_control/fail?status=N` (every other request answers N; 0 clears),
 * `/_bytes?n=N` (N bytes), `/_delay?ms=N`, `/_sse?n=N&interval_ms=M`,
 * `/_echo` (method, path, headers, body size as JSON), `/_count` (reads the
 * request body as a stream and answers its size, for big uploads), `/_ws`
 * (WebSocket echo; needs Deno); anything else answers `<name>\n`.
 *
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { type FlagSpec, parseListen } from "../lib/cli/flags.ts";
import {
  COMMON_FLAGS,
  listenOrExit,
  parseRoleFlags,
  type RoleDefinition,
  roleLogger,
  usageError,
} from "../lib/cli/role.ts";
import { args, onShutdownSignal } from "../lib/runtime/process.ts";
import { runtimeVersion, serve } from "../lib/runtime/serve.ts";

const SUMMARY = "sample HTTP backend for demos, tests and benchmarks";

/** What `/_ws` uses of the Deno namespace. */
interface DenoWebSocketUpgrade {
  upgradeWebSocket(req: Request): { socket: WebSocket; response: Response };
}

/** The backend's flags. */
export const BACKEND_FLAGS: readonly FlagSpec[] = [
  {
    name: "listen",
    type: "string",
    value: "HOST:PORT",
    help: "where to listen",
    default: "127.0.0.1:9001",
  },
  {
    name: "name",
    type: "string",
    value: "NAME",
    help: "name in answers (default: the listen address)",
  },
  {
    name: "health-status",
    type: "number",
    value: "CODE",
    help: "status /health answers with",
    default: 200,
  },
  ...COMMON_FLAGS,
];

/** Builds the backend app (exported for in-process tests). */
export function backendApp(name: string, initialHealth: number): Hono {
  let health = initialHealth;
  let failWith = 0;
  const app = new Hono();
  app.get("/health", (c) => c.text(health === 200 ? "ok\n" : "unhealthy\n", health as 200));
  app.post("/_control/fail", (c) => {
    const status = Number(c.req.query("status"));
    if (!Number.isInteger(status) || (status !== 0 && (status < 200 || status > 599))) {
      return c.text("status must be 0 or 200-599\n", 400);
    }
    failWith = status;
    return c.text(status === 0 ? "answering normally\n" : `answering ${status} now\n`);
  });
  app.use("*", async (c, next) => {
    if (failWith !== 0 && c.req.path !== "/health") {
      return c.text(`${name} failing\n`, failWith as 500, { "x-backend": name });
    }
    await next();
  });
  app.post("/_control/health", (c) => {
    const status = Number(c.req.query("status"));
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      return c.text("status must be 100-599\n", 400);
    }
    health = status;
    return c.text(`health now ${status}\n`);
  });
  app.get("/_bytes", (c) => {
    const n = Math.max(0, Math.min(Number(c.req.query("n") ?? 0), 1 << 30));
    const block = new Uint8Array(64 * 1024).fill(120);
    let left = n;
    const body = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (left <= 0) {
          ctrl.close();
          return;
        }
        const take = Math.min(left, block.length);
        ctrl.enqueue(take === block.length ? block : block.subarray(0, take));
        left -= take;
      },
    });
    return new Response(body, {
      headers: { "content-length": String(n), "x-backend": name },
    });
  });
  app.get("/_delay", async (c) => {
    const ms = Math.max(0, Math.min(Number(c.req.query("ms") ?? 0), 600_000));
    await new Promise((r) => setTimeout(r, ms));
    return c.text(`${name}\n`, 200, { "x-backend": name });
  });
  app.get("/_sse", (c) => {
    const n = Math.max(1, Math.min(Number(c.req.query("n") ?? 3), 10_000));
    const interval = Math.max(0, Math.min(Number(c.req.query("interval_ms") ?? 100), 60_000));
    return streamSSE(c, async (stream) => {
      for (let i = 0; i < n; i++) {
        await stream.writeSSE({ id: String(i), data: JSON.stringify({ backend: name, i }) });
        if (i + 1 < n) await stream.sleep(interval);
      }
    });
  });
  app.all("/_echo", async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    return c.json(
      {
        backend: name,
        method: c.req.method,
        url: c.req.url,
        path: c.req.path,
        query: c.req.queries(),
        headers: Object.fromEntries(c.req.raw.headers),
        body_bytes: body.length,
        body: body.length <= 4096 ? new TextDecoder().decode(body) : null,
      },
      200,
      { "x-backend": name },
    );
  });
  app.all("/_count", async (c) => {
    // streams the body: a 1 GiB upload never sits in memory
    let bytes = 0;
    const body = c.req.raw.body;
    if (body) {
      const reader = body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        bytes += value.length;
      }
    }
    return c.json({ backend: name, bytes }, 200, { "x-backend": name });
  });
  app.get("/_ws", (c) => {
    const deno = (globalThis as { Deno?: DenoWebSocketUpgrade }).Deno;
    if (!deno) return c.text("the WebSocket echo needs the backend under Deno\n", 501);
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.text("expected a WebSocket upgrade\n", 426);
    }
    const { socket, response } = deno.upgradeWebSocket(c.req.raw);
    socket.onmessage = (e) => {
      if (e.data === "close-me") socket.close(4000, "asked to");
      else socket.send(e.data);
    };
    return response;
  });
  app.all("*", (c) => c.text(`${name}\n`, 200, { "x-backend": name }));
  return app;
}

/** Runs the backend role. */
export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseRoleFlags("backend", SUMMARY, argv, BACKEND_FLAGS);
  let listen: { host: string; port: number };
  try {
    listen = parseListen("listen", String(flags.listen));
  } catch (e) {
    usageError("backend", BACKEND_FLAGS, (e as Error).message);
  }
  const name = String(flags.name ?? `${listen.host}:${listen.port}`);
  const log = roleLogger("backend", String(flags.id ?? name), String(flags["log-level"]));
  const app = backendApp(name, Number(flags["health-status"]));
  const server = await listenOrExit(
    "backend",
    () => serve(app.fetch, { hostname: listen.host, port: listen.port }),
  );
  log.info("backend listening", {
    listen: `${listen.host}:${server.port}`,
    name,
    runtime: runtimeVersion(),
  });
  onShutdownSignal(() => server.shutdown());
}

/** The backend role's definition for the roles dispatcher. */
export const role: RoleDefinition = {
  name: "backend",
  summary: SUMMARY,
  flags: BACKEND_FLAGS,
  main,
};

if (import.meta.main) await main(args());
