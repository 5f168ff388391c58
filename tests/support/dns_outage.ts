/**
 * Outage arithmetic over the DNS prober's results (tests/support/dns_probe.ts): how long queries
 * failed around an event, and whether they stayed good afterwards. Pure.
 *
 * @module
 */

/** One probe result (a line of the prober's output). */
export interface ProbeSample {
  readonly seq: number;
  /** Epoch ms the query was sent. */
  readonly sent: number;
  readonly ok: boolean;
}

/** The failures within a time window. */
export interface Outage {
  /** Queries sent in the window. */
  readonly queries: number;
  /** Of those, how many failed. */
  readonly failed: number;
  /**
   * Seconds of failed queries: from the first failed query's send time to the last one's, plus
   * one probe interval (a single failed query counts as one interval). 0 when none failed.
   */
  readonly seconds: number;
  /** Epoch ms of the first and last failed query (undefined when none failed). */
  readonly firstFailed?: number;
  readonly lastFailed?: number;
  /** Failed queries sent after the first success that followed the first failure. */
  readonly failedAfterRecovery: number;
}

/** Parses the prober's JSON lines, skipping its final `{"done":true}` line and blanks. */
export function parseProbeLines(text: string): ProbeSample[] {
  const out: ProbeSample[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const value = JSON.parse(line) as Partial<ProbeSample> & { done?: boolean };
    if (value.done) continue;
    if (typeof value.seq === "number" && typeof value.sent === "number") {
      out.push({ seq: value.seq, sent: value.sent, ok: value.ok === true });
    }
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** Measures failures among samples sent in [from, to) (epoch ms). */
export function measureOutage(
  samples: readonly ProbeSample[],
  from: number,
  to: number,
  intervalMs: number,
): Outage {
  const window = samples.filter((s) => s.sent >= from && s.sent < to).sort((a, b) => a.seq - b.seq);
  const failures = window.filter((s) => !s.ok);
  if (failures.length === 0) {
    return { queries: window.length, failed: 0, seconds: 0, failedAfterRecovery: 0 };
  }
  const first = failures[0] as ProbeSample;
  const last = failures[failures.length - 1] as ProbeSample;
  const recovery = window.find((s) => s.seq > first.seq && s.ok);
  const failedAfterRecovery = recovery ? failures.filter((s) => s.seq > recovery.seq).length : 0;
  return {
    queries: window.length,
    failed: failures.length,
    seconds: (last.sent - first.sent + intervalMs) / 1000,
    firstFailed: first.sent,
    lastFailed: last.sent,
    failedAfterRecovery,
  };
}

/**
 * The samples whose outcome is final: the prober writes an answered query at once but a failed
 * one only when its timeout fires, so a sequence number missing from the output is a query still
 * in flight. Returns the samples up to the first missing sequence number.
 */
export function settledPrefix(samples: readonly ProbeSample[]): ProbeSample[] {
  const sorted = [...samples].sort((a, b) => a.seq - b.seq);
  const out: ProbeSample[] = [];
  for (const s of sorted) {
    const previous = out[out.length - 1];
    if (previous !== undefined && s.seq !== previous.seq + 1) break;
    out.push(s);
  }
  return out;
}

/**
 * True when the newest `ms` milliseconds of settled samples (see {@link settledPrefix}) are all
 * ok, lie entirely after `since` (epoch ms), and hold at least `ms / intervalMs / 2` samples (the
 * prober is really running). Because only settled samples count, every query sent before that
 * window has its final outcome, so a failure still in flight cannot be missed.
 */
export function steadyFor(
  samples: readonly ProbeSample[],
  ms: number,
  intervalMs: number,
  since = Number.NEGATIVE_INFINITY,
): boolean {
  const settled = settledPrefix(samples);
  const newestSample = settled[settled.length - 1];
  if (newestSample === undefined) return false;
  const start = newestSample.sent - ms;
  if (start < since) return false;
  const recent = settled.filter((s) => s.sent > start);
  return recent.length >= ms / intervalMs / 2 && recent.every((s) => s.ok) &&
    settled.some((s) => s.sent <= start);
}
