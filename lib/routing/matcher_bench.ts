/**
 * Micro-benchmark of route matching: 1,000 routes (500 hosts with two paths
 * each), median nanoseconds per match. Not a test: it prints numbers, it does
 * not assert them (the bar in issue 14 is under 1 µs median).
 *
 *     deno run lib/routing/matcher_bench.ts
 *     bun lib/routing/matcher_bench.ts
 *
 * @module
 */
import { compileRoutes, type RouteRequest } from "./matcher.ts";
import { validateListenerConfig } from "./schema.ts";

const HOSTS = 500;
const BATCH = 1_000;
const SAMPLES = 301;

function buildTable() {
  const routes = [];
  for (let h = 0; h < HOSTS; h++) {
    const host = `svc${h}.example.com`;
    routes.push({
      name: `api-${h}`,
      match: { host, path: { prefix: "/api" } },
      forward: { group: `g${h}` },
    });
    routes.push({
      name: `user-${h}`,
      match: { host, path: { template: "/users/:id" }, methods: ["GET", "HEAD"] },
      forward: { group: `g${h}` },
    });
  }
  const r = validateListenerConfig("bench", { routes });
  if (!r.ok) throw new Error(JSON.stringify(r.issues.slice(0, 3)));
  return compileRoutes(r.value);
}

/** A fixed, varied request mix: prefix hits, template hits, misses, ports and upper case. */
function requests(): RouteRequest[] {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const header = () => null;
  const out: RouteRequest[] = [];
  for (let i = 0; i < 4096; i++) {
    const h = Math.floor(next() * HOSTS);
    const r = next();
    const host = r < 0.2 ? `SVC${h}.Example.com:443` : `svc${h}.example.com`;
    const path = r < 0.45 ? "/api/v1/items/42" : r < 0.9 ? `/users/${i}` : "/nothing/here";
    out.push({ method: "GET", host, path, header });
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const table = buildTable();
const reqs = requests();
let sink = 0;
// warm up the JIT
for (let i = 0; i < 200_000; i++) sink += table.match(reqs[i & 4095]!)?.index ?? -1;
const perMatch: number[] = [];
let k = 0;
for (let s = 0; s < SAMPLES; s++) {
  const t0 = performance.now();
  for (let i = 0; i < BATCH; i++) sink += table.match(reqs[k++ & 4095]!)?.index ?? -1;
  perMatch.push((performance.now() - t0) * 1e6 / BATCH);
}
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "other";
console.log(JSON.stringify({
  runtime,
  routes: table.routes.length,
  median_ns_per_match: Math.round(median(perMatch)),
  p10_ns: Math.round([...perMatch].sort((a, b) => a - b)[Math.floor(SAMPLES * 0.1)]!),
  p90_ns: Math.round([...perMatch].sort((a, b) => a - b)[Math.floor(SAMPLES * 0.9)]!),
  sink: sink !== 0,
}));
