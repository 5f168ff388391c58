import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { silentLogger } from "../log.ts";
import { InstanceRegistration } from "../source/instance_registry.ts";
import { proxyInstancePath } from "../store/layout.ts";
import { MemoryServer } from "../store/mod.ts";
import {
  instanceTarget,
  KNOWN_ROLES,
  proxyTarget,
  renderTargetFiles,
  scrapeAddress,
} from "./file_sd.ts";
import { FileSdWriter } from "./file_sd_writer.ts";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

Deno.test("proxyTarget() scrapes the admin address with role, id, group and region labels", () => {
  assert.deepEqual(
    proxyTarget(
      "lb-1",
      "p1",
      enc({ address: "10.0.0.5:8080", admin: "10.0.0.5:9090", region: "us", load: {} }),
    ),
    {
      role: "proxy",
      id: "p1",
      address: "10.0.0.5:9090",
      labels: { role: "proxy", instance_id: "p1", proxy_group: "lb-1", region: "us" },
    },
  );
  // admin on every address: scrape it at the advertised host
  assert.equal(
    proxyTarget("g", "p", enc({ address: "10.0.0.5:80", admin: "0.0.0.0:9090" }))?.address,
    "10.0.0.5:9090",
  );
  assert.equal(proxyTarget("g", "p", enc({ address: "0.0.0.0:80", admin: "0.0.0.0:9090" })), null);
  assert.equal(proxyTarget("g", "p", enc({ address: "10.0.0.5:80" })), null);
  assert.equal(proxyTarget("g", "p", new TextEncoder().encode("not json")), null);
  assert.equal(proxyTarget("g", "p", enc({ admin: "h:99999" })), null);
});

Deno.test("instanceTarget() and scrapeAddress() handle IPv6 and bad data", () => {
  assert.deepEqual(instanceTarget("dns", "d1", enc({ admin: "[::1]:9390" })), {
    role: "dns",
    id: "d1",
    address: "[::1]:9390",
    labels: { role: "dns", instance_id: "d1" },
  });
  assert.equal(scrapeAddress("[::]:9", "[2001:db8::1]:80"), "[2001:db8::1]:9");
  assert.equal(scrapeAddress(42), null);
  assert.equal(instanceTarget("dns", "d1", enc([1])), null);
});

Deno.test("renderTargetFiles() writes every known role, sorted, one scrape per address", () => {
  const files = renderTargetFiles([
    { role: "proxy", id: "b", address: "127.0.0.1:2", labels: { role: "proxy", z: "1", a: "2" } },
    { role: "proxy", id: "a", address: "127.0.0.1:1", labels: { role: "proxy" } },
    { role: "proxy", id: "c", address: "127.0.0.1:1", labels: { role: "proxy" } },
    { role: "custom", id: "x", address: "127.0.0.1:3", labels: { role: "custom" } },
  ]);
  assert.deepEqual([...files.keys()], [...[...KNOWN_ROLES, "custom"].sort()]);
  const proxy = JSON.parse(files.get("proxy")!);
  assert.deepEqual(proxy, [
    { targets: ["127.0.0.1:1"], labels: { role: "proxy" } },
    { targets: ["127.0.0.1:2"], labels: { a: "2", role: "proxy", z: "1" } },
  ]);
  assert.equal(files.get("admin"), "[]\n");
  // deterministic
  assert.deepEqual(
    renderTargetFiles([
      { role: "proxy", id: "a", address: "127.0.0.1:1", labels: { role: "proxy" } },
      { role: "proxy", id: "b", address: "127.0.0.1:2", labels: { a: "2", z: "1", role: "proxy" } },
    ]).get("proxy"),
    files.get("proxy"),
  );
});

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

Deno.test("FileSdWriter keeps the target files in step with the registrations", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-filesd-"));
  const server = new MemoryServer();
  const store = await server.connect();
  const proxySession = await server.connect();
  await proxySession.create(
    proxyInstancePath("g1", "p1"),
    enc({ address: "127.0.0.1:8080", admin: "127.0.0.1:9090" }),
    { mode: "ephemeral", parents: true },
  );
  const writes: string[] = [];
  const w = new FileSdWriter({
    store,
    dir,
    log: silentLogger,
    debounceMs: 5,
    onWrite: (role) => writes.push(role),
  });
  const read = (role: string) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, `${role}.json`), "utf8"));
    } catch {
      return null;
    }
  };
  try {
    w.start();
    await until("proxy file", () => read("proxy")?.length === 1);
    assert.deepEqual(read("proxy")[0].targets, ["127.0.0.1:9090"]);
    assert.deepEqual(read("admin"), []);
    const reg = new InstanceRegistration({
      store,
      role: "admin",
      id: "a1",
      log: silentLogger,
      data: () => ({ admin: "127.0.0.1:9301" }),
    });
    reg.start();
    await until("admin file", () => read("admin")?.length === 1);
    assert.deepEqual(read("admin")[0].labels, { instance_id: "a1", role: "admin" });
    // a proxy's load updates rewrite its node, not the files
    const WINDOW_MS = 500;
    const before = writes.length;
    await proxySession.set(
      proxyInstancePath("g1", "p1"),
      enc({ address: "127.0.0.1:8080", admin: "127.0.0.1:9090", load: { connections: 3 } }),
    );
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    assert.equal(writes.length, before);
    // positive control: an update of the same node that does change its target (the admin
    // address) is written within the same wait
    await proxySession.set(
      proxyInstancePath("g1", "p1"),
      enc({ address: "127.0.0.1:8080", admin: "127.0.0.1:9091", load: { connections: 3 } }),
    );
    await until(
      "control: the new admin address written",
      () => read("proxy")?.[0]?.targets[0] === "127.0.0.1:9091",
      WINDOW_MS,
    );
    assert.deepEqual(writes.slice(before), ["proxy"]);
    // the proxy's session ends: its target goes
    await proxySession.close();
    await until("proxy gone", () => read("proxy")?.length === 0);
    const status = w.status();
    assert.equal(status.complete, true);
    assert.equal(status.targets.admin, 1);
    assert.equal(status.targets.proxy, 0);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes(".tmp")), []);
    await reg.stop();
  } finally {
    w.stop();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
