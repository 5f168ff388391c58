/**
 * The game day's analysis: pure functions over what the run recorded (client samples, fault
 * windows, the invariant sampler's observations). Test tooling, not product code: it lives beside
 * the game day and is table-tested in analysis_test.ts.
 *
 * @module
 */
import type { ClientSample } from "./client.ts";

/** A request the client counts as served: an HTTP status below 400. */
export function succeeded(s: ClientSample): boolean {
  return s.status >= 200 && s.status < 400;
}

/** One second of client traffic. */
export interface Second {
  /** Seconds since the run's start. */
  readonly second: number;
  readonly total: number;
  readonly ok: number;
  /** ok / total, 1 when there was no request. */
  readonly successRate: number;
  /** p99 latency of the second's requests, ms (0 when none). */
  readonly p99Ms: number;
}

/** The q-quantile (0..1) of `values` by nearest rank; 0 when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

/** Success rate and p99 per second from `t0` (ms since the epoch) for `seconds` seconds. */
export function perSecond(
  samples: readonly ClientSample[],
  t0: number,
  seconds: number,
): Second[] {
  const buckets: { total: number; ok: number; ms: number[] }[] = [];
  for (let i = 0; i < seconds; i++) buckets.push({ total: 0, ok: 0, ms: [] });
  for (const s of samples) {
    const b = buckets[Math.floor((s.t - t0) / 1000)];
    if (b === undefined) continue;
    b.total++;
    if (succeeded(s)) b.ok++;
    b.ms.push(s.ms);
  }
  return buckets.map((b, second) => ({
    second,
    total: b.total,
    ok: b.ok,
    successRate: b.total === 0 ? 1 : b.ok / b.total,
    p99Ms: Math.round(quantile(b.ms, 0.99) * 10) / 10,
  }));
}

/** One injected fault and the window it owns (until the next fault, recovery included). */
export interface FaultWindow {
  readonly name: string;
  /** When the fault was injected, ms since the epoch. */
  readonly injectedAt: number;
  /** End of its window (the next fault's start, or the end of the run). */
  readonly end: number;
  /**
   * Proxy addresses the fault itself took down (a killed or stopped proxy): a request on one of
   * their connections that broke is a connection the fault cut, counted apart.
   */
  readonly victims: readonly string[];
}

/** What clients felt during one fault's window. */
export interface FaultImpact {
  readonly requests: number;
  /** GETs that failed, cut connections excluded. */
  readonly failedIdempotent: number;
  /** POSTs that failed, cut connections excluded. */
  readonly failedNonIdempotent: number;
  /** Requests whose connection to a victim broke (reset, closed). */
  readonly cut: number;
  /**
   * POSTs sent to a victim the fault froze that timed out (a stopped proxy keeps its connections
   * open and reads requests into its buffers, but never answers): lost to the fault like a cut
   * connection, and never retried (it may have them). Bounded by the client's stall detection.
   */
  readonly stalled: number;
  /** GETs whose first attempt failed and that the client retried on another address. */
  readonly retried: number;
  /** Injection -> the end of the last failed request of the window, ms; 0 when none failed. */
  readonly recoveryMs: number;
}

/** Sorts a window's samples into failed GETs, failed POSTs and connections the fault cut. */
export function faultImpact(samples: readonly ClientSample[], fault: FaultWindow): FaultImpact {
  let requests = 0;
  let failedIdempotent = 0;
  let failedNonIdempotent = 0;
  let cut = 0;
  let stalled = 0;
  let retried = 0;
  let lastFailureEnd = fault.injectedAt;
  for (const s of samples) {
    if (s.t < fault.injectedAt || s.t >= fault.end) continue;
    requests++;
    if (s.retried !== undefined) retried++;
    if (succeeded(s)) continue;
    lastFailureEnd = Math.max(lastFailureEnd, s.t + s.ms);
    // a reset or closed connection to a proxy the fault took down; a POST that hung on a stopped
    // one until the client gave up (a GET would have been retried elsewhere: one that still
    // failed is a failure)
    const onVictim = fault.victims.includes(s.target);
    if (s.error === "cut" && onVictim) cut++;
    else if (s.error === "timeout" && onVictim && s.method === "POST") stalled++;
    else if (s.method === "POST") failedNonIdempotent++;
    else failedIdempotent++;
  }
  return {
    requests,
    failedIdempotent,
    failedNonIdempotent,
    cut,
    stalled,
    retried,
    recoveryMs: Math.round(lastFailureEnd - fault.injectedAt),
  };
}

/** Who acted as master (orchestrators) or leader (dns roles) at one sampling instant. */
export interface ActingSample {
  readonly t: number;
  /** Ids whose metric said 1. */
  readonly acting: readonly string[];
}

/** Instants with more than one acting master/leader (the invariant: never). */
export function twoActing(samples: readonly ActingSample[]): ActingSample[] {
  return samples.filter((s) => s.acting.length > 1);
}

/** A config version a proxy reported as applied (from `/status`). */
export interface VersionSample {
  readonly t: number;
  readonly proxy: string;
  /** `routes` or `group:<name>`. */
  readonly key: string;
  readonly version: number;
}

/** A version seen after a higher one on the same proxy and key (applied out of order). */
export interface Regression {
  readonly proxy: string;
  readonly key: string;
  readonly t: number;
  readonly from: number;
  readonly to: number;
}

/** Every time a proxy's applied version of a key went down (the invariant: never). */
export function versionRegressions(samples: readonly VersionSample[]): Regression[] {
  const highest = new Map<string, number>();
  const out: Regression[] = [];
  for (const s of [...samples].sort((a, b) => a.t - b.t)) {
    const id = `${s.proxy}\u0000${s.key}`;
    const before = highest.get(id);
    if (before !== undefined && s.version < before) {
      out.push({ proxy: s.proxy, key: s.key, t: s.t, from: before, to: s.version });
    } else highest.set(id, s.version);
  }
  return out;
}

/** Proxies whose final applied version of `key` is not the last one written (a lost config). */
export function lostVersions(
  finals: readonly VersionSample[],
  key: string,
  written: number,
): VersionSample[] {
  return finals.filter((s) => s.key === key && s.version !== written);
}

/** One backend at one sampling instant. */
export interface BackendSample {
  readonly t: number;
  readonly backend: string;
  /** Requests it served so far (its own count), null when it did not answer. */
  readonly served: number | null;
  /** Proxies whose `/status` showed it marked unhealthy by the orchestrator. */
  readonly unhealthyOn: number;
  /** Proxies whose `/status` answered. */
  readonly reporting: number;
}

/** Requests a backend served while marked unhealthy, after the detection bound had passed. */
export interface UnhealthyTraffic {
  readonly backend: string;
  readonly markedAt: number;
  readonly from: number;
  readonly to: number;
  readonly requests: number;
}

/**
 * Requests that reached a backend while it was marked unhealthy, once `boundMs` had passed since
 * the first proxy showed the mark (the time the mark may take to reach every proxy and requests
 * already sent to finish). The invariant: none.
 *
 * A mark first spreads (some proxies show it), then holds (every proxy), then clears (a proxy
 * applied the recovery: it may send again, rightly). Requests count while it spreads past the
 * bound (a proxy that never applies the mark) or holds, not once it clears; and an interval counts
 * only when the sample after it still shows the mark in place, because the sampler reads the
 * proxies before the backend, and a clearing between the two would look like traffic to a marked
 * backend.
 */
export function unhealthyTraffic(
  samples: readonly BackendSample[],
  boundMs: number,
): UnhealthyTraffic[] {
  const byBackend = new Map<string, BackendSample[]>();
  for (const s of samples) {
    const list = byBackend.get(s.backend) ?? [];
    list.push(s);
    byBackend.set(s.backend, list);
  }
  const out: UnhealthyTraffic[] = [];
  for (const [backend, list] of byBackend) {
    list.sort((a, b) => a.t - b.t);
    // per sample: is the mark in place (spreading or holding, not clearing)?
    const inPlace: boolean[] = [];
    const markedAt: (number | null)[] = [];
    let since: number | null = null;
    let held = false;
    let clearing = false;
    for (const s of list) {
      const all = s.reporting > 0 && s.unhealthyOn === s.reporting;
      if (s.unhealthyOn === 0) {
        since = null;
        held = false;
        clearing = false;
      } else {
        since ??= s.t;
        if (all) held = true;
        else if (held) clearing = true;
      }
      inPlace.push(since !== null && !clearing);
      markedAt.push(since);
    }
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1] as BackendSample;
      const s = list[i] as BackendSample;
      const at = markedAt[i - 1];
      if (!inPlace[i - 1] || !inPlace[i] || at === null || at === undefined) continue;
      if (i + 1 < list.length && !inPlace[i + 1]) continue;
      if (prev.t < at + boundMs || prev.served === null || s.served === null) continue;
      if (s.served > prev.served) {
        out.push({
          backend,
          markedAt: at,
          from: prev.t,
          to: s.t,
          requests: s.served - prev.served,
        });
      }
    }
  }
  return out;
}

/** One bar of the game day and whether it held. */
export interface Bar {
  readonly bar: string;
  readonly held: boolean;
  readonly detail: string;
}

/** The bars for one fault. */
export function faultBars(
  impact: FaultImpact,
  cutBound: number,
  vipFailoverMs: number | null,
  vipBoundMs = 3000,
): Bar[] {
  const bars: Bar[] = [
    {
      bar: "zero failed idempotent requests",
      held: impact.failedIdempotent === 0,
      detail: `${impact.failedIdempotent} failed`,
    },
    {
      bar: `requests cut or stalled by the fault at most ${cutBound}`,
      held: impact.cut + impact.stalled <= cutBound,
      detail: `${impact.cut} cut, ${impact.stalled} stalled`,
    },
  ];
  if (vipFailoverMs !== null) {
    bars.push({
      bar: `VIP failover within ${vipBoundMs} ms`,
      held: vipFailoverMs <= vipBoundMs,
      detail: `${vipFailoverMs} ms`,
    });
  }
  return bars;
}

/** POST ids that reached the backends more than once, all backends together (the invariant: none). */
export function duplicatedPosts(arrivals: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [id, count] of arrivals) if (count > 1) out.push(id);
  return out.sort();
}
