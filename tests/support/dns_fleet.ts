/**
 * Test helpers for the dns role end to end: the role as a process, fleet proxies (real proxy
 * processes in `--zk` mode, each on its own address so A answers tell them apart), group configs
 * in ZooKeeper, an etcd write counter, and `promtool check metrics`.
 *
 * @module
 */
import { Etcd3 } from "etcd3";
import process from "node:process";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import { configPath } from "../../lib/store/layout.ts";
import type { CoordinationStore } from "../../lib/store/types.ts";
import { startZkProxy } from "./control_plane.ts";
import type { ZkProxy } from "./control_plane.ts";
import { answerData, dig } from "./dns_stack.ts";
import type { DigOptions } from "./dns_stack.ts";
import { freePort, httpOk, type RoleProcess, startRole } from "./processes.ts";

/** Deno.test options for tests that start processes. */
export const E2E = { sanitizeOps: false, sanitizeResources: false } as const;

/** The dns role under test. */
export interface DnsRoleUnderTest {
  readonly process: RoleProcess;
  readonly adminPort: number;
  readonly flags: readonly string[];
  status(): Promise<DnsStatusDoc>;
  metrics(): Promise<string>;
}

/** The parts of the dns role's `/status` the tests read. */
export interface DnsStatusDoc {
  id: string;
  leader: { acting: boolean; leader_id: string | null };
  registrations: { complete: boolean; count: number; invalid: unknown[] };
  records: { id: string; host: string; port: number; region: string | null; weight: number }[];
  records_by_region: Record<string, number>;
  last_sync: { at: string; ok: boolean; puts: number; deletes: number } | null;
  corefile: { path: string; written_at: string | null; error: string | null } | null;
}

/** Where a dns role under test reads and writes: the flags every DNS test passes it. */
export interface DnsRoleSetup {
  /** ZooKeeper connection string (with the test's chroot). */
  readonly zk: string;
  /** etcd client URLs. */
  readonly etcd: string | readonly string[];
  readonly zone: string;
  /** The test's own SkyDNS prefix (see `testPrefix`). */
  readonly prefix: string;
  readonly corefile: string;
  /** CoreDNS's `host:port`. */
  readonly corednsListen: string;
  /** CoreDNS cache, seconds. */
  readonly corednsCache: number;
  /** Record TTL, seconds (the role's default when absent). */
  readonly ttl?: number;
  /** The role's ZooKeeper session timeout, seconds (the default when absent). */
  readonly zkSessionTimeout?: number;
}

/** The dns role's flags for `setup`, quiet (`--log-level warn`), then `extra`. */
export function dnsRoleFlags(setup: DnsRoleSetup, ...extra: string[]): string[] {
  return [
    "--zk",
    setup.zk,
    ...(setup.zkSessionTimeout === undefined
      ? []
      : ["--zk-session-timeout", String(setup.zkSessionTimeout)]),
    "--etcd",
    typeof setup.etcd === "string" ? setup.etcd : setup.etcd.join(","),
    "--zone",
    setup.zone,
    "--prefix",
    setup.prefix,
    ...(setup.ttl === undefined ? [] : ["--ttl", String(setup.ttl)]),
    "--corefile-out",
    setup.corefile,
    "--coredns-listen",
    setup.corednsListen,
    "--coredns-cache",
    String(setup.corednsCache),
    "--log-level",
    "warn",
    ...extra,
  ];
}

/**
 * Starts the dns role (`roles/dns.ts`) with `flags` plus an admin port; ready once `/status`
 * answers (it answers before ZooKeeper does: pass `waitHealthy` to wait for `/healthz`).
 */
export async function startDnsRole(
  runtime: Runtime,
  flags: readonly string[],
  options: { waitHealthy?: boolean } = {},
): Promise<DnsRoleUnderTest> {
  const adminPort = await freePort();
  const all = [...flags, "--admin-listen", `127.0.0.1:${adminPort}`];
  const base = `http://127.0.0.1:${adminPort}`;
  const proc = await startRole(runtime, "dns", all, {
    ready: () => httpOk(`${base}${options.waitHealthy === false ? "/status" : "/healthz"}`),
    timeoutMs: 60_000,
  });
  return {
    process: proc,
    adminPort,
    flags: all,
    status: async () =>
      await (await fetch(`${base}/status`, { signal: AbortSignal.timeout(10_000) })).json(),
    metrics: async () =>
      await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text(),
  };
}

/** A fleet proxy: a proxy process registered in ZooKeeper, listening on its own address. */
export interface FleetProxy {
  readonly id: string;
  readonly proxy: ZkProxy;
  readonly host: string;
  readonly port: number;
  /** `host:port` as registered. */
  readonly address: string;
  readonly url: string;
}

/**
 * Starts a proxy for `group` listening on `host` (`port`, default any), with id `id` and extra
 * flags (`--region`, ...). Loopback tests give each proxy its own 127.0.0.x; lab tests an address
 * of the host's lab leg.
 */
export async function startFleetProxy(
  runtime: Runtime,
  connect: string,
  group: string,
  id: string,
  host: string,
  extra: readonly string[] = [],
  port = 0,
): Promise<FleetProxy> {
  const proxy = await startZkProxy(runtime, connect, group, [
    "--listen",
    `${host}:${port}`,
    "--id",
    id,
    "--log-level",
    "warn",
    ...extra,
  ]);
  const status = await proxy.status() as unknown as { listen: string };
  const bound = Number(status.listen.slice(status.listen.lastIndexOf(":") + 1));
  return {
    id,
    proxy,
    host,
    port: bound,
    address: `${host}:${bound}`,
    url: `http://${host}:${bound}`,
  };
}

/** Writes a group's config blob in ZooKeeper (creating `/lb-configs`). */
export async function writeGroupConfig(
  store: CoordinationStore,
  group: string,
  config: Record<string, unknown>,
): Promise<void> {
  const data = new TextEncoder().encode(JSON.stringify(config));
  await store.ensurePath("/lb-configs");
  const existing = await store.get(configPath(group));
  if (existing === null) await store.create(configPath(group), data);
  else await store.set(configPath(group), data);
}

/** Sends a signal to a process by pid (keeps the real exit code, unlike ChildProcess.kill). */
export function signal(proc: RoleProcess, sig: NodeJS.Signals): void {
  process.kill(proc.child.pid!, sig);
}

/** Counts etcd writes (puts and deletes) under a prefix, from an etcd watch. */
export interface EtcdWriteCounter {
  readonly events: { type: "put" | "delete"; key: string; revision: string }[];
  close(): Promise<void>;
}

/** Watches `prefix` in etcd; every event is a write someone made. */
export async function countEtcdWrites(
  endpoints: readonly string[],
  prefix: string,
): Promise<EtcdWriteCounter> {
  const client = new Etcd3({ hosts: [...endpoints] });
  const events: EtcdWriteCounter["events"] = [];
  const watcher = await client.watch().prefix(prefix).create();
  watcher.on("put", (kv) => {
    events.push({ type: "put", key: kv.key.toString(), revision: kv.mod_revision });
  });
  watcher.on("delete", (kv) => {
    events.push({ type: "delete", key: kv.key.toString(), revision: kv.mod_revision });
  });
  return {
    events,
    close: async () => {
      await watcher.cancel().catch(() => {});
      client.close();
    },
  };
}

/** The sorted A (or other type's) answers for `name`, via dig. */
export async function answersOf(options: DigOptions): Promise<string[]> {
  return answerData(await dig(options), options.type ?? "A");
}

/** Runs `promtool check metrics` over `text`; returns its output (empty when clean). */
export async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(Deno.env.get("PROMTOOL") ?? "promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, output: (decode(stdout) + decode(stderr)).trim() };
}

/** The value of one sample line (exact series text before the value), or null. */
export function sampleValue(text: string, series: string): number | null {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  return null;
}
