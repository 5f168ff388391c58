/**
 * What a shutdown signal (SIGTERM or SIGINT) asks for, given the ones before
 * it. Pure: the caller passes the time.
 *
 * The first signal starts a graceful stop. A process usually receives that
 * first signal more than once, within milliseconds: a terminal's Ctrl-C and
 * systemd's default `KillMode=control-group` signal every process of the
 * group or unit, and the processes in between (`deno task`, `bun run`, the
 * proxy's `--workers` supervisor) forward it to their child as well. Those
 * copies are the same request and must not cut the drain short. Only a
 * signal that comes {@link SIGNAL_COPY_WINDOW_MS} or more after the first is
 * an operator insisting, and stops the process at once.
 *
 * @module
 */

/**
 * Signals this soon after the first are copies of it. Forwarded copies
 * arrive within a millisecond or so (a few on a busy machine); a person
 * pressing Ctrl-C again takes longer than this.
 */
export const SIGNAL_COPY_WINDOW_MS = 1_000;

/**
 * `stop`: start a graceful stop; `copy`: the first signal again (do nothing);
 * `force`: a signal after the window (stop at once).
 */
export type ShutdownSignalAction = "stop" | "copy" | "force";

/**
 * Classifies each shutdown signal a process receives.
 *
 * @example
 * ```ts
 * import { ShutdownSignals } from "./shutdown_signals.ts";
 * const signals = new ShutdownSignals();
 * console.log(signals.receive(0), signals.receive(0.4), signals.receive(2_500));
 * // stop copy force
 * ```
 */
export class ShutdownSignals {
  #firstAt: number | null = null;

  /** @param windowMs how long after the first signal another one counts as a copy of it */
  constructor(readonly windowMs: number = SIGNAL_COPY_WINDOW_MS) {}

  /** Records a signal received at `nowMs` (a monotonic clock) and says what it asks for. */
  receive(nowMs: number): ShutdownSignalAction {
    if (this.#firstAt === null) {
      this.#firstAt = nowMs;
      return "stop";
    }
    return nowMs - this.#firstAt < this.windowMs ? "copy" : "force";
  }
}
