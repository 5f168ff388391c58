import assert from "node:assert/strict";
import {
  type ShutdownSignalAction,
  ShutdownSignals,
  SIGNAL_COPY_WINDOW_MS,
} from "./shutdown_signals.ts";

/** Feeds signals received at `times` (ms) and returns what each one asks for. */
function actions(times: readonly number[], windowMs?: number): ShutdownSignalAction[] {
  const signals = new ShutdownSignals(windowMs);
  return times.map((t) => signals.receive(t));
}

const CASES: readonly {
  name: string;
  times: readonly number[];
  windowMs?: number;
  want: readonly ShutdownSignalAction[];
}[] = [
  { name: "one signal stops", times: [100], want: ["stop"] },
  {
    name: "a copy forwarded by a wrapper (group signal + deno task / bun run) is ignored",
    times: [100, 100.3],
    want: ["stop", "copy"],
  },
  {
    name: "several copies (group, wrapper, supervisor, systemd) are all ignored",
    times: [100, 100.2, 100.5, 104],
    want: ["stop", "copy", "copy", "copy"],
  },
  {
    name: "a copy delayed on a busy machine is still a copy",
    times: [100, 100 + SIGNAL_COPY_WINDOW_MS - 1],
    want: ["stop", "copy"],
  },
  {
    name: "a signal at the end of the window forces",
    times: [100, 100 + SIGNAL_COPY_WINDOW_MS],
    want: ["stop", "force"],
  },
  {
    name: "an operator's second Ctrl-C seconds later forces, and so does every later one",
    times: [0, 0.1, 3_000, 3_000.1],
    want: ["stop", "copy", "force", "force"],
  },
  {
    name: "the window counts from the first signal, not from the last copy",
    times: [0, 600, 1_200],
    want: ["stop", "copy", "force"],
  },
  {
    name: "a custom window",
    times: [0, 49, 50],
    windowMs: 50,
    want: ["stop", "copy", "force"],
  },
];

for (const c of CASES) {
  Deno.test(`ShutdownSignals: ${c.name}`, () => {
    assert.deepEqual(actions(c.times, c.windowMs), c.want);
  });
}
