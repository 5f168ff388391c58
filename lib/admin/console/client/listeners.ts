/// <reference lib="dom" />
/**
 * Listeners in the drawer, read-only: each listener with its routes in order (name, what it
 * matches, what it does), and the "Which route?" box: a method, a URL and headers sent to
 * `POST /api/listeners/:listener/route-test`, whose answer (the route, the action, the groups and
 * which of their backends may be picked now) is shown as `ctl route-test` prints it. Listeners
 * are changed with `ctl listener put` or the API.
 *
 * @module
 */
import {
  formatRouteAnswer,
  parseHeaderLines,
  type RouteAnswer,
} from "../../../routing/which_route.ts";
import { describeAction, describeMatch } from "../route_summary.ts";
import { errorText } from "./api.ts";
import type { App } from "./app.ts";
import { h, replace } from "./dom.ts";

/** The path of a listener's API resource. */
function listenerPath(listener: string, rest = ""): string {
  return `/api/listeners/${encodeURIComponent(listener)}${rest}`;
}

interface ListenerRead {
  readonly listener: string;
  readonly version: number;
  readonly valid: boolean;
  readonly config: unknown;
}

function routesOf(config: unknown): unknown[] {
  const routes = typeof config === "object" && config !== null
    ? (config as { routes?: unknown }).routes
    : undefined;
  return Array.isArray(routes) ? routes : [];
}

function listenerView(l: ListenerRead): HTMLElement {
  const routes = routesOf(l.config);
  const fallback = typeof l.config === "object" && l.config !== null
    ? (l.config as { default_route?: unknown }).default_route
    : undefined;
  return h(
    "section",
    { class: "listener", "data-listener": l.listener },
    h(
      "h3",
      null,
      l.listener,
      " ",
      h("span", { class: "muted" }, `version ${l.version}`),
      l.valid
        ? null
        : h("span", { class: "notice bad" }, " invalid: the proxies keep the last good"),
    ),
    h(
      "table",
      { class: "routes" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", null, "#"),
          h("th", null, "route"),
          h("th", null, "match"),
          h("th", null, "action"),
        ),
      ),
      h(
        "tbody",
        null,
        routes.map((r, i) => {
          const name = typeof r === "object" && r !== null
            ? String((r as { name?: unknown }).name)
            : "?";
          return h(
            "tr",
            { "data-route": name },
            h("td", null, i),
            h(
              "td",
              null,
              name,
              name === fallback ? h("span", { class: "muted" }, " (default)") : null,
            ),
            h("td", null, describeMatch(r)),
            h("td", null, describeAction(r)),
          );
        }),
      ),
    ),
  );
}

function routeTestBox(app: App, listeners: readonly string[]): HTMLElement {
  const select = h(
    "select",
    { "data-field": "rt-listener" },
    listeners.map((l) => h("option", { value: l }, l)),
  );
  const method = h("input", { "data-field": "rt-method", value: "GET", size: 7 });
  const url = h("input", {
    "data-field": "rt-url",
    placeholder: "https://shop.example.com/cart?id=1",
    size: 48,
  });
  const headers = h("textarea", {
    "data-field": "rt-headers",
    rows: 3,
    cols: 60,
    placeholder: "Cookie: session=…\nX-Name: value",
  });
  const answer = h("pre", { "data-role": "route-answer", class: "route-answer" });
  return h(
    "form",
    {
      class: "route-test",
      "data-role": "route-test",
      onsubmit: async (e) => {
        e.preventDefault();
        const parsed = parseHeaderLines(headers.value.split("\n"));
        if ("error" in parsed) {
          answer.textContent = `Headers: ${parsed.error}`;
          return;
        }
        answer.textContent = "Asking…";
        const r = await app.api.call("POST", listenerPath(select.value, "/route-test"), {
          method: method.value.trim() || "GET",
          url: url.value.trim(),
          headers: parsed.headers,
        });
        answer.textContent = r.status === 200
          ? `listener ${r.json.listener} version ${r.json.version}\n` +
            formatRouteAnswer(r.json as RouteAnswer)
          : `${r.status}: ${errorText(r)}`;
      },
    },
    h("h3", null, "Which route?"),
    h(
      "p",
      { class: "muted" },
      "Which route, group and backends a request would get, from the live config and health.",
    ),
    h("p", null, "Listener ", select, " ", method, " ", url),
    h("p", null, headers),
    h(
      "p",
      null,
      h("button", { type: "submit", class: "btn primary", "data-action": "route-test" }, "Test"),
    ),
    answer,
  );
}

/**
 * Opens the listeners view in the drawer.
 *
 * @param drawer the drawer element
 * @param app the console
 */
export async function openListeners(drawer: HTMLElement, app: App): Promise<void> {
  drawer.hidden = false;
  app.onState = null;
  replace(drawer, h("p", { class: "muted" }, "Loading the listeners…"));
  const head = h(
    "div",
    { class: "drawer-head" },
    h("h2", null, "Listeners"),
    h(
      "button",
      { class: "btn", "data-action": "close", onclick: () => app.closeDrawer() },
      "Close",
    ),
  );
  const list = await app.api.call("GET", "/api/listeners");
  if (list.status !== 200) {
    replace(
      drawer,
      head,
      h("div", { class: "notice bad" }, `Cannot read the listeners: ${errorText(list)}`),
    );
    return;
  }
  const names = ((list.json.listeners ?? []) as { listener: string }[]).map((l) => l.listener);
  const reads = await Promise.all(names.map((n) => app.api.call("GET", listenerPath(n))));
  const views = reads.map((r, i) =>
    r.status === 200
      ? listenerView(r.json as ListenerRead)
      : h("div", { class: "notice bad" }, `${names[i]}: ${errorText(r)}`)
  );
  replace(
    drawer,
    head,
    names.length === 0
      ? h(
        "p",
        { class: "muted", "data-role": "no-listeners" },
        "No listeners yet: `ctl listener put NAME FILE`.",
      )
      : routeTestBox(app, names),
    views,
  );
}
