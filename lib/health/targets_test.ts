import assert from "node:assert/strict";
import { GroupState } from "../group/group_state.ts";
import { type HealthSettings, healthTargets } from "./targets.ts";

const SETTINGS: HealthSettings = {
  health_check_type: "http",
  health_endpoint: "/health",
  health_endpoint_expected_code: 200,
  health_check_timeout_seconds: 2,
  health_check_frequency_seconds: 10,
};

Deno.test("healthTargets() builds one probe target per backend from the group's settings", () => {
  const table: [
    Partial<HealthSettings>,
    { type: string; path: string; code: number; timeoutMs: number; intervalMs: number },
  ][] = [
    [{}, { type: "http", path: "/health", code: 200, timeoutMs: 2000, intervalMs: 10_000 }],
    [
      { health_check_type: "tcp", health_check_timeout_seconds: 0.25 },
      { type: "tcp", path: "/health", code: 200, timeoutMs: 250, intervalMs: 10_000 },
    ],
    [
      {
        health_endpoint: "/ready",
        health_endpoint_expected_code: 204,
        health_check_frequency_seconds: 0.5,
      },
      { type: "http", path: "/ready", code: 204, timeoutMs: 2000, intervalMs: 500 },
    ],
  ];
  for (const [settings, want] of table) {
    const targets = healthTargets({
      backends: [
        { address: "10.0.0.1:80", host: "10.0.0.1", port: 80 },
        { address: "[::1]:8080", host: "::1", port: 8080 },
      ],
      config: { ...SETTINGS, ...settings },
    });
    assert.deepEqual(targets, [
      {
        address: "10.0.0.1:80",
        intervalMs: want.intervalMs,
        probe: {
          host: "10.0.0.1",
          port: 80,
          type: want.type,
          path: want.path,
          expectedStatus: want.code,
          timeoutMs: want.timeoutMs,
        },
      },
      {
        address: "[::1]:8080",
        intervalMs: want.intervalMs,
        probe: {
          host: "::1",
          port: 8080,
          type: want.type,
          path: want.path,
          expectedStatus: want.code,
          timeoutMs: want.timeoutMs,
        },
      },
    ], JSON.stringify(settings));
  }
});

Deno.test("healthTargets() of no backends is empty", () => {
  assert.deepEqual(healthTargets({ backends: [], config: SETTINGS }), []);
});

Deno.test("healthTargets() takes a group snapshot as it is", () => {
  const state = new GroupState("g", { now: () => 0, random: () => 0.5 });
  assert.ok(
    state.applyConfig("1", { backend_servers: ["127.0.0.1:9001"], health_endpoint: "/hc" }).ok,
  );
  const [t] = healthTargets(state.snapshot!);
  assert.equal(t?.address, "127.0.0.1:9001");
  assert.equal(t?.probe.path, "/hc");
  assert.equal(t?.probe.port, 9001);
});

Deno.test("healthTargets() probes over TLS with the group's settings, SNI per backend", () => {
  const backends = [
    { address: "10.0.0.1:443", host: "10.0.0.1", port: 443 },
    { address: "api.internal:443", host: "api.internal", port: 443 },
  ];
  const plain = healthTargets({ backends, config: SETTINGS });
  assert.equal("tls" in plain[0]!.probe, false, "no tls key without TLS");
  const tls = { serverName: undefined, ca: "PEM", verify: true, key: "k" };
  const [ip, named] = healthTargets({ backends, config: SETTINGS }, tls);
  assert.deepEqual(ip!.probe.tls, {
    servername: undefined,
    ca: "PEM",
    rejectUnauthorized: true,
    ALPNProtocols: ["http/1.1"],
  });
  assert.equal(named!.probe.tls?.servername, "api.internal");
  const [fixed] = healthTargets({ backends, config: SETTINGS }, { ...tls, serverName: "b.test" });
  assert.equal(fixed!.probe.tls?.servername, "b.test");
});

Deno.test("healthTargets() probes a protocol h2 group over HTTP/2, others as before", () => {
  const backends = [{ address: "127.0.0.1:50051", host: "127.0.0.1", port: 50051 }];
  const [h2] = healthTargets({ backends, config: { ...SETTINGS, protocol: "h2" } });
  assert.equal(h2!.probe.h2, true);
  const [plain] = healthTargets({ backends, config: { ...SETTINGS, protocol: "http/1.1" } });
  assert.equal("h2" in plain!.probe, false);
  const [none] = healthTargets({ backends, config: SETTINGS });
  assert.equal("h2" in none!.probe, false);
});
