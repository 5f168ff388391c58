/**
 * The invariant sampler: every ~500 ms it reads, from the running topology, who acts as
 * orchestrator master and as dns leader (their metrics), the config versions each proxy applied
 * and the backends it has marked unhealthy (its `/status`), and what each backend served and
 * which POST ids reached it (tests/gameday/backend.ts). The analysis is in analysis.ts.
 *
 * @module
 */
import { sampleValue } from "../support/dns_fleet.ts";
import { sleep } from "../support/processes.ts";
import type { ActingSample, BackendSample, VersionSample } from "./analysis.ts";
import type { BackendCounts } from "./backend.ts";
import type { Node, Topology } from "./topology.ts";

async function get(url: string): Promise<Response | null> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1500) });
    if (!r.ok) {
      await r.body?.cancel();
      return null;
    }
    return r;
  } catch {
    return null;
  }
}

async function acting(nodes: readonly Node[], metric: string): Promise<string[]> {
  const out: string[] = [];
  await Promise.all(nodes.map(async (n) => {
    const r = await get(`${n.admin}/metrics`);
    if (r !== null && sampleValue(await r.text(), metric) === 1) out.push(n.name);
  }));
  return out.sort();
}

/** The parts of a listener proxy's `/status` the sampler reads. */
interface ListenerStatus {
  routes: { version: string } | null;
  groups: Record<string, {
    config: { version: string } | null;
    backends: { address: string; health: string }[];
  }>;
}

/** What the sampler recorded. */
export class Sampler {
  readonly orchestrators: ActingSample[] = [];
  readonly dnsLeaders: ActingSample[] = [];
  readonly versions: VersionSample[] = [];
  readonly backends: BackendSample[] = [];
  /** POST id -> how many times it reached a backend. */
  readonly arrivals = new Map<string, number>();
  /** When each duplicated POST id was first seen a second time. */
  readonly duplicates: { t: number; id: string }[] = [];
  /** Sampling rounds done. */
  rounds = 0;
  #cursors = new Map<string, { boot: string; next: number }>();
  #running = false;
  #loop: Promise<void> | null = null;

  constructor(readonly topology: Topology, readonly intervalMs = 500) {}

  start(): void {
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        const t0 = Date.now();
        await this.sample();
        await sleep(Math.max(0, this.intervalMs - (Date.now() - t0)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** One round (also used for the final reading after the run). */
  async sample(): Promise<void> {
    const t = Date.now();
    const topo = this.topology;
    // backend address -> proxies showing it unhealthy
    const unhealthy = new Map<string, number>();
    let reporting = 0;
    const [orch, dns] = await Promise.all([
      acting(topo.orchestrators, "switchyard_orchestrator_is_master"),
      acting(topo.dnsRoles, "switchyard_dns_leader"),
      Promise.all(topo.proxies.map(async (p) => {
        const r = await get(`${p.admin}/status`);
        if (r === null) return;
        const s = await r.json() as ListenerStatus;
        reporting++;
        if (s.routes) {
          this.versions.push({
            t,
            proxy: p.name,
            key: "routes",
            version: Number(s.routes.version),
          });
        }
        for (const [group, g] of Object.entries(s.groups ?? {})) {
          if (g.config) {
            this.versions.push({
              t,
              proxy: p.name,
              key: `group:${group}`,
              version: Number(g.config.version),
            });
          }
          for (const b of g.backends) {
            if (b.health === "unhealthy") {
              unhealthy.set(b.address, (unhealthy.get(b.address) ?? 0) + 1);
            }
          }
        }
      })),
    ]);
    this.orchestrators.push({ t, acting: orch });
    this.dnsLeaders.push({ t, acting: dns });
    await Promise.all(topo.backends.map(async (b) => {
      const address = b.admin.slice("http://".length);
      const cursor = this.#cursors.get(b.name);
      const r = await get(`${b.admin}/_gameday/counts?since=${cursor?.next ?? 0}`);
      let served: number | null = null;
      if (r !== null) {
        let c = await r.json() as BackendCounts;
        if (cursor !== undefined && cursor.boot !== c.boot) {
          // restarted: its list started over; read it from the start
          const again = await get(`${b.admin}/_gameday/counts?since=0`);
          if (again !== null) c = await again.json() as BackendCounts;
          cursor.next = 0;
        }
        const next = (cursor?.boot === c.boot ? cursor.next : 0) + c.ids.length;
        for (const id of c.ids) {
          const n = (this.arrivals.get(id) ?? 0) + 1;
          this.arrivals.set(id, n);
          if (n === 2) this.duplicates.push({ t, id });
        }
        this.#cursors.set(b.name, { boot: c.boot, next });
        served = c.served;
      }
      this.backends.push({
        t,
        backend: b.name,
        served,
        unhealthyOn: unhealthy.get(address) ?? 0,
        reporting,
      });
    }));
    this.rounds++;
  }
}
