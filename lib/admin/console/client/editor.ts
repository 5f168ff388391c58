/// <reference lib="dom" />
/**
 * The group editor (in the drawer): backends (add, remove, re-weight,
 * drain) and the balancing and health settings of one group, or a new
 * group. The form is checked in the browser with `validateGroupConfig`, the
 * very function the API and the proxies use, and every issue is shown next
 * to its field; nothing is sent while any remains. A save shows the diff
 * first, then writes with `If-Match` on the version the editor loaded: a
 * concurrent save comes back as 409 and is shown with both sides, never
 * overwritten.
 *
 * @module
 */
import { GROUP_NAME, validateGroupConfig } from "../../../config/schema.ts";
import { diffJson } from "../../diff.ts";
import type { IssueView } from "../model.ts";
import { errorText, groupPath, type GroupRecord } from "./api.ts";
import type { App } from "./app.ts";
import { diffView } from "./diff_view.ts";
import { h, replace } from "./dom.ts";
import {
  type BackendRow,
  backendSlot,
  buildConfig,
  issueSlot,
  rowsFromConfig,
  SETTINGS,
  settingsFromConfig,
} from "./form_model.ts";

/** A message at the top of the drawer. */
export interface Notice {
  readonly kind: "ok" | "bad" | "warn";
  readonly text: string;
}

interface Editor {
  readonly mode: "edit" | "create";
  name: string;
  base: GroupRecord | null;
  settings: Record<string, string>;
  rows: BackendRow[];
  nextKey: number;
}

function noticeEl(n: Notice | null): HTMLElement | null {
  return n ? h("div", { class: `notice ${n.kind}`, role: "status" }, n.text) : null;
}

/**
 * Opens the editor of `group` (null: a new group) in the drawer.
 *
 * @param drawer the drawer element
 * @param app the console
 * @param group the group, or null to create one
 * @param notice a message to show on top (e.g. "saved")
 */
export async function openEditor(
  drawer: HTMLElement,
  app: App,
  group: string | null,
  notice: Notice | null = null,
): Promise<void> {
  drawer.hidden = false;
  let base: GroupRecord | null = null;
  if (group !== null) {
    replace(drawer, h("p", { class: "muted" }, `Loading ${group}…`));
    const r = await app.api.call("GET", groupPath(group));
    if (r.status !== 200) {
      replace(
        drawer,
        h("div", { class: "drawer-head" }, h("h2", null, group), closeButton(app)),
        noticeEl({ kind: "bad", text: `Cannot load ${group}: ${errorText(r)}` }),
      );
      return;
    }
    base = r.json as GroupRecord;
  }
  let key = 0;
  const ed: Editor = {
    mode: group === null ? "create" : "edit",
    name: group ?? "",
    base,
    settings: settingsFromConfig(base?.config ?? {}),
    rows: rowsFromConfig(base?.config ?? { backend_servers: [] }, () => ++key),
    nextKey: 0,
  };
  ed.nextKey = key;
  render(drawer, app, ed, notice);
}

function closeButton(app: App): HTMLElement {
  return h(
    "button",
    { class: "btn", "data-action": "close", onclick: () => app.closeDrawer() },
    "Close",
  );
}

function render(drawer: HTMLElement, app: App, ed: Editor, notice: Notice | null): void {
  const banner = h("div", { "data-role": "banner" });
  const noticeBox = h("div", { "data-role": "notice" }, noticeEl(notice));
  const general = h("ul", { class: "error", "data-error-for": "" });
  const review = h("section", { "data-role": "review", hidden: true });
  const conflict = h("section", { "data-role": "conflict", hidden: true });
  const tbody = h("tbody");

  const say = (n: Notice | null) => replace(noticeBox, noticeEl(n));
  const config = () =>
    buildConfig(ed.base?.config ?? { backend_servers: [] }, ed.settings, ed.rows);

  const renderRows = () => {
    replace(
      tbody,
      ed.rows.map((row) =>
        h(
          "tr",
          { "data-row": row.key, class: row.removed ? "removed" : null },
          h(
            "td",
            null,
            h("input", {
              type: "text",
              value: row.address,
              placeholder: "host:port",
              "data-field": backendSlot(row.key, "address"),
              "aria-label": "backend address",
              disabled: row.removed,
              oninput: (e) => (row.address = (e.target as HTMLInputElement).value),
            }),
            h("span", { class: "field-error", "data-error-for": backendSlot(row.key, "address") }),
          ),
          h(
            "td",
            null,
            h("input", {
              type: "text",
              inputmode: "numeric",
              size: 6,
              value: row.weight,
              placeholder: "1",
              "data-field": backendSlot(row.key, "weight"),
              "aria-label": "weight",
              disabled: row.removed,
              oninput: (e) => (row.weight = (e.target as HTMLInputElement).value),
            }),
            h("span", { class: "field-error", "data-error-for": backendSlot(row.key, "weight") }),
          ),
          h(
            "td",
            null,
            h("input", {
              type: "checkbox",
              checked: row.drain,
              "data-field": backendSlot(row.key, "drain"),
              "aria-label": "drain",
              disabled: row.removed || (!app.drainSupported && !row.drain),
              title: app.drainSupported
                ? "drain: keep it, but pick it for no new request (in-flight ones finish)"
                : "draining needs the schema's `drain` support on the server",
              onchange: (e) => (row.drain = (e.target as HTMLInputElement).checked),
            }),
            h("span", { class: "field-error", "data-error-for": backendSlot(row.key, "drain") }),
          ),
          h(
            "td",
            null,
            h("button", {
              type: "button",
              class: "btn small",
              "data-action": row.removed ? "restore-backend" : "remove-backend",
              onclick: () => {
                if (row.original === undefined && !row.removed) {
                  ed.rows = ed.rows.filter((r) => r !== row);
                } else row.removed = !row.removed;
                renderRows();
              },
            }, row.removed ? "Undo" : "Remove"),
          ),
        )
      ),
    );
  };
  renderRows();

  const clearIssues = () => {
    for (const el of drawer.querySelectorAll(".field-error")) el.textContent = "";
    for (const el of drawer.querySelectorAll(".invalid")) el.classList.remove("invalid");
    replace(general);
  };
  const showIssues = (issues: readonly IssueView[], rowKeys: readonly number[]) => {
    clearIssues();
    let first: HTMLElement | null = null;
    for (const issue of issues) {
      let slot = issueSlot(issue.field, rowKeys);
      if (ed.mode === "create" && issue.field === "" && /group name/.test(issue.reason)) {
        slot = "name";
      }
      const where = slot === "" ? null : drawer.querySelector<HTMLElement>(
        `[data-error-for="${slot}"]`,
      );
      if (!where) {
        general.appendChild(h("li", null, `${issue.field || "(config)"}: ${issue.reason}`));
        continue;
      }
      where.textContent = where.textContent
        ? `${where.textContent}; ${issue.reason}`
        : issue.reason;
      const input = drawer.querySelector<HTMLElement>(`[data-field="${slot}"]`);
      input?.classList.add("invalid");
      first ??= input;
    }
    first?.focus();
  };

  /** Validates the form; the config to write, or null (issues shown). */
  const validated = (): { config: Record<string, unknown>; rowKeys: number[] } | null => {
    const built = config();
    if (ed.mode === "create" && !GROUP_NAME.test(ed.name)) {
      showIssues([{
        field: "",
        reason: "group name must be 1-128 of A-Z a-z 0-9 . _ - and start with a letter or digit",
      }], built.rowKeys);
      say({ kind: "bad", text: "Fix the highlighted problem; nothing was saved." });
      return null;
    }
    const r = validateGroupConfig(ed.name, built.config);
    if (!r.ok) {
      showIssues(r.issues, built.rowKeys);
      say({
        kind: "bad",
        text: `Fix the ${
          r.issues.length === 1 ? "highlighted problem" : `${r.issues.length} highlighted problems`
        }; nothing was saved.`,
      });
      return null;
    }
    clearIssues();
    return built;
  };

  const showForm = () => {
    form.hidden = false;
    review.hidden = true;
    conflict.hidden = true;
  };

  const save = async (built: { config: Record<string, unknown>; rowKeys: number[] }) => {
    say({ kind: "warn", text: "Saving…" });
    const r = ed.mode === "create"
      ? await app.api.call("POST", "/api/groups", { group: ed.name, config: built.config })
      : await app.api.call("PUT", groupPath(ed.name), built.config, {
        "if-match": `"${ed.base!.version}"`,
      });
    if (r.status === 200 || r.status === 201) {
      const rec = r.json as GroupRecord;
      await openEditor(drawer, app, rec.group, {
        kind: "ok",
        text: ed.mode === "create"
          ? `Created ${rec.group} (version ${rec.version}).`
          : `Saved: ${rec.group} is now at version ${rec.version}.`,
      });
      return;
    }
    if (r.status === 409 && ed.mode === "edit") {
      await showConflict(built.config, r.json?.current_version);
      return;
    }
    showForm();
    if (r.status === 422 && Array.isArray(r.json?.issues)) {
      showIssues(r.json.issues as IssueView[], built.rowKeys);
      say({ kind: "bad", text: `The server refused the config; nothing was saved.` });
      return;
    }
    say({
      kind: "bad",
      text: r.status === 409
        ? `A group named ${ed.name} already exists; nothing was saved.`
        : `Not saved: ${errorText(r)}`,
    });
  };

  const showConflict = async (mine: Record<string, unknown>, current: unknown) => {
    const theirs = await app.api.call("GET", groupPath(ed.name));
    form.hidden = true;
    review.hidden = true;
    conflict.hidden = false;
    say(null);
    if (theirs.status === 404) {
      replace(
        conflict,
        h("h3", null, "Conflict: not saved"),
        h(
          "p",
          { class: "notice bad" },
          `Someone else deleted ${ed.name} while you were editing. Nothing was written.`,
        ),
        h("div", { class: "row-actions" }, closeButton(app)),
      );
      return;
    }
    const rec = theirs.json as GroupRecord;
    const baseVersion = ed.base!.version;
    replace(
      conflict,
      h("h3", null, "Conflict: not saved"),
      h(
        "p",
        { class: "notice bad", "data-role": "conflict-message" },
        `Someone else saved ${ed.name} while you were editing: it is now at version ${
          typeof current === "number" ? current : rec.version
        }, you edited version ${baseVersion}. Nothing was written.`,
      ),
      h("h4", null, `Their changes (version ${baseVersion} → ${rec.version})`),
      diffView(diffJson(ed.base!.config, rec.config), "their-diff"),
      h("h4", null, `Your edits, compared with version ${rec.version}`),
      diffView(diffJson(rec.config, mine), "my-diff"),
      h(
        "div",
        { class: "row-actions" },
        h("button", {
          class: "btn",
          "data-action": "load-theirs",
          onclick: () =>
            openEditor(drawer, app, ed.name, {
              kind: "warn",
              text: `Loaded version ${rec.version}; your edits were discarded.`,
            }),
        }, `Load version ${rec.version} (discard my edits)`),
        h("button", {
          class: "btn primary",
          "data-action": "rebase",
          onclick: () => {
            ed.base = rec;
            showBanner();
            showForm();
            startReview();
          },
        }, `Keep my edits, review them against version ${rec.version}`),
      ),
    );
  };

  const startReview = () => {
    const built = validated();
    if (!built) return;
    const changes = diffJson(ed.base?.config ?? {}, built.config);
    if (ed.mode === "edit" && changes.length === 0) {
      say({ kind: "warn", text: "Nothing changed." });
      return;
    }
    say(null);
    form.hidden = true;
    conflict.hidden = true;
    review.hidden = false;
    replace(
      review,
      h("h3", null, "Review before saving"),
      h(
        "p",
        null,
        ed.mode === "create"
          ? `Creates group ${ed.name}.`
          : `Writes version ${ed.base!.version + 1} of ${ed.name} (you are editing version ${
            ed.base!.version
          }); the proxies apply it within moments.`,
      ),
      diffView(changes),
      h(
        "div",
        { class: "row-actions" },
        h("button", {
          class: "btn primary",
          "data-action": "confirm-save",
          onclick: () => save(built),
        }, ed.mode === "create" ? "Create" : "Save"),
        h(
          "button",
          { class: "btn", "data-action": "back", onclick: () => showForm() },
          "Back to editing",
        ),
      ),
    );
  };

  const startDelete = () => {
    form.hidden = true;
    review.hidden = false;
    replace(
      review,
      h("h3", null, `Delete ${ed.name}?`),
      h(
        "p",
        { class: "notice warn" },
        `Deletes version ${
          ed.base!.version
        }. Proxies serving ${ed.name} keep their last good config; the history is kept.`,
      ),
      diffView(diffJson(ed.base!.config, {})),
      h(
        "div",
        { class: "row-actions" },
        h("button", {
          class: "btn danger",
          "data-action": "confirm-delete",
          onclick: async () => {
            const r = await app.api.call("DELETE", groupPath(ed.name), undefined, {
              "if-match": `"${ed.base!.version}"`,
            });
            if (r.status === 204) {
              app.onState = null;
              replace(
                drawer,
                h("div", { class: "drawer-head" }, h("h2", null, ed.name), closeButton(app)),
                noticeEl({ kind: "ok", text: `Deleted ${ed.name}.` }),
              );
            } else if (r.status === 409) {
              await showConflict(
                ed.base!.config as Record<string, unknown>,
                r.json?.current_version,
              );
            } else say({ kind: "bad", text: `Not deleted: ${errorText(r)}` });
          },
        }, "Delete"),
        h("button", { class: "btn", "data-action": "back", onclick: () => showForm() }, "Back"),
      ),
    );
  };

  const settingInput = (spec: typeof SETTINGS[number]) => {
    const value = ed.settings[spec.key] ?? "";
    const common = {
      "data-field": spec.key,
      id: `f-${spec.key}`,
      oninput: (e: Event) => (ed.settings[spec.key] = (e.target as HTMLInputElement).value),
      onchange: (e: Event) => (ed.settings[spec.key] = (e.target as HTMLInputElement).value),
    };
    if (spec.kind === "select") {
      const options = [...(spec.options ?? [])];
      if (value && !options.includes(value)) options.push(value);
      return h(
        "select",
        common,
        h("option", { value: "", selected: value === "" }, `default (${spec.hint})`),
        options.map((o) => h("option", { value: o, selected: o === value }, o)),
      );
    }
    return h("input", {
      ...common,
      type: "text",
      value,
      placeholder: `default: ${spec.hint}`,
      inputmode: spec.number ? "decimal" : null,
    });
  };

  const form = h(
    "form",
    {
      "data-role": "form",
      novalidate: true,
      onsubmit: (e) => {
        e.preventDefault();
        startReview();
      },
    },
    ed.mode === "create"
      ? h(
        "div",
        { class: "form-grid" },
        h("label", { for: "f-name" }, "Group name"),
        h(
          "div",
          null,
          h("input", {
            id: "f-name",
            type: "text",
            "data-field": "name",
            placeholder: "lb-group-1",
            value: ed.name,
            oninput: (e) => (ed.name = (e.target as HTMLInputElement).value.trim()),
          }),
          h("span", { class: "field-error", "data-error-for": "name" }),
        ),
      )
      : null,
    h("h3", null, "Backends"),
    h(
      "table",
      { class: "backends-edit" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", null, "Address"),
          h("th", null, "Weight"),
          h("th", null, "Drain"),
          h("th"),
        ),
      ),
      tbody,
    ),
    h("span", { class: "field-error", "data-error-for": "backend_servers" }),
    h(
      "div",
      { class: "row-actions" },
      h("button", {
        type: "button",
        class: "btn",
        "data-action": "add-backend",
        onclick: () => {
          const row: BackendRow = {
            key: ++ed.nextKey,
            address: "",
            weight: "",
            drain: false,
            removed: false,
            original: undefined,
          };
          ed.rows.push(row);
          renderRows();
          drawer.querySelector<HTMLInputElement>(
            `[data-field="${backendSlot(row.key, "address")}"]`,
          )
            ?.focus();
        },
      }, "Add backend"),
    ),
    h("h3", null, "Balancing and health checks"),
    h(
      "div",
      { class: "form-grid" },
      SETTINGS.map((spec) => [
        h("label", { for: `f-${spec.key}` }, spec.label),
        h(
          "div",
          null,
          settingInput(spec),
          h("span", { class: "field-error", "data-error-for": spec.key }),
        ),
      ]),
    ),
    h(
      "p",
      { class: "muted" },
      "Empty fields use the default. Other settings of the config are kept as they are.",
    ),
    general,
    h(
      "div",
      { class: "row-actions" },
      h(
        "button",
        { type: "submit", class: "btn primary", "data-action": "review" },
        "Review changes",
      ),
      h("button", { type: "button", class: "btn", onclick: () => app.closeDrawer() }, "Cancel"),
      ed.mode === "edit"
        ? [
          h("span", { class: "spacer" }),
          h("button", {
            type: "button",
            class: "btn",
            onclick: () => app.openHistory(ed.name),
          }, "History"),
          h("button", {
            type: "button",
            class: "btn danger",
            "data-action": "delete",
            onclick: startDelete,
          }, "Delete group"),
        ]
        : null,
    ),
  );

  const showBanner = () => {
    const state = app.state;
    if (ed.mode !== "edit" || !state || !ed.base) return replace(banner);
    const g = state.groups.find((x) => x.name === ed.name);
    if (!g || g.version === null) {
      replace(banner, noticeEl({ kind: "warn", text: `${ed.name} was deleted meanwhile.` }));
    } else if (g.version !== ed.base.version) {
      replace(
        banner,
        h(
          "div",
          { class: "notice warn", "data-role": "changed-banner" },
          `${ed.name} changed since you opened it: it is now at version ${g.version} (you are editing version ${ed.base.version}); saving will be refused as a conflict. `,
          h("button", {
            class: "btn small",
            onclick: () => openEditor(drawer, app, ed.name),
          }, "Load the latest"),
        ),
      );
    } else replace(banner);
  };
  app.onState = showBanner;

  replace(
    drawer,
    h(
      "div",
      { class: "drawer-head" },
      h("h2", null, ed.mode === "create" ? "New group" : `Edit ${ed.name}`),
      ed.base
        ? h("span", { class: "tag", "data-role": "version" }, `version ${ed.base.version}`)
        : null,
      closeButton(app),
    ),
    banner,
    noticeBox,
    form,
    review,
    conflict,
  );
  showBanner();
}
