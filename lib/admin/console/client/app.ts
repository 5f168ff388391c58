/**
 * What the console's views share: the API client, the last state pushed by
 * the server, the chart series, and the actions that open the drawer.
 *
 * @module
 */
import type { ConsoleState, SeriesPoint } from "../model.ts";
import type { Api } from "./api.ts";

/** The running console, as the views see it. */
export interface App {
  readonly api: Api;
  /** Who signed in (the token's name). */
  readonly name: string;
  /** The last state from the server (null until the first arrives). */
  state: ConsoleState | null;
  /** Chart points by group, oldest first. */
  readonly series: Map<string, SeriesPoint[]>;
  /** How much history the server keeps (and sends on connect). */
  windowMs: number;
  /** How much of it the charts show (the range buttons). */
  viewMs: number;
  /** Whether the schema accepts `"drain": true` on a backend. */
  readonly drainSupported: boolean;
  /** Opens the editor of a group, or the new-group form (null). */
  openEditor(group: string | null): void;
  /** Opens a group's history. */
  openHistory(group: string): void;
  /** Closes the drawer. */
  closeDrawer(): void;
  /** Called with every new state while the drawer shows something that cares. */
  onState: ((state: ConsoleState) => void) | null;
}
