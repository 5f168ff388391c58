import assert from "node:assert/strict";
import {
  ALGORITHMS,
  type ConfigIssue,
  formatIssues,
  GROUP_NAME,
  type GroupConfig,
  groupConfigSchema,
  parseJsonConfig,
  validateConfigFile,
  validateGroupConfig,
} from "./schema.ts";

/** The seed's example blob, verbatim. */
const SEED_TEXT = `{
  "lb-group-1" : {
    "backend_servers" : ["10.0.0.1:80", "10.0.0.2:80"],
    "health_endpoint" : "/health",
    "health_endpoint_expected_code": 200,
    "health_check_frequency_seconds" : 10,
    "algorithm" : "WEIGHTED_ROUND_ROBIN"
  }
}`;

/** The issue's example. */
const ISSUE_EXAMPLE = {
  "lb-group-1": {
    "backend_servers": ["127.0.0.1:9001", { "address": "127.0.0.1:9002", "weight": 3 }],
    "health_endpoint": "/health",
    "health_endpoint_expected_code": 200,
    "health_check_frequency_seconds": 10,
    "algorithm": "WEIGHTED_ROUND_ROBIN",
  },
};

const MINIMAL = { backend_servers: ["127.0.0.1:9001"] };

function valid(blob: unknown, group = "g"): GroupConfig {
  const r = validateGroupConfig(group, blob);
  if (!r.ok) assert.fail(`expected valid, got:\n${formatIssues(r.issues)}`);
  return r.value;
}

function issues(blob: unknown, group = "g"): ConfigIssue[] {
  const r = validateGroupConfig(group, blob);
  if (r.ok) assert.fail(`expected invalid: ${JSON.stringify(blob)}`);
  return [...r.issues];
}

/** The single issue of an invalid blob, as [field, reason]. */
function onlyIssue(blob: unknown): [string, string] {
  const found = issues(blob);
  assert.equal(found.length, 1, formatIssues(found));
  assert.equal(found[0]!.group, "g");
  return [found[0]!.field, found[0]!.reason];
}

function withField(field: string, value: unknown): Record<string, unknown> {
  return { ...MINIMAL, [field]: value };
}

// --- valid configs -------------------------------------------------------------------------

Deno.test("validateConfigFile() accepts the seed's example", () => {
  const parsed = parseJsonConfig(SEED_TEXT);
  assert.ok(parsed.ok);
  const r = validateConfigFile(parsed.value);
  if (!r.ok) assert.fail(formatIssues(r.issues));
  const g = r.value["lb-group-1"]!;
  assert.deepEqual(g.backend_servers, [
    { address: "10.0.0.1:80", host: "10.0.0.1", port: 80, weight: 1 },
    { address: "10.0.0.2:80", host: "10.0.0.2", port: 80, weight: 1 },
  ]);
  assert.equal(g.health_endpoint, "/health");
  assert.equal(g.health_endpoint_expected_code, 200);
  assert.equal(g.health_check_frequency_seconds, 10);
  assert.equal(g.algorithm, "WEIGHTED_ROUND_ROBIN");
});

Deno.test("validateConfigFile() accepts the issue's example with a weighted backend object", () => {
  const r = validateConfigFile(ISSUE_EXAMPLE);
  if (!r.ok) assert.fail(formatIssues(r.issues));
  assert.deepEqual(Object.keys(r.value), ["lb-group-1"]);
  assert.deepEqual(r.value["lb-group-1"]!.backend_servers, [
    { address: "127.0.0.1:9001", host: "127.0.0.1", port: 9001, weight: 1 },
    { address: "127.0.0.1:9002", host: "127.0.0.1", port: 9002, weight: 3 },
  ]);
});

Deno.test("validateGroupConfig() fills every default when only backend_servers is given", () => {
  const cfg = valid(MINIMAL);
  assert.deepEqual(cfg, {
    backend_servers: [{ address: "127.0.0.1:9001", host: "127.0.0.1", port: 9001, weight: 1 }],
    health_endpoint: "/health",
    health_endpoint_expected_code: 200,
    health_check_frequency_seconds: 10,
    algorithm: "ROUND_ROBIN",
    health_check_type: "http",
    health_check_timeout_seconds: 2,
    healthy_threshold: 2,
    unhealthy_threshold: 3,
    hash_key: { source: "client_ip" },
    connect_timeout_seconds: 3,
    response_timeout_seconds: 60,
    retry: { max_retries: 2, budget_ratio: 0.2, min_retries_per_second: 10, on_status: [] },
    upstream_keepalive: { max_idle: 64, idle_timeout_seconds: 4 },
    outlier_detection: {
      enabled: true,
      consecutive_failures: 5,
      count_5xx: true,
      base_ejection_seconds: 10,
      max_ejection_seconds: 300,
      max_ejection_percent: 50,
    },
    limits: {
      max_header_bytes: 32768,
      max_header_count: 100,
      max_uri_length: 8192,
      max_body_bytes: 0,
      header_timeout_seconds: 10,
      idle_timeout_seconds: 60,
      body_timeout_seconds: 60,
      max_connections: 10_000,
      max_connections_per_ip: 0,
    },
    host_rewrite: null,
    slow_start_seconds: 0,
    panic_threshold_percent: 0,
    allow_underscores_in_headers: false,
  });
});

Deno.test("validateGroupConfig() fills defaults inside partly given nested objects", () => {
  const cfg = valid({
    ...MINIMAL,
    retry: { max_retries: 0 },
    upstream_keepalive: { idle_timeout_seconds: 5 },
  });
  assert.deepEqual(cfg.retry, {
    max_retries: 0,
    budget_ratio: 0.2,
    min_retries_per_second: 10,
    on_status: [],
  });
  assert.deepEqual(cfg.upstream_keepalive, { max_idle: 64, idle_timeout_seconds: 5 });
  assert.equal(valid({ ...MINIMAL, limits: { max_body_bytes: 10 } }).limits.max_header_count, 100);
  assert.deepEqual(valid({ ...MINIMAL, retry: {} }).retry, {
    max_retries: 2,
    budget_ratio: 0.2,
    min_retries_per_second: 10,
    on_status: [],
  });
});

Deno.test("validateGroupConfig() never shares default objects between results", () => {
  const a = valid(MINIMAL);
  const b = valid(MINIMAL);
  assert.notEqual(a.retry, b.retry);
  assert.notEqual(a.retry.on_status, b.retry.on_status);
  assert.notEqual(a.hash_key, b.hash_key);
  assert.notEqual(a.upstream_keepalive, b.upstream_keepalive);
  assert.notEqual(a.limits, b.limits);
  assert.notEqual(a.outlier_detection, b.outlier_detection);
});

Deno.test("validateGroupConfig() accepts every field set explicitly", () => {
  const blob = {
    backend_servers: ["10.0.0.1:80", { address: "[::1]:8080", weight: 10_000 }],
    health_endpoint: "/healthz?full=1",
    health_endpoint_expected_code: 204,
    health_check_frequency_seconds: 0.5,
    algorithm: "CONSISTENT_HASH",
    health_check_type: "tcp",
    health_check_timeout_seconds: 0.25,
    healthy_threshold: 1,
    unhealthy_threshold: 100,
    hash_key: { source: "header", name: "X-User-Id" },
    connect_timeout_seconds: 1,
    response_timeout_seconds: 86_400,
    retry: { max_retries: 10, budget_ratio: 0, min_retries_per_second: 0, on_status: [502, 503] },
    upstream_keepalive: { max_idle: 0, idle_timeout_seconds: 3600 },
    outlier_detection: {
      enabled: false,
      consecutive_failures: 1,
      count_5xx: false,
      base_ejection_seconds: 0.5,
      max_ejection_seconds: 60,
      max_ejection_percent: 100,
    },
    limits: {
      max_header_bytes: 4096,
      max_header_count: 10,
      max_uri_length: 100,
      max_body_bytes: 1_000_000,
      header_timeout_seconds: 1,
      idle_timeout_seconds: 5,
      body_timeout_seconds: 30,
      max_connections: 100,
      max_connections_per_ip: 10,
    },
    host_rewrite: "internal.example:8080",
    slow_start_seconds: 30,
    panic_threshold_percent: 50,
    allow_underscores_in_headers: true,
  };
  const cfg = valid(blob);
  assert.deepEqual(cfg.backend_servers[1], {
    address: "[::1]:8080",
    host: "::1",
    port: 8080,
    weight: 10_000,
  });
  assert.deepEqual({ ...cfg, backend_servers: blob.backend_servers }, blob);
});

Deno.test("validateGroupConfig() accepts every algorithm name", () => {
  assert.equal(ALGORITHMS.length, 7);
  for (const algorithm of ALGORITHMS) {
    assert.equal(valid({ ...MINIMAL, algorithm }).algorithm, algorithm);
  }
});

Deno.test("validateGroupConfig() accepts an empty backend list (every request gets a 503)", () => {
  assert.deepEqual(valid({ backend_servers: [] }).backend_servers, []);
});

Deno.test("validateGroupConfig() lower-cases host names and canonicalizes IPv6 addresses", () => {
  const cfg = valid({ backend_servers: ["API.Example.com:80", "[2001:DB8:0::1]:80"] });
  assert.deepEqual(cfg.backend_servers.map((b) => b.address), [
    "api.example.com:80",
    "[2001:db8::1]:80",
  ]);
  assert.equal(cfg.backend_servers[0]!.host, "api.example.com");
  assert.equal(cfg.backend_servers[1]!.host, "2001:db8::1");
});

Deno.test("validateGroupConfig() accepts a backend object without weight as weight 1", () => {
  assert.equal(valid({ backend_servers: [{ address: "a:1" }] }).backend_servers[0]!.weight, 1);
});

Deno.test("validateGroupConfig() accepts hash_key client_ip with or without a name", () => {
  assert.deepEqual(valid({ ...MINIMAL, hash_key: { source: "client_ip" } }).hash_key, {
    source: "client_ip",
  });
  assert.deepEqual(valid({ ...MINIMAL, hash_key: { source: "client_ip", name: "x" } }).hash_key, {
    source: "client_ip",
    name: "x",
  });
  for (const source of ["header", "cookie", "query"]) {
    assert.deepEqual(valid({ ...MINIMAL, hash_key: { source, name: "sid" } }).hash_key, {
      source,
      name: "sid",
    });
  }
  assert.equal(
    valid({ ...MINIMAL, hash_key: { source: "query", name: "a b" } }).hash_key.name,
    "a b",
  );
});

Deno.test("validateGroupConfig() does not modify its input", () => {
  const blob = structuredClone(ISSUE_EXAMPLE["lb-group-1"]);
  const copy = structuredClone(blob);
  valid(blob);
  assert.deepEqual(blob, copy);
});

Deno.test("groupConfigSchema parses the same as validateGroupConfig() for a valid blob", () => {
  assert.deepEqual(groupConfigSchema.parse(MINIMAL), valid(MINIMAL));
});

// --- unknown keys ----------------------------------------------------------------------------

Deno.test("validateGroupConfig() rejects an unknown top-level key", () => {
  assert.deepEqual(onlyIssue({ ...MINIMAL, algoritm: "RANDOM" }), ["algoritm", "unknown key"]);
});

Deno.test("validateGroupConfig() rejects unknown keys in retry, hash_key and upstream_keepalive", () => {
  assert.deepEqual(onlyIssue(withField("retry", { max_retry: 1 })), [
    "retry.max_retry",
    "unknown key",
  ]);
  assert.deepEqual(onlyIssue(withField("hash_key", { source: "client_ip", header: "x" })), [
    "hash_key.header",
    "unknown key",
  ]);
  assert.deepEqual(onlyIssue(withField("upstream_keepalive", { idle: 1 })), [
    "upstream_keepalive.idle",
    "unknown key",
  ]);
});

Deno.test("validateGroupConfig() rejects unknown keys in a backend object", () => {
  assert.deepEqual(
    onlyIssue({ backend_servers: ["a:1", { address: "b:1", weight: 2, wieght: 3 }] }),
    ["backend_servers[1].wieght", "unknown key"],
  );
});

Deno.test("validateGroupConfig() lists every unknown key, one issue each", () => {
  const found = issues({ ...MINIMAL, a: 1, b: 2, retry: { c: 3 } });
  assert.deepEqual(found.map((i) => [i.field, i.reason]).sort(), [
    ["a", "unknown key"],
    ["b", "unknown key"],
    ["retry.c", "unknown key"],
  ]);
});

Deno.test("validateGroupConfig() rejects __proto__ as an unknown key", () => {
  const blob = JSON.parse('{"backend_servers": ["a:1"], "__proto__": {"algorithm": "RANDOM"}}');
  assert.deepEqual(onlyIssue(blob), ["__proto__", "unknown key"]);
  const backend = JSON.parse('{"backend_servers": [{"address": "a:1", "__proto__": {}}]}');
  assert.deepEqual(onlyIssue(backend), ["backend_servers[0].__proto__", "unknown key"]);
});

Deno.test("validateGroupConfig() quotes unknown keys that are not plain names", () => {
  assert.deepEqual(onlyIssue({ ...MINIMAL, "bad key": 1 }), ['["bad key"]', "unknown key"]);
  assert.deepEqual(onlyIssue(withField("retry", { "a.b": 1 })), ['retry["a.b"]', "unknown key"]);
  assert.deepEqual(onlyIssue({ ...MINIMAL, "x\ny": 1 }), ['["x\\ny"]', "unknown key"]);
});

// --- backend_servers ---------------------------------------------------------------------------

Deno.test("validateGroupConfig() requires backend_servers", () => {
  assert.deepEqual(onlyIssue({}), ["backend_servers", "is required"]);
  assert.deepEqual(onlyIssue({ algorithm: "RANDOM" }), ["backend_servers", "is required"]);
  assert.deepEqual(onlyIssue({ backend_servers: undefined }), ["backend_servers", "is required"]);
});

Deno.test("validateGroupConfig() requires backend_servers to be a list", () => {
  for (const value of ["10.0.0.1:80", { address: "a:1" }, null, 3]) {
    assert.deepEqual(onlyIssue({ backend_servers: value }), [
      "backend_servers",
      "must be a list of backends",
    ]);
  }
});

Deno.test("validateGroupConfig() rejects backends that are neither strings nor objects", () => {
  const shape = 'must be "host:port" or {"address": "host:port", "weight": N, "drain": true|false}';
  for (const value of [null, 80, true, ["a:1"]]) {
    assert.deepEqual(onlyIssue({ backend_servers: ["a:1", value] }), ["backend_servers[1]", shape]);
  }
});

Deno.test("validateGroupConfig() rejects bad backend addresses with the parser's reason", () => {
  const cases: [string, string][] = [
    ["10.0.0.1", '"10.0.0.1" is not host:port'],
    ["10.0.0.1:0", "port 0 is outside 1-65535"],
    ["10.0.0.1:65536", "port 65536 is outside 1-65535"],
    ["10.0.0.1:http", 'port "http" is not a number'],
    ["bad_host:80", '"bad_host" is not a valid host name or IPv4 address'],
    ["-bad.example:80", '"-bad.example" is not a valid host name or IPv4 address'],
    ["256.1.1.1:80", '"256.1.1.1" is not a valid host name or IPv4 address'],
    ["::1:80", '"::1:80" has an IPv6 host without brackets'],
    ["[::1]", '"[::1]" is not host:port (IPv6 needs [addr]:port)'],
    ["[1::2::3]:80", '"1::2::3" is not an IPv6 address'],
  ];
  for (const [address, reason] of cases) {
    assert.deepEqual(onlyIssue({ backend_servers: [address] }), ["backend_servers[0]", reason]);
    assert.deepEqual(onlyIssue({ backend_servers: ["a:1", { address }] }), [
      "backend_servers[1].address",
      reason,
    ]);
  }
});

Deno.test("validateGroupConfig() accepts [::1]:80", () => {
  assert.equal(valid({ backend_servers: ["[::1]:80"] }).backend_servers[0]!.address, "[::1]:80");
});

Deno.test("validateGroupConfig() requires address in a backend object, as a string", () => {
  assert.deepEqual(onlyIssue({ backend_servers: [{ weight: 2 }] }), [
    "backend_servers[0].address",
    "is required",
  ]);
  assert.deepEqual(onlyIssue({ backend_servers: [{ address: 9001 }] }), [
    "backend_servers[0].address",
    'must be a "host:port" string',
  ]);
});

Deno.test("validateGroupConfig() rejects weights that are not integers from 1 to 10000", () => {
  const cases: [unknown, string][] = [
    [0, "0"],
    [-1, "-1"],
    [1.5, "1.5"],
    [10_001, "10001"],
    [1e9, "1000000000"],
    ["3", '"3"'],
    [null, "null"],
    [true, "true"],
  ];
  for (const [weight, shown] of cases) {
    assert.deepEqual(
      onlyIssue({ backend_servers: ["127.0.0.1:9001", { address: "127.0.0.1:9002", weight }] }),
      ["backend_servers[1].weight", `must be an integer from 1 to 10000 (got ${shown})`],
    );
  }
  assert.equal(
    valid({ backend_servers: [{ address: "a:1", weight: 10_000 }] }).backend_servers[0]!
      .weight,
    10_000,
  );
});

Deno.test("validateGroupConfig() reports every problem of one backend object", () => {
  const found = issues({ backend_servers: [{ address: "nope", weight: 0, extra: true }] });
  assert.deepEqual(found.map((i) => [i.field, i.reason]), [
    ["backend_servers[0].extra", "unknown key"],
    ["backend_servers[0].address", '"nope" is not host:port'],
    ["backend_servers[0].weight", "must be an integer from 1 to 10000 (got 0)"],
  ]);
});

Deno.test("validateGroupConfig() rejects duplicate backends, naming the first index", () => {
  assert.deepEqual(onlyIssue({ backend_servers: ["a:1", "b:1", "a:1"] }), [
    "backend_servers[2]",
    "duplicate backend a:1 (also at index 0)",
  ]);
  assert.deepEqual(
    onlyIssue({ backend_servers: ["10.0.0.1:80", { address: "10.0.0.1:80", weight: 2 }] }),
    ["backend_servers[1]", "duplicate backend 10.0.0.1:80 (also at index 0)"],
  );
});

Deno.test("validateGroupConfig() treats host names differing in case as duplicates", () => {
  assert.deepEqual(onlyIssue({ backend_servers: ["API.example.com:80", "api.EXAMPLE.com:80"] }), [
    "backend_servers[1]",
    "duplicate backend api.example.com:80 (also at index 0)",
  ]);
});

Deno.test("validateGroupConfig() treats equal IPv6 addresses written differently as duplicates", () => {
  assert.deepEqual(onlyIssue({ backend_servers: ["[::1]:80", "[0:0:0:0:0:0:0:1]:80"] }), [
    "backend_servers[1]",
    "duplicate backend [::1]:80 (also at index 0)",
  ]);
});

Deno.test("validateGroupConfig() allows the same host on different ports", () => {
  assert.equal(valid({ backend_servers: ["a:1", "a:2", "A:3"] }).backend_servers.length, 3);
});

Deno.test("validateGroupConfig() reports duplicates even when another backend is invalid", () => {
  const found = issues({ backend_servers: ["a:1", "bad", "a:1", { address: "b:1", weight: 0 }] });
  assert.deepEqual(found.map((i) => [i.field, i.reason]), [
    ["backend_servers[1]", '"bad" is not host:port'],
    ["backend_servers[2]", "duplicate backend a:1 (also at index 0)"],
    ["backend_servers[3].weight", "must be an integer from 1 to 10000 (got 0)"],
  ]);
});

// --- other fields ------------------------------------------------------------------------------

Deno.test("validateGroupConfig() rejects an unknown algorithm, listing the valid ones", () => {
  const expected = `must be one of ${ALGORITHMS.join(", ")}`;
  for (const algorithm of ["LEAST_CONN", "round_robin", "", 1, null]) {
    assert.deepEqual(onlyIssue(withField("algorithm", algorithm)), ["algorithm", expected]);
  }
});

Deno.test("validateGroupConfig() rejects an unknown health_check_type", () => {
  assert.deepEqual(onlyIssue(withField("health_check_type", "grpc")), [
    "health_check_type",
    "must be http or tcp",
  ]);
});

Deno.test("validateGroupConfig() requires an absolute health_endpoint without spaces", () => {
  const reason = 'must be an absolute path starting with "/" without spaces or control characters';
  for (const path of ["health", "", "http://x/health", "/he alth", "/health\n", "/\u00e9"]) {
    assert.deepEqual(onlyIssue(withField("health_endpoint", path)), ["health_endpoint", reason]);
  }
  assert.deepEqual(onlyIssue(withField("health_endpoint", 5)), [
    "health_endpoint",
    "must be a string",
  ]);
  assert.equal(valid(withField("health_endpoint", "/")).health_endpoint, "/");
});

Deno.test("validateGroupConfig() bounds health_endpoint_expected_code to 100-599 integers", () => {
  assert.deepEqual(onlyIssue(withField("health_endpoint_expected_code", 99)), [
    "health_endpoint_expected_code",
    "must be at least 100",
  ]);
  assert.deepEqual(onlyIssue(withField("health_endpoint_expected_code", 600)), [
    "health_endpoint_expected_code",
    "must be at most 599",
  ]);
  assert.deepEqual(onlyIssue(withField("health_endpoint_expected_code", 200.5)), [
    "health_endpoint_expected_code",
    "must be an integer",
  ]);
  assert.deepEqual(onlyIssue(withField("health_endpoint_expected_code", "200")), [
    "health_endpoint_expected_code",
    "must be an integer",
  ]);
  assert.equal(
    valid(withField("health_endpoint_expected_code", 100)).health_endpoint_expected_code,
    100,
  );
  assert.equal(
    valid(withField("health_endpoint_expected_code", 599)).health_endpoint_expected_code,
    599,
  );
});

Deno.test("validateGroupConfig() bounds every duration in seconds", () => {
  const bounds: [string, number, number][] = [
    ["health_check_frequency_seconds", 0.05, 86_400],
    ["health_check_timeout_seconds", 0.01, 3600],
    ["connect_timeout_seconds", 0.01, 600],
    ["response_timeout_seconds", 0.01, 86_400],
  ];
  for (const [field, min, max] of bounds) {
    assert.equal(valid(withField(field, min))[field as keyof GroupConfig], min);
    assert.equal(valid(withField(field, max))[field as keyof GroupConfig], max);
    assert.deepEqual(onlyIssue(withField(field, min / 2)), [field, `must be at least ${min}`]);
    assert.deepEqual(onlyIssue(withField(field, max + 1)), [field, `must be at most ${max}`]);
    assert.deepEqual(onlyIssue(withField(field, -1)), [field, `must be at least ${min}`]);
    assert.deepEqual(onlyIssue(withField(field, "10")), [field, "must be a number of seconds"]);
    assert.deepEqual(onlyIssue(withField(field, null)), [field, "must be a number of seconds"]);
  }
});

Deno.test("validateGroupConfig() bounds healthy_threshold and unhealthy_threshold to 1-100", () => {
  for (const field of ["healthy_threshold", "unhealthy_threshold"]) {
    assert.deepEqual(onlyIssue(withField(field, 0)), [field, "must be at least 1"]);
    assert.deepEqual(onlyIssue(withField(field, 101)), [field, "must be at most 100"]);
    assert.deepEqual(onlyIssue(withField(field, 2.5)), [field, "must be an integer"]);
    assert.deepEqual(onlyIssue(withField(field, "3")), [field, "must be an integer"]);
    assert.equal(valid(withField(field, 1))[field as keyof GroupConfig], 1);
    assert.equal(valid(withField(field, 100))[field as keyof GroupConfig], 100);
  }
});

Deno.test("validateGroupConfig() requires a name for hash_key header, cookie and query", () => {
  for (const source of ["header", "cookie", "query"]) {
    assert.deepEqual(onlyIssue(withField("hash_key", { source })), [
      "hash_key.name",
      `is required when source is ${source}`,
    ]);
    assert.deepEqual(onlyIssue(withField("hash_key", { source, name: "" })), [
      "hash_key.name",
      "must not be empty",
    ]);
  }
  assert.deepEqual(onlyIssue(withField("hash_key", { source: "query", name: "x".repeat(257) })), [
    "hash_key.name",
    "must be at most 256 characters",
  ]);
  for (const name of [1, ["a b"], null]) {
    assert.deepEqual(onlyIssue(withField("hash_key", { source: "header", name })), [
      "hash_key.name",
      "must be a string",
    ]);
  }
});

Deno.test("validateGroupConfig() requires header and cookie names to be HTTP tokens", () => {
  for (const source of ["header", "cookie"]) {
    for (const name of ["X User", "x:y", "a;b", "caf\u00e9"]) {
      const [field, reason] = onlyIssue(withField("hash_key", { source, name }));
      assert.equal(field, "hash_key.name");
      assert.match(reason, new RegExp(`^must be a valid ${source} name`));
    }
  }
});

Deno.test("validateGroupConfig() rejects an unknown hash_key source or a missing one", () => {
  assert.deepEqual(onlyIssue(withField("hash_key", { source: "body" })), [
    "hash_key.source",
    "must be one of client_ip, header, cookie, query",
  ]);
  assert.deepEqual(onlyIssue(withField("hash_key", {})), ["hash_key.source", "is required"]);
  assert.deepEqual(onlyIssue(withField("hash_key", { name: "x" })), [
    "hash_key.source",
    "is required",
  ]);
  assert.deepEqual(onlyIssue(withField("hash_key", { source: 3, name: "a b" })), [
    "hash_key.source",
    "must be one of client_ip, header, cookie, query",
  ]);
  assert.deepEqual(onlyIssue(withField("hash_key", "client_ip")), [
    "hash_key",
    "must be an object",
  ]);
});

Deno.test("validateGroupConfig() bounds the retry settings", () => {
  assert.deepEqual(onlyIssue(withField("retry", { max_retries: 11 })), [
    "retry.max_retries",
    "must be at most 10",
  ]);
  assert.deepEqual(onlyIssue(withField("retry", { max_retries: -1 })), [
    "retry.max_retries",
    "must be at least 0",
  ]);
  assert.deepEqual(onlyIssue(withField("retry", { budget_ratio: 10.5 })), [
    "retry.budget_ratio",
    "must be at most 10",
  ]);
  assert.deepEqual(onlyIssue(withField("retry", { budget_ratio: -0.1 })), [
    "retry.budget_ratio",
    "must be at least 0",
  ]);
  assert.deepEqual(onlyIssue(withField("retry", { budget_ratio: "0.2" })), [
    "retry.budget_ratio",
    "must be a number",
  ]);
  assert.deepEqual(onlyIssue(withField("retry", { min_retries_per_second: 100_001 })), [
    "retry.min_retries_per_second",
    "must be at most 100000",
  ]);
  assert.deepEqual(onlyIssue(withField("retry", 3)), ["retry", "must be an object"]);
});

Deno.test("validateGroupConfig() checks retry.on_status entry by entry, naming the entry", () => {
  assert.deepEqual(valid(withField("retry", { on_status: [502, 503, 504] })).retry.on_status, [
    502,
    503,
    504,
  ]);
  assert.deepEqual(valid(withField("retry", { on_status: [500, 599] })).retry.on_status, [
    500,
    599,
  ]);
  const status = "must be an integer status from 500 to 599";
  assert.deepEqual(onlyIssue(withField("retry", { on_status: [503, 404] })), [
    "retry.on_status[1]",
    status,
  ]);
  assert.deepEqual(onlyIssue(withField("retry", { on_status: [600] })), [
    "retry.on_status[0]",
    status,
  ]);
  assert.deepEqual(onlyIssue(withField("retry", { on_status: [502.5] })), [
    "retry.on_status[0]",
    status,
  ]);
  assert.deepEqual(onlyIssue(withField("retry", { on_status: [502, "503"] })), [
    "retry.on_status[1]",
    status,
  ]);
  assert.deepEqual(onlyIssue(withField("retry", { on_status: [503, 502, 503] })), [
    "retry.on_status[2]",
    "duplicate status 503 (also at index 0)",
  ]);
  assert.deepEqual(onlyIssue(withField("retry", { on_status: 503 })), [
    "retry.on_status",
    "must be a list of status codes (500 to 599)",
  ]);
});

Deno.test("validateGroupConfig() bounds the upstream keepalive settings", () => {
  assert.deepEqual(onlyIssue(withField("upstream_keepalive", { max_idle: 10_001 })), [
    "upstream_keepalive.max_idle",
    "must be at most 10000",
  ]);
  assert.deepEqual(onlyIssue(withField("upstream_keepalive", { idle_timeout_seconds: 0.05 })), [
    "upstream_keepalive.idle_timeout_seconds",
    "must be at least 0.1",
  ]);
  assert.deepEqual(onlyIssue(withField("upstream_keepalive", [])), [
    "upstream_keepalive",
    "must be an object",
  ]);
});

Deno.test("validateGroupConfig() lists every issue of a blob at once", () => {
  const found = issues({
    backend_servers: ["a:1", { address: "b:1", weight: 0 }],
    algorithm: "FASTEST",
    healthy_threshold: 0,
    typo: true,
  });
  assert.deepEqual(found.map((i) => i.field).sort(), [
    "algorithm",
    "backend_servers[1].weight",
    "healthy_threshold",
    "typo",
  ]);
  assert.ok(found.every((i) => i.group === "g"));
});

// --- whole-blob and group-name checks -----------------------------------------------------------

Deno.test("validateGroupConfig() rejects input that is not a JSON object", () => {
  for (const input of [null, undefined, "x", 42, true, [], [MINIMAL]]) {
    assert.deepEqual(issues(input), [{
      group: "g",
      field: "",
      reason: "config must be a JSON object",
    }]);
  }
});

Deno.test("validateGroupConfig() rejects invalid group names before looking at the blob", () => {
  const reason = "group name must be 1-128 of A-Z a-z 0-9 . _ - and start with a letter or digit";
  for (const name of ["", "-g", ".g", "_g", "a b", "a/b", "g\n", "x".repeat(129), "caf\u00e9"]) {
    assert.deepEqual(issues(MINIMAL, name), [{ group: name, field: "", reason }], name);
  }
});

Deno.test("validateGroupConfig() accepts group names of letters, digits, dots, dashes and underscores", () => {
  for (const name of ["g", "lb-group-1", "A.b_c-9", "1", "x".repeat(128)]) {
    assert.ok(GROUP_NAME.test(name), name);
    valid(MINIMAL, name);
  }
});

Deno.test("validateGroupConfig() names the group in every issue", () => {
  const found = issues({ backend_servers: ["bad"], x: 1 }, "lb-group-7");
  assert.ok(found.length === 2 && found.every((i) => i.group === "lb-group-7"));
});

// --- config files and JSON --------------------------------------------------------------------

Deno.test("validateConfigFile() rejects an empty file", () => {
  assert.deepEqual(validateConfigFile({}), {
    ok: false,
    issues: [{ group: "*", field: "", reason: "config file has no groups" }],
  });
});

Deno.test("validateConfigFile() rejects a file that is not an object of groups", () => {
  for (const input of [null, [], "x", 1, [ISSUE_EXAMPLE]]) {
    assert.deepEqual(validateConfigFile(input), {
      ok: false,
      issues: [{ group: "*", field: "", reason: "config file must be a JSON object of groups" }],
    });
  }
});

Deno.test("validateConfigFile() validates several groups", () => {
  const r = validateConfigFile({
    "api": { backend_servers: ["10.0.0.1:80"] },
    "web": { backend_servers: ["10.0.0.2:80"], algorithm: "LEAST_CONNECTIONS" },
  });
  if (!r.ok) assert.fail(formatIssues(r.issues));
  assert.deepEqual(Object.keys(r.value), ["api", "web"]);
  assert.equal(r.value.web!.algorithm, "LEAST_CONNECTIONS");
  assert.equal(r.value.api!.algorithm, "ROUND_ROBIN");
});

Deno.test("validateConfigFile() is invalid when one group is, and lists every issue of every group", () => {
  const r = validateConfigFile({
    "good": MINIMAL,
    "bad-1": { backend_servers: ["x"], algorithm: "NOPE" },
    "bad 2": MINIMAL,
    "bad-3": { health_endpoint: "/h" },
  });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.issues.map((i) => [i.group, i.field]), [
    ["bad-1", "backend_servers[0]"],
    ["bad-1", "algorithm"],
    ["bad 2", ""],
    ["bad-3", "backend_servers"],
  ]);
});

Deno.test("validateConfigFile() rejects a group named __proto__", () => {
  const r = validateConfigFile(JSON.parse('{"__proto__": {"backend_servers": ["a:1"]}}'));
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.issues[0]!.group, "__proto__");
});

Deno.test("parseJsonConfig() parses JSON text", () => {
  assert.deepEqual(parseJsonConfig('{"a": [1, "b"]}'), { ok: true, value: { a: [1, "b"] } });
  assert.deepEqual(parseJsonConfig("null"), { ok: true, value: null });
});

Deno.test("parseJsonConfig() turns a syntax error into one issue, under * or the given group", () => {
  for (const text of ["", "{", '{"a": 1,}', "{'a': 1}", "nope"]) {
    const r = parseJsonConfig(text);
    assert.equal(r.ok, false, text);
    if (r.ok) continue;
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0]!.group, "*");
    assert.equal(r.issues[0]!.field, "");
    assert.match(r.issues[0]!.reason, /^invalid JSON: /);
  }
  const r = parseJsonConfig("{", "lb-group-1");
  assert.ok(!r.ok && r.issues[0]!.group === "lb-group-1");
});

Deno.test("parseJsonConfig() then validateGroupConfig() accepts the issue's blob from text", () => {
  const parsed = parseJsonConfig(JSON.stringify(ISSUE_EXAMPLE["lb-group-1"]));
  assert.ok(parsed.ok);
  valid(parsed.value, "lb-group-1");
});

// --- formatIssues -----------------------------------------------------------------------------

Deno.test('formatIssues() writes one line per issue as group "g": field: reason', () => {
  const found = issues({
    backend_servers: ["127.0.0.1:9001", { address: "127.0.0.1:9002", weight: 0 }],
    retry: { nope: 1 },
  });
  const text = formatIssues(found);
  assert.equal(
    text,
    [
      'group "g": backend_servers[1].weight: must be an integer from 1 to 10000 (got 0)',
      'group "g": retry.nope: unknown key',
    ].join("\n"),
  );
  for (const line of text.split("\n")) assert.match(line, /^group "g": [^:]+: .+$/);
});

Deno.test("formatIssues() leaves out the field of whole-blob issues", () => {
  assert.equal(
    formatIssues([{ group: "g", field: "", reason: "config must be a JSON object" }]),
    'group "g": config must be a JSON object',
  );
  assert.equal(formatIssues([]), "");
});

Deno.test("formatIssues() keeps each issue on one line whatever the input contains", () => {
  const text = formatIssues([
    { group: "a\nb", field: "x\ny", reason: "line1\nline2\r" },
    { group: 'q"uote', field: "", reason: "ok" },
  ]);
  assert.equal(text.split("\n").length, 2);
  assert.equal(text, 'group "a\\nb": x\\ny: line1\\nline2\\r\ngroup "q\\"uote": ok');
  const r = validateConfigFile({ "bad\nname": MINIMAL, "g": { backend_servers: ["x\n:80"] } });
  assert.ok(!r.ok);
  assert.equal(formatIssues(r.issues).split("\n").length, 2);
});

Deno.test("validateGroupConfig() rejects bad production settings with field and reason", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ host_rewrite: "bad host" }, "host_rewrite: must be a host or host:port"],
    [{ limits: { max_header_bytes: 10 } }, "limits.max_header_bytes: must be at least 1024"],
    [{ limits: { max_body_bytes: -1 } }, "limits.max_body_bytes: must be at least 0"],
    [{ limits: { bogus: 1 } }, "limits.bogus: unknown key"],
    [
      { outlier_detection: { max_ejection_percent: 101 } },
      "outlier_detection.max_ejection_percent: must be at most 100",
    ],
    [{ outlier_detection: { enabled: "yes" } }, "outlier_detection.enabled: must be true or false"],
    [{ slow_start_seconds: -1 }, "slow_start_seconds: must be at least 0"],
    [{ panic_threshold_percent: 1.5 }, "panic_threshold_percent: must be an integer"],
    [
      { allow_underscores_in_headers: "yes" },
      "allow_underscores_in_headers: must be true or false",
    ],
    [{ allow_underscores_in_headers: 1 }, "allow_underscores_in_headers: must be true or false"],
    [{ allow_underscores_in_headers: null }, "allow_underscores_in_headers: must be true or false"],
  ];
  for (const [extra, expected] of cases) {
    const r = validateGroupConfig("g", { ...MINIMAL, ...extra });
    assert.equal(r.ok, false, JSON.stringify(extra));
    if (!r.ok) assert.ok(formatIssues(r.issues).includes(expected), formatIssues(r.issues));
  }
});

Deno.test("validateGroupConfig() accepts drain on a backend object and refuses a non-boolean", () => {
  const cfg = valid({
    backend_servers: [{ address: "a:1", drain: true }, { address: "b:2", drain: false }],
  });
  assert.deepEqual(cfg.backend_servers[0], {
    address: "a:1",
    host: "a",
    port: 1,
    weight: 1,
    drain: true,
  });
  assert.deepEqual(cfg.backend_servers[1], { address: "b:2", host: "b", port: 2, weight: 1 });
  const r = validateGroupConfig("g", { backend_servers: [{ address: "a:1", drain: "yes" }] });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.match(formatIssues(r.issues), /backend_servers\[0\]\.drain: must be true or false/);
  }
});

Deno.test("validateGroupConfig() takes upstream tls, verify on by default, absent meaning off", () => {
  assert.equal(valid(MINIMAL).tls, undefined);
  assert.deepEqual(valid({ ...MINIMAL, tls: {} }).tls, { enabled: false, verify: true });
  assert.deepEqual(
    valid({
      ...MINIMAL,
      tls: { enabled: true, server_name: "api.internal", ca_file: "/etc/ca.pem", verify: false },
    }).tls,
    { enabled: true, server_name: "api.internal", ca_file: "/etc/ca.pem", verify: false },
  );
});

Deno.test("validateGroupConfig() names the tls field at fault", () => {
  const table: [unknown, string, RegExp][] = [
    ["yes", "tls", /must be an object/],
    [{ enabled: "yes" }, "tls.enabled", /true or false/],
    [{ verify: 1 }, "tls.verify", /true or false/],
    [{ server_name: "bad name" }, "tls.server_name", /DNS name/],
    [{ server_name: "-x.test" }, "tls.server_name", /DNS name/],
    [{ server_name: 7 }, "tls.server_name", /string/],
    [{ ca_file: "" }, "tls.ca_file", /must not be empty/],
    [{ ca_file: 1 }, "tls.ca_file", /string/],
    [{ sni: "x" }, "tls.sni", /unknown key/],
  ];
  for (const [tls, field, reason] of table) {
    const [issue] = issues({ ...MINIMAL, tls });
    assert.equal(issue!.field, field, JSON.stringify(tls));
    assert.match(issue!.reason, reason, JSON.stringify(tls));
  }
});

Deno.test("validateGroupConfig() takes protocol http/1.1 or h2 (absent: http/1.1) and names it when bad", () => {
  assert.equal(valid(MINIMAL).protocol, undefined);
  assert.equal(valid({ ...MINIMAL, protocol: "h2" }).protocol, "h2");
  assert.equal(valid({ ...MINIMAL, protocol: "http/1.1" }).protocol, "http/1.1");
  for (const bad of ["h2c", "HTTP/2", 2, null]) {
    const [issue] = issues({ ...MINIMAL, protocol: bad });
    assert.equal(issue!.field, "protocol", JSON.stringify(bad));
    assert.match(issue!.reason, /must be http\/1\.1 or h2/, JSON.stringify(bad));
  }
});
