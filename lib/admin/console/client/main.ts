/// <reference lib="dom" />
/**
 * The console's browser entry (bundled by esbuild into `console.js`).
 *
 * Sign-in: the admin token is checked by `POST /api/session`, which also
 * sets the short-lived session cookie the live stream (`EventSource`, which
 * cannot send headers) needs. The token stays in this tab's sessionStorage
 * (gone when the tab closes or on "Sign out") and is sent as a bearer token
 * on every API call; the cookie is renewed while the page is open.
 *
 * @module
 */
import "./zod_jitless.ts"; // first: before any schema is built or used
import { validateGroupConfig } from "../../../config/schema.ts";
import type { ConsoleState, SeriesByGroup, SeriesPoint } from "../model.ts";
import { Api } from "./api.ts";
import type { App } from "./app.ts";
import { byId, h, replace } from "./dom.ts";
import { openEditor } from "./editor.ts";
import { openHistory } from "./history.ts";
import { openListeners } from "./listeners.ts";
import { openCertificates } from "./certificates.ts";
import { renderOverview } from "./overview.ts";

const TOKEN_KEY = "switchyard-admin-token";
const RANGE_KEY = "switchyard-chart-range";
const RANGES: readonly [string, number][] = [["1m", 60_000], ["5m", 300_000], ["10m", 600_000]];

/** Whether the schema bundled here accepts `"drain": true` on a backend. */
const DRAIN_SUPPORTED = validateGroupConfig("probe", {
  backend_servers: [{ address: "127.0.0.1:1", drain: true }],
}).ok;

function setLive(state: "on" | "connecting" | "off", text: string): void {
  const el = byId("live");
  el.className = `live ${state}`;
  el.textContent = text;
}

async function openSession(token: string): Promise<{ name: string; ttl: number } | null> {
  const r = await fetch("/api/session", {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    credentials: "same-origin",
    cache: "no-store",
  });
  if (r.status === 401) return null;
  if (!r.ok) throw new Error(`the admin role answered ${r.status}`);
  const j = await r.json();
  return { name: String(j.name), ttl: Number(j.ttl_seconds) * 1000 };
}

function signInView(message: string | null): void {
  setLive("off", "signed out");
  replace(byId("actions"));
  const drawer = byId("drawer");
  drawer.hidden = true;
  drawer.replaceChildren();
  const error = h("p", { class: "error", "data-role": "signin-error" }, message ?? "");
  const input = h("input", {
    type: "password",
    id: "token",
    name: "token",
    autocomplete: "current-password",
    placeholder: "admin token",
    "data-field": "token",
  });
  const form = h(
    "form",
    {
      class: "signin",
      "data-role": "signin",
      onsubmit: async (e) => {
        e.preventDefault();
        const token = input.value.trim();
        if (!token) return;
        error.textContent = "Signing in…";
        try {
          const s = await openSession(token);
          if (!s) {
            error.textContent = "That token is not valid.";
            return;
          }
          sessionStorage.setItem(TOKEN_KEY, token);
          start(token, s.name, s.ttl);
        } catch (err) {
          error.textContent = `Cannot sign in: ${(err as Error).message}`;
        }
      },
    },
    h("h2", null, "Sign in"),
    h(
      "p",
      { class: "muted" },
      "Paste an admin token (a line of the admin role's --token-file, ",
      "SWITCHYARD_ADMIN_TOKEN, or .state/admin-token).",
    ),
    h("p", null, input),
    h("p", null, h("button", { type: "submit", class: "btn primary" }, "Sign in")),
    error,
  );
  replace(byId("app"), form);
  input.focus();
}

function start(token: string, name: string, ttl: number): void {
  const api = new Api(token);
  const root = byId("app");
  const drawer = byId("drawer");
  let es: EventSource | null = null;
  let stopped = false;
  let renderPending = false;
  let retryMs = 1000;

  const app: App = {
    api,
    name,
    state: null,
    series: new Map(),
    windowMs: 600_000,
    viewMs: Number(sessionStorage.getItem(RANGE_KEY)) || 300_000,
    drainSupported: DRAIN_SUPPORTED,
    onState: null,
    openEditor: (group) => void openEditor(drawer, app, group),
    openHistory: (group) => void openHistory(drawer, app, group),
    closeDrawer: () => {
      app.onState = null;
      drawer.hidden = true;
      drawer.replaceChildren();
    },
  };

  const render = () => {
    if (renderPending) return;
    renderPending = true;
    requestAnimationFrame(() => {
      renderPending = false;
      if (!stopped) renderOverview(root, app);
    });
  };

  const signOut = async (message: string | null) => {
    stopped = true;
    es?.close();
    clearInterval(renew);
    sessionStorage.removeItem(TOKEN_KEY);
    await fetch("/api/session", { method: "DELETE", credentials: "same-origin" }).catch(() => {});
    signInView(message);
  };

  const renewSession = async (): Promise<boolean> => {
    try {
      const s = await openSession(token);
      if (!s) {
        await signOut("Your token is no longer valid: sign in again.");
        return false;
      }
      return true;
    } catch {
      return false; // the admin role is unreachable: keep trying
    }
  };
  const renew = setInterval(() => void renewSession(), Math.max(10_000, ttl / 3));

  const connect = () => {
    if (stopped) return;
    setLive("connecting", "connecting…");
    es = new EventSource("/api/events");
    es.addEventListener("open", () => {
      retryMs = 1000;
      setLive("on", "live");
    });
    es.addEventListener("state", (e) => {
      app.state = JSON.parse((e as MessageEvent).data) as ConsoleState;
      app.onState?.(app.state);
      render();
    });
    es.addEventListener("series", (e) => {
      const d = JSON.parse((e as MessageEvent).data) as { series: SeriesByGroup; windowMs: number };
      app.windowMs = d.windowMs;
      app.series.clear();
      for (const [g, points] of Object.entries(d.series)) app.series.set(g, [...points]);
      render();
    });
    es.addEventListener("sample", (e) => {
      const d = JSON.parse((e as MessageEvent).data) as { points: Record<string, SeriesPoint> };
      for (const [g, p] of Object.entries(d.points)) {
        const list = app.series.get(g) ?? [];
        list.push(p);
        while (list.length && list[0]!.t < p.t - app.windowMs) list.shift();
        app.series.set(g, list);
      }
      render();
    });
    es.addEventListener("error", () => {
      if (stopped) return;
      if (es?.readyState === EventSource.CONNECTING) {
        setLive("connecting", "reconnecting…");
        return;
      }
      // closed: the cookie expired or the server went away; renew, then reconnect
      es?.close();
      setLive("connecting", "reconnecting…");
      setTimeout(async () => {
        if (stopped) return;
        if (await renewSession()) connect();
        else if (!stopped) setTimeout(connect, retryMs);
      }, retryMs);
      retryMs = Math.min(retryMs * 2, 15_000);
    });
  };

  const range = h(
    "span",
    { class: "range", "data-role": "range" },
    RANGES.map(([label, ms]) =>
      h("button", {
        "data-range": label,
        class: ms === app.viewMs ? "active" : null,
        title: `charts show the last ${label}`,
        onclick: (e) => {
          app.viewMs = ms;
          sessionStorage.setItem(RANGE_KEY, String(ms));
          for (const b of range.querySelectorAll("button")) b.classList.remove("active");
          (e.currentTarget as HTMLElement).classList.add("active");
          render();
        },
      }, label)
    ),
  );
  replace(
    byId("actions"),
    range,
    " ",
    h("span", { class: "muted", "data-role": "who" }, `signed in as ${name}`),
    " ",
    h("button", { "data-action": "new-group", onclick: () => app.openEditor(null) }, "New group"),
    " ",
    h(
      "button",
      { "data-action": "listeners", onclick: () => void openListeners(drawer, app) },
      "Listeners",
    ),
    " ",
    h(
      "button",
      { "data-action": "certificates", onclick: () => void openCertificates(drawer, app) },
      "Certificates",
    ),
    " ",
    h("button", { "data-action": "sign-out", onclick: () => void signOut(null) }, "Sign out"),
  );
  renderOverview(root, app);
  connect();
}

async function boot(): Promise<void> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    try {
      const s = await openSession(token);
      if (s) return start(token, s.name, s.ttl);
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // fall through to the sign-in form
    }
  }
  signInView(null);
}

void boot();
