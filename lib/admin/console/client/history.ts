/// <reference lib="dom" />
/**
 * A group's history in the drawer: every version written, by whom and when,
 * what rolling back to it would change, and a one-click rollback (sent with
 * the version the page shows, so a concurrent write is a conflict, shown).
 *
 * @module
 */
import { diffJson } from "../../diff.ts";
import { errorText, groupPath, type GroupRecord, type HistoryEntry } from "./api.ts";
import type { App } from "./app.ts";
import { diffView } from "./diff_view.ts";
import { h, replace } from "./dom.ts";
import type { Notice } from "./editor.ts";

/**
 * Opens the history of `group` in the drawer.
 *
 * @param drawer the drawer element
 * @param app the console
 * @param group the group
 * @param notice a message to show on top
 */
export async function openHistory(
  drawer: HTMLElement,
  app: App,
  group: string,
  notice: Notice | null = null,
): Promise<void> {
  drawer.hidden = false;
  app.onState = null;
  replace(drawer, h("p", { class: "muted" }, `Loading the history of ${group}…`));
  const [cur, hist] = await Promise.all([
    app.api.call("GET", groupPath(group)),
    app.api.call("GET", groupPath(group, "/history")),
  ]);
  const head = h(
    "div",
    { class: "drawer-head" },
    h("h2", null, `History of ${group}`),
    cur.status === 200
      ? h(
        "button",
        { class: "btn", "data-action": "edit", onclick: () => app.openEditor(group) },
        "Edit",
      )
      : null,
    h(
      "button",
      { class: "btn", "data-action": "close", onclick: () => app.closeDrawer() },
      "Close",
    ),
  );
  const noticeBox = h(
    "div",
    { "data-role": "notice" },
    notice ? h("div", { class: `notice ${notice.kind}`, role: "status" }, notice.text) : null,
  );
  if (hist.status !== 200) {
    replace(
      drawer,
      head,
      h("div", { class: "notice bad" }, `Cannot read the history: ${errorText(hist)}`),
    );
    return;
  }
  const current = cur.status === 200 ? cur.json as GroupRecord : null;
  const entries = (hist.json.history ?? []) as HistoryEntry[];
  const say = (n: Notice) =>
    replace(noticeBox, h("div", { class: `notice ${n.kind}`, role: "status" }, n.text));

  const rollback = async (entry: HistoryEntry) => {
    say({ kind: "warn", text: `Rolling back to version ${entry.version}…` });
    const body = current
      ? { version: entry.version, expected_version: current.version }
      : { version: entry.version };
    const r = await app.api.call("POST", groupPath(group, "/rollback"), body);
    if (r.status === 200) {
      await openHistory(drawer, app, group, {
        kind: "ok",
        text:
          `Rolled back to version ${entry.version}: ${group} is now at version ${r.json.version}.`,
      });
    } else if (r.status === 409) {
      say({
        kind: "bad",
        text: `Conflict: someone else saved ${group} meanwhile (now version ${
          r.json.current_version ?? "?"
        }); nothing was written. Reload the history to see it.`,
      });
    } else say({ kind: "bad", text: `Not rolled back: ${errorText(r)}` });
  };

  replace(
    drawer,
    head,
    noticeBox,
    current
      ? h("p", null, `Current version: ${current.version} (modified ${current.modified_at}).`)
      : h(
        "p",
        { class: "notice warn" },
        `${group} does not exist now; rolling back re-creates it.`,
      ),
    entries.length === 0 ? h("p", { class: "muted" }, "No history.") : h(
      "ul",
      { class: "history" },
      entries.map((e) => {
        const isCurrent = current !== null && e.version === current.version &&
          e.action !== "delete";
        const changes = diffJson(current?.config ?? null, e.config);
        const details = h(
          "div",
          { hidden: true },
          h("p", { class: "muted" }, "Rolling back would change:"),
          diffView(changes),
        );
        return h(
          "li",
          { "data-version": e.version, "data-entry": e.id },
          h("b", null, `version ${e.version}`),
          ` · ${e.action} by ${e.by} · ${new Date(e.at).toLocaleString()} `,
          isCurrent ? h("span", { class: "tag ok" }, "current") : null,
          " ",
          h("button", {
            class: "btn small",
            "data-action": "show-diff",
            onclick: () => (details.hidden = !details.hidden),
          }, "Diff"),
          " ",
          isCurrent || e.action === "delete" ? null : h("button", {
            class: "btn small primary",
            "data-action": "rollback",
            onclick: () => rollback(e),
          }, `Roll back to ${e.version}`),
          details,
        );
      }),
    ),
  );
}
