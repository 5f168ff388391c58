/**
 * `/status` and the metrics read the group snapshot; health flips and
 * ejections no longer swap it (they write its live status), so both must show
 * a flip at once, without a rebuild.
 */
import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import { GroupState } from "../group/group_state.ts";
import { statusDocument, type StatusInfo } from "./admin_app.ts";
import { ProxyMetrics } from "./metrics.ts";

const INFO: StatusInfo = {
  id: "p1",
  runtime: "deno",
  startedAt: 0,
  source: "test",
  listen: "127.0.0.1:0",
  healthChecks: true,
  connections: () => 0,
  draining: () => false,
};

function group() {
  const clock = { t: 10_000 };
  const state = new GroupState("api", { now: () => clock.t, random: mulberry32(1) });
  state.applyConfig("v1", {
    backend_servers: ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"],
    algorithm: "CONSISTENT_HASH",
    unhealthy_threshold: 1,
    panic_threshold_percent: 50,
    outlier_detection: {
      consecutive_failures: 2,
      base_ejection_seconds: 5,
      max_ejection_percent: 100,
    },
  });
  return { state, clock };
}

type Doc = { panic: boolean; usable_backends: number; backends: Record<string, unknown>[] };

Deno.test("/status shows an ejection and a health flip at once, without a rebuild", () => {
  const { state, clock } = group();
  const builds = state.buildsTotal;
  let doc = statusDocument(state, INFO) as unknown as Doc;
  assert.equal(doc.usable_backends, 3);
  assert.equal(doc.backends[0]!.ejected, false);

  state.recordOutcome("10.0.0.1:80", true);
  doc = statusDocument(state, INFO) as unknown as Doc;
  assert.equal(doc.backends[0]!.request_failures_in_a_row, 1, "the streak shows live");
  assert.equal(state.recordOutcome("10.0.0.1:80", true), true);
  doc = statusDocument(state, INFO) as unknown as Doc;
  assert.equal(doc.backends[0]!.ejected, true);
  assert.equal(doc.backends[0]!.usable, false);
  assert.equal(doc.backends[0]!.ejected_until, new Date(clock.t + 5000).toISOString());
  assert.equal(doc.backends[0]!.ejections_total, 1);
  assert.equal(doc.usable_backends, 2);
  assert.equal(doc.panic, false);

  assert.equal(state.observeProbe("10.0.0.2:80", false, "refused"), true);
  doc = statusDocument(state, INFO) as unknown as Doc;
  assert.equal(doc.backends[1]!.health, "unhealthy");
  assert.equal(doc.backends[1]!.last_error, "refused");
  assert.equal(doc.panic, true, "one of three is below 50%");
  assert.equal(doc.usable_backends, 3);
  assert.deepEqual(doc.backends.map((b) => b.usable), [true, true, true]);
  assert.equal(state.buildsTotal, builds, "nothing was rebuilt");

  clock.t += 5000;
  state.tick();
  doc = statusDocument(state, INFO) as unknown as Doc;
  assert.equal(doc.backends[0]!.ejected, false);
  assert.equal(doc.backends[0]!.ejected_until, null);
});

Deno.test("metrics show an ejection and panic mode at once, without a rebuild", () => {
  const { state } = group();
  const metrics = new ProxyMetrics(state);
  const line = (name: string, backend?: string) =>
    metrics.registry.render().split("\n").find((l) =>
      l.startsWith(name) && (backend === undefined || l.includes(`backend="${backend}"`))
    );
  assert.equal(line("switchyard_backend_ejected", "10.0.0.1:80")?.endsWith(" 0"), true);
  state.recordOutcome("10.0.0.1:80", true);
  state.recordOutcome("10.0.0.1:80", true);
  assert.equal(line("switchyard_backend_ejected", "10.0.0.1:80")?.endsWith(" 1"), true);
  assert.equal(line("switchyard_backend_healthy", "10.0.0.1:80")?.endsWith(" 0"), true);
  assert.equal(line("switchyard_panic_mode")?.endsWith(" 0"), true);
  state.observeProbe("10.0.0.3:80", false);
  assert.equal(line("switchyard_panic_mode")?.endsWith(" 1"), true);
  assert.equal(line("switchyard_backend_healthy", "10.0.0.1:80")?.endsWith(" 1"), true);
  assert.equal(state.buildsTotal, 1);
});
