import assert from "node:assert/strict";
import { validateGroupConfig } from "../config/schema.ts";
import { ConfigBook, extractTargets, probeSettings, splitTargetKey, targetKey } from "./targets.ts";

const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));

function config(blob: unknown) {
  const r = validateGroupConfig("g", blob);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

Deno.test("probeSettings() takes the group's endpoint, code, type, timeout, interval and thresholds", () => {
  const c = config({
    backend_servers: ["10.0.0.1:80"],
    health_endpoint: "/ready",
    health_endpoint_expected_code: 204,
    health_check_frequency_seconds: 0.5,
    health_check_type: "tcp",
    health_check_timeout_seconds: 0.25,
    healthy_threshold: 4,
    unhealthy_threshold: 5,
  });
  assert.deepEqual(probeSettings(c), {
    type: "tcp",
    path: "/ready",
    expectedStatus: 204,
    timeoutMs: 250,
    intervalMs: 500,
    rise: 4,
    fall: 5,
  });
});

Deno.test("probeSettings() defaults: /health, 200, http, 2 s timeout, 10 s, rise 2, fall 3", () => {
  assert.deepEqual(probeSettings(config({ backend_servers: [] })), {
    type: "http",
    path: "/health",
    expectedStatus: 200,
    timeoutMs: 2000,
    intervalMs: 10_000,
    rise: 2,
    fall: 3,
  });
});

Deno.test("extractTargets() makes one target per (group, backend), sorted, with parsed host and port", () => {
  const targets = extractTargets(
    new Map([
      ["b", config({ backend_servers: ["10.0.0.2:80", { address: "[::1]:81", weight: 3 }] })],
      ["a", config({ backend_servers: ["10.0.0.2:80"] })],
    ]),
  );
  assert.deepEqual(targets.map((t) => t.key), ["a/10.0.0.2:80", "b/10.0.0.2:80", "b/[::1]:81"]);
  const v6 = targets[2]!;
  assert.equal(v6.host, "::1");
  assert.equal(v6.port, 81);
  assert.deepEqual(splitTargetKey(v6.key), ["b", "[::1]:81"]);
  assert.equal(targetKey("b", "[::1]:81"), v6.key);
});

Deno.test("ConfigBook keeps the last good config when a blob is invalid, and says so", () => {
  const book = new ConfigBook();
  assert.deepEqual(book.apply("g", enc({ backend_servers: ["10.0.0.1:80"] })), {
    kind: "applied",
    changed: true,
  });
  const bad = book.apply("g", enc({ backend_servers: ["10.0.0.1:80"], algorithm: "NOPE" }));
  assert.equal(bad.kind, "rejected");
  assert.ok(bad.kind === "rejected" && bad.keptLastGood && /algorithm/.test(bad.reason));
  const json = book.apply("g", enc("{not json"));
  assert.ok(json.kind === "rejected" && /invalid JSON/.test(json.reason));
  assert.deepEqual(book.targets().map((t) => t.key), ["g/10.0.0.1:80"]);
  const fresh = book.apply("new", enc({ backend_servers: "x" }));
  assert.ok(fresh.kind === "rejected" && !fresh.keptLastGood);
  assert.equal(book.configs().has("new"), false);
});

Deno.test("ConfigBook reports a change only when targets or probe settings change", () => {
  const book = new ConfigBook();
  book.apply("g", enc({ backend_servers: ["10.0.0.1:80"] }));
  assert.deepEqual(book.apply("g", enc({ backend_servers: ["10.0.0.1:80"] })), {
    kind: "applied",
    changed: false,
  });
  const algo = book.apply("g", enc({ backend_servers: ["10.0.0.1:80"], algorithm: "RANDOM" }));
  assert.deepEqual(algo, { kind: "applied", changed: false });
  const interval = book.apply(
    "g",
    enc({ backend_servers: ["10.0.0.1:80"], health_check_frequency_seconds: 1 }),
  );
  assert.deepEqual(interval, { kind: "applied", changed: true });
  const added = book.apply(
    "g",
    enc({ backend_servers: ["10.0.0.1:80", "10.0.0.2:80"], health_check_frequency_seconds: 1 }),
  );
  assert.deepEqual(added, { kind: "applied", changed: true });
});

Deno.test("ConfigBook drops deleted groups and groups no longer listed", () => {
  const book = new ConfigBook();
  book.apply("a", enc({ backend_servers: ["10.0.0.1:80"] }));
  book.apply("b", enc({ backend_servers: ["10.0.0.2:80"] }));
  book.apply("c", enc({ backend_servers: ["10.0.0.3:80"] }));
  assert.deepEqual(book.apply("a", null), { kind: "removed", changed: true });
  assert.deepEqual(book.retain(["c"]), ["b"]);
  assert.deepEqual([...book.configs().keys()], ["c"]);
});

Deno.test("probeSettings() carries the group's tls only when enabled; a tls change is a settings change", () => {
  const base = { backend_servers: ["10.0.0.1:443"] };
  assert.equal("tls" in probeSettings(config(base)), false);
  assert.equal("tls" in probeSettings(config({ ...base, tls: { enabled: false } })), false);
  const tls = { enabled: true, server_name: "api.internal", ca_file: "/etc/ca.pem", verify: true };
  assert.deepEqual(probeSettings(config({ ...base, tls })).tls, tls);
  const book = new ConfigBook();
  book.apply("g", enc(base));
  assert.deepEqual(book.apply("g", enc({ ...base, tls })), { kind: "applied", changed: true });
  assert.deepEqual(book.apply("g", enc({ ...base, tls: { ...tls, verify: false } })), {
    kind: "applied",
    changed: true,
  });
});

Deno.test("probeSettings() carries protocol h2 (absent for http/1.1); a protocol change is a settings change", () => {
  const base = { backend_servers: ["10.0.0.1:50051"] };
  assert.equal("protocol" in probeSettings(config(base)), false);
  assert.equal("protocol" in probeSettings(config({ ...base, protocol: "http/1.1" })), false);
  assert.equal(probeSettings(config({ ...base, protocol: "h2" })).protocol, "h2");
  const book = new ConfigBook();
  book.apply("g", enc(base));
  assert.deepEqual(book.apply("g", enc({ ...base, protocol: "h2" })), {
    kind: "applied",
    changed: true,
  });
});
