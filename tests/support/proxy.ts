/**
 * Test support: a proxy process on a config file, with helpers to rewrite the
 * file, read `/status`, and count which backend answered.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import { freePort, httpOk, type RoleProcess, startRole, tempDir } from "./processes.ts";

/** A running proxy under test. */
export interface ProxyUnderTest {
  readonly process: RoleProcess;
  readonly port: number;
  readonly adminPort: number;
  readonly configPath: string;
  readonly url: string;
  /** Rewrites the config file atomically (write + rename, as editors do). */
  writeConfig(config: unknown): void;
  /** The `/status` document. */
  status(): Promise<StatusDoc>;
}

/** The parts of `/status` tests read. */
export interface StatusDoc {
  config: { version: string; algorithm: string; applied_total: number } | null;
  rejected_total: number;
  last_rejected: { version: string; reason: string } | null;
  backends: {
    address: string;
    usable: boolean;
    health: string;
    inflight: number;
    weight: number;
  }[];
}

/** Writes `config` (group -> blob) and starts a proxy on it. */
export async function startProxy(
  runtime: Runtime,
  config: Record<string, unknown>,
  extraFlags: readonly string[] = [],
  options: { script?: string } = {},
): Promise<ProxyUnderTest> {
  const dir = tempDir("proxy");
  const configPath = path.join(dir, "lb.json");
  const writeConfig = (c: unknown) => {
    const tmp = `${configPath}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(c, null, 2));
    fs.renameSync(tmp, configPath);
  };
  writeConfig(config);
  const port = await freePort();
  const adminPort = await freePort();
  const proc = await startRole(runtime, "proxy", [
    "--config",
    configPath,
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${adminPort}`,
    ...extraFlags,
  ], { ready: () => httpOk(`http://127.0.0.1:${adminPort}/healthz`), script: options.script });
  return {
    process: proc,
    port,
    adminPort,
    configPath,
    url: `http://127.0.0.1:${port}`,
    writeConfig,
    status: async () => {
      const r = await fetch(`http://127.0.0.1:${adminPort}/status`, {
        signal: AbortSignal.timeout(10_000),
      });
      return await r.json() as StatusDoc;
    },
  };
}

/** Sends `n` sequential GETs and counts answers by body (the backend's name). */
export async function countAnswers(url: string, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const body = (await r.text()).trim();
    const key = r.status === 200 ? body : `status ${r.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
