import assert from "node:assert/strict";
import {
  coreDnsTargetName,
  decodeRecord,
  DEFAULT_PREFIX,
  encodeRecord,
  instanceKey,
  legacyRegionTreesPrefix,
  normalizePrefix,
  normalizeZone,
  parseKey,
  regionPath,
  regionTreesPrefix,
  registrationKeys,
  sanitizeLabel,
  shortHash,
  SkyDnsError,
  srvWeights,
  validateRecord,
  validateRegion,
  zoneLabels,
  zonePath,
} from "./skydns.ts";
import type { SkyDnsRecord } from "./skydns.ts";

const VALID_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

Deno.test("the seed's example: zone api.example.com, instance lb1", () => {
  assert.equal(DEFAULT_PREFIX, "/skydns");
  assert.equal(instanceKey("api.example.com", "lb1"), "/skydns/com/example/api/lb1");
  assert.equal(zonePath("api.example.com"), "/skydns/com/example/api");
  assert.equal(
    encodeRecord({
      host: "10.0.0.10",
      port: 80,
      priority: 10,
      weight: 100,
      text: "Location: US-East",
    }),
    '{"host":"10.0.0.10","port":80,"priority":10,"weight":100,"text":"Location: US-East"}',
  );
});

Deno.test("shortHash: 8 hex digits, stable, distinct for distinct inputs", () => {
  assert.match(shortHash(""), /^[0-9a-f]{8}$/);
  assert.equal(shortHash(""), "811c9dc5"); // FNV-1a offset basis
  assert.equal(shortHash("a"), "e40c292c"); // FNV-1a("a")
  assert.equal(shortHash("lb1"), shortHash("lb1"));
  assert.notEqual(shortHash("lb1"), shortHash("lb2"));
});

Deno.test("sanitizeLabel: valid labels pass unchanged", () => {
  for (const name of ["lb1", "a", "0", "lb-1", "x".repeat(63), "127-0-0-1-8080"]) {
    assert.equal(sanitizeLabel(name), name);
  }
});

Deno.test("sanitizeLabel: case, punctuation, edges", () => {
  assert.equal(sanitizeLabel("LB_1"), "lb-1");
  assert.equal(sanitizeLabel("127.0.0.1:8080"), "127-0-0-1-8080");
  assert.equal(sanitizeLabel("[::1]:9001"), "1-9001");
  assert.equal(sanitizeLabel("--proxy--"), "proxy");
  assert.equal(sanitizeLabel("proxy one/two"), "proxy-one-two");
  assert.equal(sanitizeLabel("a...b"), "a-b");
  assert.equal(sanitizeLabel("_region"), "region", "an instance can never be named _region");
});

Deno.test("sanitizeLabel: nothing usable becomes x-<hash>", () => {
  assert.equal(sanitizeLabel(""), `x-${shortHash("")}`);
  assert.equal(sanitizeLabel("___"), `x-${shortHash("___")}`);
  assert.equal(sanitizeLabel("ünïcödé"), "n-c-d");
  assert.match(sanitizeLabel("日本"), /^x-[0-9a-f]{8}$/);
});

Deno.test("sanitizeLabel: long names keep a prefix and a hash, stay unique", () => {
  const a = sanitizeLabel("p".repeat(100));
  const b = sanitizeLabel("p".repeat(101));
  assert.equal(a.length <= 63, true);
  assert.match(a, VALID_LABEL);
  assert.notEqual(a, b);
  assert.equal(a, `${"p".repeat(54)}-${shortHash("p".repeat(100))}`);
  // A cut that would end in "-" is trimmed before the hash.
  const dashy = sanitizeLabel(`${"a".repeat(53)}-${"b".repeat(20)}`);
  assert.match(dashy, VALID_LABEL);
  assert.equal(dashy.includes("--"), false);
});

Deno.test("sanitizeLabel: always a valid label (sweep)", () => {
  const samples = [
    "x",
    "-",
    "A-B",
    "a b c",
    "é",
    "-a-",
    "9",
    "a".repeat(64),
    "-".repeat(70) + "z",
    "ab".repeat(40),
    "Proxy #7 (eu-west)",
  ];
  for (let i = 0; i < 200; i++) samples.push(String.fromCharCode(...[i, i + 40, 97 + (i % 26)]));
  for (const name of samples) assert.match(sanitizeLabel(name), VALID_LABEL, JSON.stringify(name));
});

Deno.test("zoneLabels / normalizeZone: valid zones", () => {
  assert.deepEqual(zoneLabels("api.example.com"), ["api", "example", "com"]);
  assert.deepEqual(zoneLabels("API.Example.COM."), ["api", "example", "com"]);
  assert.equal(normalizeZone("Example.com."), "example.com");
  assert.equal(normalizeZone("com"), "com");
  assert.equal(normalizeZone(`${"a".repeat(63)}.com`), `${"a".repeat(63)}.com`);
});

Deno.test("zoneLabels: invalid zones throw SkyDnsError", () => {
  for (
    const bad of [
      "",
      ".",
      "a..com",
      "-a.com",
      "a-.com",
      "a_b.com",
      "a b.com",
      `${"a".repeat(64)}.com`,
      `${"a.".repeat(127)}com`,
    ]
  ) {
    assert.throws(() => zoneLabels(bad), SkyDnsError, bad);
  }
});

Deno.test("normalizePrefix: one absolute path segment, rejects the rest", () => {
  assert.equal(normalizePrefix(), "/skydns");
  assert.equal(normalizePrefix("/switchyard-dns"), "/switchyard-dns");
  assert.equal(normalizePrefix("/swytest-1a2b.c_d"), "/swytest-1a2b.c_d");
  for (
    const bad of [
      "",
      "/",
      "skydns",
      "/skydns/",
      "//skydns",
      "/a//b",
      "/a b",
      "/a/../b",
      "/.",
      "/..",
      // more than one segment: CoreDNS would answer SRV targets like lb1.api.example.com.dns.
      "/switchyard/dns",
      "/x/y",
    ]
  ) {
    assert.throws(() => normalizePrefix(bad), SkyDnsError, bad);
  }
  assert.throws(() => normalizePrefix("/switchyard/dns"), /one etcd path segment/);
});

Deno.test("coreDnsTargetName: CoreDNS's msg.Domain drops exactly one path segment", () => {
  const table: [string, string][] = [
    ["/skydns/com/example/api/lb1", "lb1.api.example.com."],
    ["/skydns/com/example/api/lb1/", "lb1.api.example.com."],
    ["/p/test/example/api/p1", "p1.api.example.test."],
    // what the layouts before issue 12 produced (issue 12, point 3):
    ["/skydns/_region/us/test/example/api/p1", "p1.api.example.test.us._region."],
    ["/switchyard/dns/com/example/api/lb1", "lb1.api.example.com.dns."],
  ];
  for (const [key, name] of table) assert.equal(coreDnsTargetName(key), name, key);
});

Deno.test("every key an instance registers is answered under its own name by CoreDNS", () => {
  // CoreDNS names an SRV target (and its additional A record) after the key it came from, so
  // a target resolves only if that name is the instance's name: the same in every tree.
  const table: {
    zone: string;
    instance: string;
    prefix?: string;
    region?: string;
    name: string;
  }[] = [
    { zone: "api.example.com", instance: "lb1", name: "lb1.api.example.com." },
    { zone: "api.example.test", instance: "p1", region: "us", name: "p1.api.example.test." },
    { zone: "api.example.test", instance: "p1", region: "eu", name: "p1.api.example.test." },
    {
      zone: "API.Example.com.",
      instance: "LB_2",
      prefix: "/swytest-1a2b",
      region: "us-east-1",
      name: "lb-2.api.example.com.",
    },
    { zone: "a.b.c.d", instance: "x", prefix: "/p", region: "r2", name: "x.a.b.c.d." },
  ];
  for (const row of table) {
    const keys = registrationKeys(row.zone, row.instance, row);
    assert.equal(keys.length, row.region === undefined ? 1 : 2);
    // each key is where CoreDNS looks that name up in its tree: the global tree, then the region's
    const paths = [normalizePrefix(row.prefix)];
    if (row.region !== undefined) paths.push(regionPath(row.region, row.prefix));
    const labels = row.name.slice(0, -1).split(".").reverse().join("/");
    assert.deepEqual(keys, paths.map((path) => `${path}/${labels}`));
    for (const key of keys) {
      assert.equal(coreDnsTargetName(key), row.name, `${JSON.stringify(row)}: ${key}`);
    }
  }
});

Deno.test("validateRegion / regionPath: a region's tree is one segment, next to the global", () => {
  assert.equal(validateRegion("eu"), "eu");
  assert.equal(validateRegion("us-east-1"), "us-east-1");
  assert.equal(regionPath("eu"), "/skydns-region-eu");
  assert.equal(regionPath("r1", "/x"), "/x-region-r1");
  assert.equal(regionTreesPrefix("/x"), "/x-region-");
  assert.equal(legacyRegionTreesPrefix(), "/skydns/_region/");
  assert.throws(() => regionPath("r1", "/x/y"), /one etcd path segment/);
  for (const bad of ["", "EU", "eu_west", "-eu", "eu.west", "a".repeat(64)]) {
    assert.throws(() => validateRegion(bad), SkyDnsError, bad);
  }
  assert.throws(() => regionPath("eu", "bad"), SkyDnsError);
});

Deno.test("zonePath / instanceKey: prefixes and regions", () => {
  assert.equal(zonePath("example.com", { prefix: "/p" }), "/p/com/example");
  assert.equal(zonePath("api.example.com", { region: "eu" }), "/skydns-region-eu/com/example/api");
  assert.equal(instanceKey("api.example.com", "LB 1"), "/skydns/com/example/api/lb-1");
  assert.equal(
    instanceKey("api.example.com", "lb1", { prefix: "/p", region: "r2" }),
    "/p-region-r2/com/example/api/lb1",
  );
  assert.equal(instanceKey("API.example.com.", "lb1"), "/skydns/com/example/api/lb1");
});

Deno.test("instanceKey: the full name must fit in 253 characters", () => {
  const zone = `${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}`;
  assert.equal(zone.length, 243);
  assert.equal(instanceKey(zone, "lb1").endsWith("/lb1"), true);
  assert.throws(() => instanceKey(zone, "lb-long-name"), /longer than 253/);
});

Deno.test("registrationKeys: global always, regional too when in a region", () => {
  assert.deepEqual(registrationKeys("api.example.com", "lb1"), ["/skydns/com/example/api/lb1"]);
  assert.deepEqual(registrationKeys("api.example.com", "lb1", { region: "eu", prefix: "/p" }), [
    "/p/com/example/api/lb1",
    "/p-region-eu/com/example/api/lb1",
  ]);
});

Deno.test("parseKey: inverse of instanceKey", () => {
  assert.deepEqual(parseKey("/skydns/com/example/api/lb1"), { name: "lb1.api.example.com" });
  assert.deepEqual(parseKey("/skydns-region-eu/com/example/api/lb1"), {
    name: "lb1.api.example.com",
    region: "eu",
  });
  assert.deepEqual(parseKey("/skydns-region-us-east-1/com/example/api/lb1"), {
    name: "lb1.api.example.com",
    region: "us-east-1",
  });
  // the layout before issue 12: read (to clean it up), marked legacy
  assert.deepEqual(parseKey("/skydns/_region/eu/com/example/api/lb1"), {
    name: "lb1.api.example.com",
    region: "eu",
    legacy: true,
  });
  assert.deepEqual(parseKey("/p/com/example", "/p"), { name: "example.com" });
  for (const zone of ["api.example.com", "a.b.c.d"]) {
    for (const region of [undefined, "us-east"]) {
      const key = instanceKey(zone, "Proxy#7", { region, prefix: "/x" });
      const parsed = parseKey(key, "/x");
      assert.equal(parsed?.name, `proxy-7.${zone}`);
      assert.equal(parsed?.region, region);
    }
  }
});

Deno.test("parseKey: undefined for foreign or malformed keys", () => {
  for (
    const bad of [
      "/other/com/example/api/lb1",
      "/skydnsx/com/example",
      "/skydns",
      "/skydns/",
      "/skydns/com//example",
      "/skydns/_region",
      "/skydns/_region/EU/com/example",
      "/skydns/_region/eu",
      "/skydns-region-",
      "/skydns-region-eu",
      "/skydns-region-eu/",
      "/skydns-region-EU/com/example",
      "/skydns-region-/com/example",
      "/skydns-regionx/com/example",
      "/skydns/com/Example",
      "/skydns/com/ex_ample",
    ]
  ) {
    assert.equal(parseKey(bad), undefined, bad);
  }
});

Deno.test("validateRecord / encodeRecord: fixed order, zero and empty fields omitted", () => {
  assert.equal(encodeRecord({ host: "198.18.10.1" }), '{"host":"198.18.10.1"}');
  assert.equal(
    encodeRecord({ text: "t", ttl: 30, weight: 5, priority: 1, port: 443, host: "::1" }),
    '{"host":"::1","port":443,"priority":1,"weight":5,"ttl":30,"text":"t"}',
  );
  assert.equal(
    encodeRecord({ host: "lb.example.com", port: 0, priority: 0, weight: 0, ttl: 0, text: "" }),
    '{"host":"lb.example.com"}',
  );
  assert.equal(encodeRecord({ host: "lb.example.com." }), '{"host":"lb.example.com."}');
  assert.deepEqual(validateRecord({ host: "1.2.3.4", port: 65535, ttl: 0xffffffff }), {
    host: "1.2.3.4",
    port: 65535,
    ttl: 0xffffffff,
  });
});

Deno.test("validateRecord: rejects bad hosts, numbers, types and unknown fields", () => {
  const bad: unknown[] = [
    {},
    { host: "" },
    { host: 5 },
    { host: "300.1.1.1" },
    { host: "1.2.3" },
    { host: "::g" },
    { host: "bad host" },
    { host: "-bad.example.com" },
    { host: "1.2.3.4", port: 65536 },
    { host: "1.2.3.4", port: -1 },
    { host: "1.2.3.4", port: 1.5 },
    { host: "1.2.3.4", port: "80" },
    { host: "1.2.3.4", priority: 70000 },
    { host: "1.2.3.4", weight: -1 },
    { host: "1.2.3.4", ttl: 2 ** 32 },
    { host: "1.2.3.4", text: 7 },
    { host: "1.2.3.4", mail: true },
    null,
  ];
  for (const record of bad) {
    assert.throws(
      () => validateRecord(record as SkyDnsRecord),
      SkyDnsError,
      JSON.stringify(record),
    );
  }
});

Deno.test("decodeRecord: round trip, ignores CoreDNS-only fields, rejects junk", () => {
  const record: SkyDnsRecord = { host: "198.18.10.1", port: 80, weight: 100, text: "eu" };
  assert.deepEqual(decodeRecord(encodeRecord(record)), record);
  assert.deepEqual(
    decodeRecord('{"host":"a.example.com","mail":true,"targetstrip":1,"group":"g"}'),
    {
      host: "a.example.com",
    },
  );
  assert.throws(() => decodeRecord("not json"), /not JSON/);
  assert.throws(() => decodeRecord("[1]"), /JSON object/);
  assert.throws(() => decodeRecord("null"), /JSON object/);
  assert.throws(() => decodeRecord('{"host":"1.2.3.4","bogus":1}'), /unknown field/);
});

Deno.test("srvWeights: CoreDNS's per-priority percentages", () => {
  assert.deepEqual(srvWeights([{ weight: 70 }, { weight: 30 }]), [
    { priority: 10, weight: 70 },
    { priority: 10, weight: 30 },
  ]);
  assert.deepEqual(srvWeights([{ weight: 2 }, { weight: 1 }]).map((w) => w.weight), [66, 33]);
  assert.deepEqual(srvWeights([{}, {}]).map((w) => w.weight), [50, 50], "absent weight is 100");
  assert.deepEqual(srvWeights([{ weight: 100 }]).map((w) => w.weight), [100]);
  assert.deepEqual(
    srvWeights([{ weight: 1 }, { weight: 1000 }]).map((w) => w.weight),
    [1, 99],
    "never below 1",
  );
  assert.deepEqual(srvWeights([{ priority: 10, weight: 70 }, { priority: 20, weight: 5 }]), [
    { priority: 10, weight: 100 },
    { priority: 20, weight: 100 },
  ]);
  assert.deepEqual(srvWeights([{ priority: 0 }, { priority: 10 }]).map((w) => w.priority), [
    10,
    10,
  ]);
  assert.deepEqual(srvWeights([{ weight: 1 }, { weight: 1 }, { weight: 1 }]).map((w) => w.weight), [
    33,
    33,
    33,
  ]);
  assert.deepEqual(srvWeights([]), []);
});
