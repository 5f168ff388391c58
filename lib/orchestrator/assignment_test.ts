import assert from "node:assert/strict";
import { validateGroupConfig } from "../config/schema.ts";
import {
  assignmentContentKey,
  assignmentSize,
  assignmentTargets,
  decodeAssignment,
  encodeAssignment,
  ownership,
  planAssignments,
} from "./assignment.ts";
import { extractTargets } from "./targets.ts";

function targets(groups: Record<string, unknown>) {
  const m = new Map();
  for (const [g, blob] of Object.entries(groups)) {
    const r = validateGroupConfig(g, blob);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    m.set(g, r.value);
  }
  return extractTargets(m);
}

const ts = targets({
  web: {
    backend_servers: Array.from({ length: 30 }, (_, i) => `10.0.0.${i + 1}:80`),
    health_check_frequency_seconds: 1,
  },
  api: { backend_servers: ["10.0.1.1:8080", "10.0.1.2:8080"], health_check_type: "tcp" },
});
const workers = [{ id: "w1", session: "01" }, { id: "w2", session: "02" }, {
  id: "w3",
  session: "03",
}];

Deno.test("planAssignments() covers every target exactly once, with each group's settings", () => {
  const plan = planAssignments(ts, workers, "w2", "c_x-n_0000000001");
  assert.deepEqual([...plan.keys()], ["w1", "w2", "w3"]);
  const all = [...plan.values()].flatMap(assignmentTargets);
  assert.deepEqual(all.map((t) => t.key).sort(), ts.map((t) => t.key).sort());
  for (const t of all) {
    assert.deepEqual(t.settings, ts.find((x) => x.key === t.key)!.settings);
  }
  assert.equal([...plan.values()].reduce((n, a) => n + assignmentSize(a), 0), 32);
  assert.equal(plan.get("w1")!.session, "01");
});

Deno.test("an assignment survives encode/decode, and its bytes are stable", () => {
  const plan = planAssignments(ts, workers, "w2", "t");
  for (const a of plan.values()) {
    const bytes = encodeAssignment(a);
    const back = decodeAssignment(bytes)!;
    assert.deepEqual(back, a);
    assert.deepEqual(encodeAssignment(back), bytes);
  }
});

Deno.test("decodeAssignment() refuses what is not an assignment", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(decodeAssignment(enc("")), undefined);
  assert.equal(decodeAssignment(enc("[]")), undefined);
  assert.equal(decodeAssignment(enc('{"v":2,"worker":"w","session":"s","groups":{}}')), undefined);
  assert.equal(
    decodeAssignment(
      enc(
        '{"v":1,"worker":"w","session":"s","groups":{"g":{"type":"udp","path":"/","expect":200,"interval_ms":1,"timeout_ms":1,"rise":1,"fall":1,"backends":[]}}}',
      ),
    ),
    undefined,
  );
});

Deno.test("assignmentContentKey() ignores which master wrote it, not what it asks for", () => {
  const a = planAssignments(ts, workers, "w1", "t1").get("w3")!;
  const b = planAssignments(ts, workers, "w2", "t2").get("w3")!;
  assert.equal(assignmentContentKey(a), assignmentContentKey(b));
  const c = planAssignments(ts, [{ id: "w3", session: "99" }, ...workers.slice(0, 2)], "w1", "t1")
    .get("w3")!;
  assert.notEqual(assignmentContentKey(a), assignmentContentKey(c), "session matters");
});

Deno.test("a departing worker's targets move; the others' assignments stay byte-identical", () => {
  const before = planAssignments(ts, workers, "m", "t");
  const after = planAssignments(ts, workers.filter((w) => w.id !== "w2"), "m", "t");
  for (const id of ["w1", "w3"]) {
    const was = new Set(assignmentTargets(before.get(id)!).map((t) => t.key));
    const now = assignmentTargets(after.get(id)!).map((t) => t.key);
    for (const k of was) assert.ok(now.includes(k), `${id} kept ${k}`);
  }
  const own = ownership(after.values());
  for (const [key, w] of ownership(before.values())) {
    if (w !== "w2") assert.equal(own.get(key), w);
  }
});

Deno.test("an assignment carries a TLS group's tls, stable in bytes, and refuses a malformed one", () => {
  const tlsTargets = targets({
    web: { backend_servers: ["10.0.0.1:80"] },
    api: {
      backend_servers: ["10.0.1.1:443"],
      tls: { verify: false, ca_file: "/etc/ca.pem", server_name: "api.internal", enabled: true },
    },
  });
  const [a] = planAssignments(tlsTargets, [{ id: "w1", session: "01" }], "m", "t").values();
  const bytes = encodeAssignment(a!);
  const text = new TextDecoder().decode(bytes);
  assert.match(
    text,
    /"api":\{[^}]*"tls":\{"enabled":true,"server_name":"api.internal","ca_file":"\/etc\/ca.pem","verify":false\}/,
  );
  assert.doesNotMatch(text, /"web":\{[^}]*"tls"/, "a plain group is written as before");
  const back = decodeAssignment(bytes)!;
  assert.deepEqual(back, a);
  assert.deepEqual(encodeAssignment(back), bytes);
  assert.equal(assignmentContentKey(back), assignmentContentKey(a!));

  const doc = JSON.parse(text);
  for (const bad of [true, { enabled: true }, { enabled: true, verify: true, ca_file: 1 }]) {
    doc.groups.api.tls = bad;
    const enc = new TextEncoder().encode(JSON.stringify(doc));
    assert.equal(decodeAssignment(enc), undefined, JSON.stringify(bad));
  }
});

Deno.test("an assignment carries an h2 group's protocol (plain groups as before) and refuses another value", () => {
  const h2Targets = targets({
    web: { backend_servers: ["10.0.0.1:80"] },
    rpc: { backend_servers: ["10.0.1.1:50051"], protocol: "h2" },
  });
  const [a] = planAssignments(h2Targets, [{ id: "w1", session: "01" }], "m", "t").values();
  const bytes = encodeAssignment(a!);
  const text = new TextDecoder().decode(bytes);
  assert.match(text, /"rpc":\{[^}]*"protocol":"h2"/);
  assert.doesNotMatch(text, /"web":\{[^}]*"protocol"/, "a plain group is written as before");
  const back = decodeAssignment(bytes)!;
  assert.deepEqual(back, a);
  assert.deepEqual(encodeAssignment(back), bytes);
  const doc = JSON.parse(text);
  doc.groups.rpc.protocol = "h3";
  assert.equal(decodeAssignment(new TextEncoder().encode(JSON.stringify(doc))), undefined);
});
