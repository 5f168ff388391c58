/**
 * Micro-benchmark: the cost of one outlier ejection and its end on a
 * CONSISTENT_HASH (Maglev, 65,537 slots) group, before and after issue 13.
 *
 * "before" replays what an ejection used to cost on the request path: a full
 * `buildSnapshot` (selector and Maglev table included) per flip. "after" runs
 * the real path: `recordOutcome` ejects (an O(1) availability flip) and
 * `tick()` ends the ejection in place. Reports numbers, asserts nothing.
 *
 * Run: `deno run -A lib/group/ejection_bench.ts` or `bun lib/group/ejection_bench.ts`.
 *
 * @module
 */
import { mulberry32 } from "../balancer/hash.ts";
import { validateGroupConfig } from "../config/schema.ts";
import { GroupState } from "./group_state.ts";
import { buildSnapshot } from "./snapshot.ts";

const FLIPS = 1_000;
const BACKENDS = Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}:80`);
const blob = {
  backend_servers: BACKENDS,
  algorithm: "CONSISTENT_HASH",
  outlier_detection: { consecutive_failures: 1, base_ejection_seconds: 1, max_ejection_seconds: 1 },
};

function before(): number {
  const cfg = validateGroupConfig("bench", blob);
  if (!cfg.ok) throw new Error("bad config");
  const counters = new Map();
  const t0 = performance.now();
  for (let i = 0; i < FLIPS; i++) {
    // one rebuild for the ejection, one for its end
    for (const now of [i * 2, i * 2 + 1]) {
      buildSnapshot({
        group: "bench",
        version: "1",
        config: cfg.value,
        health: new Map(),
        counters,
        random: Math.random,
        now,
      });
    }
  }
  return performance.now() - t0;
}

function after(): { ms: number; builds: number } {
  const clock = { t: 0 };
  const state = new GroupState("bench", { now: () => clock.t, random: mulberry32(1) });
  state.applyConfig("1", blob);
  const t0 = performance.now();
  for (let i = 0; i < FLIPS; i++) {
    if (!state.recordOutcome(BACKENDS[i % BACKENDS.length]!, true)) throw new Error("no ejection");
    clock.t += 1000; // the ejection ends
    state.tick();
  }
  return { ms: performance.now() - t0, builds: state.buildsTotal - 1 };
}

const runtime = "Bun" in globalThis ? "bun" : "deno";
after(); // warm up
const b = before();
const a = after();
console.log(
  `${runtime}: ${FLIPS} ejection/recovery flips, CONSISTENT_HASH (Maglev 65537), 10 backends\n` +
    `  before (rebuild per flip): ${b.toFixed(1)} ms total, ${
      (b / FLIPS).toFixed(3)
    } ms per flip\n` +
    `  after (availability flip): ${a.ms.toFixed(2)} ms total, ${
      (a.ms * 1000 / FLIPS).toFixed(2)
    } µs per flip, ${a.builds} rebuilds`,
);
