/// <reference lib="dom" />
/**
 * A diff (from `lib/admin/diff.ts`, the one the API and the CLI use) as
 * coloured lines.
 *
 * @module
 */
import type { DiffEntry } from "../../diff.ts";
import { h } from "./dom.ts";

const show = (v: unknown) => JSON.stringify(v);

/** One element listing the changes, or "(no differences)". */
export function diffView(entries: readonly DiffEntry[], role = "diff"): HTMLElement {
  if (entries.length === 0) {
    return h("div", { class: "diff", "data-role": role }, "(no differences)");
  }
  return h(
    "div",
    { class: "diff", "data-role": role },
    entries.map((e) => {
      const where = e.path || "(whole config)";
      const text = e.op === "add"
        ? `+ ${where}: ${show(e.to)}`
        : e.op === "remove"
        ? `- ${where}: ${show(e.from)}`
        : `~ ${where}: ${show(e.from)} → ${show(e.to)}`;
      return h("div", { class: e.op }, text);
    }),
  );
}
