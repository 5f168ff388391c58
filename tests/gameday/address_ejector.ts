/**
 * The game day client's outlier ejection, as resilient HTTP clients do it (Finagle's fail-fast,
 * gRPC's and Envoy's outlier detection): an address that has requests outstanding and has not
 * answered any of them for `stallMs` is stalled (a frozen or unreachable proxy that still
 * accepted the connection), and is taken out of the rotation for `baseEjectMs`, doubling while it
 * keeps stalling, up to `maxEjectMs`; a refused connection ejects it the same way (nothing
 * listens). A response from it resets that. Never ejects the last usable
 * address: with all of them stalled the client itself was probably starved, and some address must
 * take the traffic.
 *
 * Pure: the caller reports starts, answers and failures with the time, and asks which addresses
 * stalled; no timers or I/O here.
 *
 * @module
 */

/** Tuning of {@link AddressEjector}. */
export interface EjectorOptions {
  /** Outstanding requests with no answer from the address for this long: stalled. */
  readonly stallMs: number;
  /** First ejection; doubles for each further stall without an answer in between. */
  readonly baseEjectMs: number;
  readonly maxEjectMs: number;
}

interface AddressState {
  pending: number;
  /** Last answer, or when requests became outstanding after none were. */
  progressAt: number;
  ejectedUntil: number;
  /** Ejections since its last answer. */
  streak: number;
}

/** Per-address stall detection and ejection. */
export class AddressEjector {
  readonly #state = new Map<string, AddressState>();

  constructor(readonly options: EjectorOptions) {}

  #get(address: string, now: number): AddressState {
    let s = this.#state.get(address);
    if (s === undefined) {
      s = { pending: 0, progressAt: now, ejectedUntil: 0, streak: 0 };
      this.#state.set(address, s);
    }
    return s;
  }

  /** A request was sent to `address`. */
  started(address: string, now: number): void {
    const s = this.#get(address, now);
    if (s.pending === 0) s.progressAt = now;
    s.pending++;
  }

  /** `address` answered (a status arrived, whatever it was): it is alive. */
  answered(address: string, now: number): void {
    const s = this.#get(address, now);
    s.pending = Math.max(0, s.pending - 1);
    s.progressAt = now;
    s.streak = 0;
  }

  /** A request to `address` ended without an answer (error, timeout, abort). */
  failed(address: string, now: number): void {
    const s = this.#get(address, now);
    s.pending = Math.max(0, s.pending - 1);
  }

  /**
   * `address` refused a connection (nothing listens: a dead or restarting proxy): out of the
   * rotation at once, like a stall, unless it is the last usable one of `addresses`.
   */
  refused(address: string, addresses: readonly string[], now: number): void {
    const s = this.#get(address, now);
    s.pending = Math.max(0, s.pending - 1);
    if (s.ejectedUntil > now) return;
    if (!addresses.some((b) => b !== address && !this.ejected(b, now))) return;
    this.#eject(s, now);
  }

  #eject(s: AddressState, now: number): void {
    s.ejectedUntil = now +
      Math.min(this.options.maxEjectMs, this.options.baseEjectMs * 2 ** s.streak);
    s.streak++;
  }

  /** Is `address` out of the rotation at `now`? */
  ejected(address: string, now: number): boolean {
    return (this.#state.get(address)?.ejectedUntil ?? 0) > now;
  }

  /** The addresses in rotation at `now` (all of them when every one is ejected). */
  usable(addresses: readonly string[], now: number): readonly string[] {
    const out = addresses.filter((a) => !this.ejected(a, now));
    return out.length > 0 ? out : addresses;
  }

  /**
   * Where to retry a request that failed on `failed`: another address, one in rotation if any,
   * else any other (an ejected address may be back; the one that just failed is not better).
   */
  retryTargets(addresses: readonly string[], failed: string, now: number): readonly string[] {
    const others = addresses.filter((a) => a !== failed);
    if (others.length === 0) return addresses;
    const usable = others.filter((a) => !this.ejected(a, now));
    return usable.length > 0 ? usable : others;
  }

  /**
   * Ejects the addresses among `addresses` that stalled as of `now` and returns them (each once
   * per ejection), keeping at least one address usable.
   */
  check(addresses: readonly string[], now: number): string[] {
    const out: string[] = [];
    for (const a of addresses) {
      const s = this.#state.get(a);
      if (s === undefined || s.pending === 0 || s.ejectedUntil > now) continue;
      if (now - s.progressAt < this.options.stallMs) continue;
      const others = addresses.some((b) => b !== a && !this.ejected(b, now));
      if (!others) continue;
      this.#eject(s, now);
      // the stall is reported once: the requests still outstanding on it are the caller's to
      // abort (idempotent) or let time out (the rest)
      s.progressAt = now;
      out.push(a);
    }
    return out;
  }
}
