/// <reference lib="dom" />
/**
 * The overview: connection, DNS and orchestrator panels, then one card per
 * group with its charts, backends and proxies. Rebuilt from each state the
 * server pushes (it holds no inputs, so nothing is lost by rebuilding).
 *
 * @module
 */
import type { BackendView, ConsoleState, GroupView, ProxyView, SeriesPoint } from "../model.ts";
import type { App } from "./app.ts";
import { type ChartLine, chartModel, renderChart } from "./chart.ts";
import { type Child, h, replace } from "./dom.ts";
import { ago, fmtCount, fmtMs, fmtRate } from "./format.ts";
import { invalidNotice } from "./invalid_notice.ts";

function tag(text: string, kind = "", title?: string): HTMLElement {
  return h("span", { class: `tag ${kind}`, title: title ?? null }, text);
}

function connectionPanel(state: ConsoleState): HTMLElement {
  const c = state.coordination;
  return h(
    "section",
    { class: "panel", "data-panel": "coordination" },
    h("h3", null, c.kind === "zookeeper" ? "ZooKeeper" : `Store (${c.kind})`),
    h(
      "p",
      null,
      tag(c.state, c.state === "connected" ? "ok" : "bad"),
      " ",
      h("span", { class: "muted" }, `since ${ago(c.since, state.at)}`),
    ),
    h("p", { class: "muted" }, c.session ? `session ${c.session}` : "no session"),
  );
}

function dnsPanel(state: ConsoleState): HTMLElement {
  const dns = state.dns;
  if (!dns) {
    return h(
      "section",
      { class: "panel", "data-panel": "dns" },
      h("h3", null, "DNS"),
      h("p", { class: "muted" }, "no DNS configured"),
    );
  }
  const c = dns.connection;
  return h(
    "section",
    { class: "panel", "data-panel": "dns" },
    h("h3", null, `DNS (${c.kind})`),
    h(
      "p",
      null,
      tag(c.state, c.state === "connected" ? "ok" : "bad"),
      c.endpoints?.length ? h("span", { class: "muted" }, ` ${c.endpoints.join(", ")}`) : null,
    ),
    dns.error ? h("p", { class: "error" }, `last read failed: ${dns.error}`) : null,
    dns.records.length === 0 ? h("p", { class: "muted" }, "no records") : h(
      "table",
      null,
      h(
        "thead",
        null,
        h("tr", null, h("th", null, "Name"), h("th", null, "Region"), h("th", null, "Target")),
      ),
      h(
        "tbody",
        null,
        dns.records.map((r) =>
          h(
            "tr",
            null,
            h("td", null, r.name),
            h("td", null, r.region ?? "global"),
            h(
              "td",
              null,
              `${r.host}${r.port ? `:${r.port}` : ""}`,
              r.weight !== undefined ? h("span", { class: "muted" }, ` w${r.weight}`) : null,
              r.ttl !== undefined ? h("span", { class: "muted" }, ` ttl ${r.ttl}s`) : null,
            ),
          )
        ),
      ),
    ),
  );
}

function orchestratorPanel(state: ConsoleState): HTMLElement {
  const o = state.orchestrator;
  return h(
    "section",
    { class: "panel", "data-panel": "orchestrator" },
    h("h3", null, "Orchestrator"),
    h(
      "p",
      null,
      "master: ",
      o.master ? h("b", null, o.master) : tag("none", o.workers.length ? "bad" : ""),
    ),
    o.workers.length === 0
      ? h("p", { class: "muted" }, "no workers (proxies check health themselves)")
      : h(
        "table",
        null,
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", null, "Worker"),
            h("th", { class: "num" }, "Backends"),
            h("th", { class: "num" }, "Groups"),
          ),
        ),
        h(
          "tbody",
          null,
          o.workers.map((w) =>
            h(
              "tr",
              { "data-worker": w.id },
              h(
                "td",
                null,
                w.id,
                w.id === o.master ? h("span", { class: "muted" }, " (master)") : null,
              ),
              h("td", { class: "num" }, fmtCount(w.backends)),
              h("td", { class: "num" }, fmtCount(w.groups)),
            )
          ),
        ),
      ),
  );
}

function fleetPanel(state: ConsoleState): HTMLElement {
  const proxies = state.groups.reduce((n, g) => n + g.proxies.length, 0);
  const rps = state.groups.reduce((n, g) => n + (g.rps ?? 0), 0);
  const err = state.groups.reduce((n, g) => n + (g.errorRps ?? 0), 0);
  return h(
    "section",
    { class: "panel", "data-panel": "fleet" },
    h("h3", null, "Fleet"),
    h(
      "p",
      null,
      h("b", null, String(state.groups.length)),
      " groups, ",
      h("b", null, String(proxies)),
      " proxies",
    ),
    h("p", null, h("b", null, fmtRate(rps)), " req/s, ", h("b", null, fmtRate(err)), " 5xx/s"),
    h("p", { class: "muted" }, `scraped every ${state.scrapeSeconds}s`),
  );
}

function backendState(b: BackendView, checked: boolean): Child[] {
  const out: Child[] = [];
  if (b.unhealthy) {
    out.push(tag("unhealthy", "bad", b.unhealthy.reason ?? "held unhealthy by the orchestrator"));
  }
  if (b.ejectedOn.length) {
    out.push(
      tag(`ejected (${b.ejectedOn.length})`, "warn", `ejected on ${b.ejectedOn.join(", ")}`),
    );
  }
  if (b.drain) out.push(tag("draining", "drain", "kept, but not picked for new requests"));
  if (!b.unhealthy && !b.ejectedOn.length && !b.drain) {
    out.push(
      b.unusableOn.length
        ? tag("unusable", "warn", `not picked on ${b.unusableOn.join(", ")}`)
        : b.seenBy > 0 || checked
        ? tag("healthy", "ok")
        : tag("unchecked", "", "no orchestrator and no proxy reports on it"),
    );
  }
  return out;
}

function backendsTable(g: GroupView, checked: boolean): HTMLElement {
  // ROUND_ROBIN ignores weights: a share would mislead
  const weighted = g.algorithm !== "ROUND_ROBIN";
  const total = weighted ? g.backends.reduce((n, b) => n + (b.drain ? 0 : b.weight), 0) : 0;
  return h(
    "table",
    { class: "backends" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", null, "Backend"),
        h("th", { class: "num" }, "Weight"),
        h("th", null, "State"),
        h("th", { class: "num" }, "In-flight"),
        h("th", { class: "num" }, "Req/s"),
        h("th", { class: "num" }, "5xx/s"),
      ),
    ),
    h(
      "tbody",
      null,
      g.backends.length === 0
        ? h("tr", null, h("td", { colspan: 6, class: "muted" }, "no backends: requests get 503"))
        : g.backends.map((b) =>
          h(
            "tr",
            { "data-backend": b.address },
            h("td", null, b.address),
            h(
              "td",
              { class: "num" },
              String(b.weight),
              total > 0 && !b.drain
                ? h("span", { class: "muted" }, ` ${Math.round(b.weight / total * 100)}%`)
                : null,
            ),
            h("td", null, backendState(b, checked)),
            h("td", { class: "num" }, fmtCount(b.inflight)),
            h("td", { class: "num" }, fmtRate(b.rps)),
            h("td", { class: "num" }, fmtRate(b.errorRps)),
          )
        ),
    ),
  );
}

function proxyVersion(p: ProxyView, g: GroupView): HTMLElement {
  if (p.configVersion === null) return tag("none", "warn");
  const current = g.version === null ? null : String(g.version);
  if (current === null || p.configVersion === current) return tag(`v${p.configVersion}`, "ok");
  return tag(`v${p.configVersion}`, "warn", `the group is at v${current}`);
}

function proxiesTable(g: GroupView, now: number): HTMLElement {
  if (g.proxies.length === 0) {
    return h("p", { class: "muted" }, "no proxies registered for this group");
  }
  return h(
    "table",
    { class: "proxies" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", null, "Proxy"),
        h("th", null, "Region"),
        h("th", null, "Config"),
        h("th", { class: "num" }, "Conns"),
        h("th", { class: "num" }, "Req/s"),
        h("th", { class: "num" }, "CPU"),
      ),
    ),
    h(
      "tbody",
      null,
      g.proxies.map((p) =>
        h(
          "tr",
          { "data-proxy": p.id },
          h(
            "td",
            { title: `${p.address ?? "?"} (admin ${p.admin ?? "?"}), ${p.runtime ?? ""}` },
            p.id,
            h("br"),
            h("span", { class: "muted" }, `${p.address ?? "?"} · ${p.runtime ?? "?"}`),
            p.scrape && !p.scrape.ok
              ? h(
                "div",
                { class: "error" },
                `scrape failed ${ago(p.scrape.at, now)}: ${p.scrape.error}`,
              )
              : null,
            p.lastRejected
              ? h(
                "div",
                { class: "error" },
                `rejected v${p.lastRejected.version}: ${p.lastRejected.reason}`,
              )
              : null,
          ),
          h("td", null, p.region ?? h("span", { class: "muted" }, "–")),
          h(
            "td",
            null,
            proxyVersion(p, g),
            p.draining ? [" ", tag("draining", "drain")] : null,
            p.panic
              ? [" ", tag("panic", "bad", "too few usable backends: spreading over all")]
              : null,
          ),
          h("td", { class: "num" }, fmtCount(p.connections)),
          h("td", { class: "num" }, fmtRate(p.rps)),
          h("td", { class: "num" }, p.cpuPercent === null ? "–" : `${Math.round(p.cpuPercent)}%`),
        )
      ),
    ),
  );
}

function chart(
  title: string,
  value: string,
  points: readonly SeriesPoint[],
  lines: (p: readonly SeriesPoint[]) => ChartLine[],
  window: { start: number; end: number },
  legend?: HTMLElement,
  minMax?: number,
): HTMLElement {
  const model = chartModel(points.map((p) => p.t), lines(points), {
    ...window,
    ...(minMax === undefined ? {} : { minMax }),
  });
  return h(
    "div",
    { class: "chart", "data-chart": title },
    h("div", { class: "title" }, h("span", null, title), h("b", null, value)),
    renderChart(model, title),
    legend ?? null,
  );
}

function chartsOf(g: GroupView, app: App, now: number): HTMLElement {
  const points = app.series.get(g.name) ?? [];
  const window = { start: now - app.viewMs, end: now };
  const errPct = g.rps && g.errorRps !== null ? ` (${(g.errorRps / g.rps * 100).toFixed(1)}%)` : "";
  return h(
    "div",
    { class: "charts" },
    chart(
      "Requests/s",
      fmtRate(g.rps),
      points,
      (p) => [{ cls: "rps", values: p.map((x) => x.rps), area: true }],
      window,
    ),
    chart(
      "Errors/s (5xx)",
      `${fmtRate(g.errorRps)}${errPct}`,
      points,
      (p) => [{ cls: "err", values: p.map((x) => x.errorRps), area: true }],
      window,
    ),
    chart(
      "Latency",
      g.latency ? `p50 ${fmtMs(g.latency.p50)} · p99 ${fmtMs(g.latency.p99)}` : "–",
      points,
      (p) => [
        { cls: "p50", values: p.map((x) => x.p50) },
        { cls: "p99", values: p.map((x) => x.p99) },
      ],
      window,
      h(
        "div",
        { class: "legend" },
        h("span", { class: "p50" }, "— p50"),
        "  ",
        h("span", { class: "p99" }, "— p99"),
        " (ms)",
      ),
    ),
  );
}

/** The notice of an invalid stored config (the reasons and the way back), or nothing. */
function invalidCard(g: GroupView): HTMLElement | null {
  const notice = invalidNotice(g.name, g.version, g.issues);
  if (!notice) return null;
  return h(
    "div",
    { class: "issues", "data-role": "invalid-config" },
    h("div", null, notice.headline),
    notice.lines.map((line) => h("div", null, line)),
    h("div", { class: "hint" }, notice.hint),
  );
}

function groupCard(g: GroupView, app: App, now: number): HTMLElement {
  const checked = (app.state?.orchestrator.workers.length ?? 0) > 0 ||
    g.backends.some((b) => b.seenBy > 0);
  const healthy =
    g.backends.filter((b) =>
      !b.unhealthy && !b.ejectedOn.length && !b.unusableOn.length && !b.drain
    ).length;
  return h(
    "section",
    { class: "group", "data-group": g.name },
    h(
      "div",
      { class: "group-head" },
      h("h2", null, g.name),
      g.algorithm ? tag(g.algorithm) : null,
      g.version === null
        ? tag("no config", "bad")
        : tag(`v${g.version}`, "", `modified ${g.modifiedAt}`),
      checked || healthy < g.backends.length
        ? tag(
          `${healthy}/${g.backends.length} usable`,
          healthy === g.backends.length ? "ok" : healthy === 0 ? "bad" : "warn",
        )
        : tag(`${g.backends.length} unchecked`, "", "no orchestrator and no proxy reports yet"),
      tag(`${g.proxies.length} ${g.proxies.length === 1 ? "proxy" : "proxies"}`),
      h("span", { class: "spacer" }),
      g.version === null ? null : h("button", {
        class: "btn",
        "data-action": "edit",
        onclick: () => app.openEditor(g.name),
      }, "Edit"),
      g.version === null ? null : h("button", {
        class: "btn",
        "data-action": "history",
        onclick: () => app.openHistory(g.name),
      }, "History"),
    ),
    invalidCard(g),
    chartsOf(g, app, now),
    h(
      "div",
      { class: "cols" },
      backendsTable(g, (app.state?.orchestrator.workers.length ?? 0) > 0),
      proxiesTable(g, now),
    ),
  );
}

/**
 * Renders the overview into `root`.
 *
 * @param root the container (its children are replaced)
 * @param app the console
 */
export function renderOverview(root: HTMLElement, app: App): void {
  const state = app.state;
  if (!state) {
    root.replaceChildren(h("p", { class: "muted" }, "Waiting for the first state…"));
    return;
  }
  const now = state.at;
  replace(
    root,
    h(
      "div",
      { class: "panels" },
      connectionPanel(state),
      orchestratorPanel(state),
      dnsPanel(state),
      fleetPanel(state),
    ),
    state.groups.length === 0
      ? h("p", { class: "muted" }, "No groups yet: create one with “New group”.")
      : state.groups.map((g) => groupCard(g, app, now)),
  );
}
