/**
 * Test helpers for the DNS lab (deploy/lab/lab.sh): its names and addresses, bringing it up and
 * down, and which node holds the VIP.
 *
 * @module
 */
import { REPO, run, script } from "./dns_stack.ts";
import type { Stop } from "./dns_stack.ts";

/** deploy/lab/lab.env as a map (NAME=value lines). */
export function labEnv(): Record<string, string> {
  const text = Deno.readTextFileSync(`${REPO}/deploy/lab/lab.env`);
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)=(\S*)$/.exec(line.trim());
    if (match) env[match[1] as string] = match[2] as string;
  }
  return env;
}

/** One value of lab.env; throws when missing. */
export function lab(name: string): string {
  const value = labEnv()[name];
  if (value === undefined) throw new Error(`deploy/lab/lab.env has no ${name}`);
  return value;
}

/** Brings the lab up (idempotent); the stop tears it down only if this call built it. */
export async function labUp(): Promise<Stop> {
  const before = await run(["bash", `${REPO}/deploy/lab/lab.sh`, "status"], { allowFail: true });
  await script("deploy/lab/lab.sh", "up");
  if (before.code === 0) return async () => {};
  return async () => {
    await script("deploy/lab/lab.sh", "down");
  };
}

/** True when the VIP is configured in the namespace. */
export async function holdsVip(netns: string, vip: string): Promise<boolean> {
  const result = await run(["ip", "-n", netns, "-4", "-o", "addr", "show"], { allowFail: true });
  return result.stdout.includes(` ${vip}/`);
}

/** The namespaces (of those given) that hold the VIP now. */
export async function vipHolders(namespaces: readonly string[], vip: string): Promise<string[]> {
  const out: string[] = [];
  for (const ns of namespaces) if (await holdsVip(ns, vip)) out.push(ns);
  return out;
}
