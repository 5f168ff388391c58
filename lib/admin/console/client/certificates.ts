/// <reference lib="dom" />
/**
 * TLS certificates in the drawer, read-only: each certificate's name, the names it covers, its
 * expiry and the days left (under 14 marked), from `GET /api/certs`, which never carries a key.
 * Certificates are written with `ctl cert put` or the API.
 *
 * @module
 */
import { errorText } from "./api.ts";
import type { App } from "./app.ts";
import { h, replace } from "./dom.ts";

/** Days left under which a certificate is marked (the expiry alert's threshold). */
const SOON_DAYS = 14;

/** A certificate as `GET /api/certs` lists it. */
interface CertificateSummary {
  readonly name: string;
  readonly version: number;
  readonly valid: boolean;
  readonly names?: readonly string[];
  readonly not_after?: string;
  readonly days_left?: number;
  readonly invalid?: { readonly field: string; readonly reason: string };
}

function row(c: CertificateSummary): HTMLElement {
  if (!c.valid) {
    const why = c.invalid
      ? `${c.invalid.field ? `${c.invalid.field}: ` : ""}${c.invalid.reason}`
      : "";
    return h(
      "tr",
      { "data-certificate": c.name },
      h("td", null, c.name),
      h("td", { colspan: 3 }, h("span", { class: "tag bad" }, "invalid"), " ", why),
    );
  }
  const days = c.days_left ?? 0;
  return h(
    "tr",
    { "data-certificate": c.name },
    h("td", null, c.name),
    h("td", null, (c.names ?? []).join(", ")),
    h("td", null, c.not_after ?? ""),
    h(
      "td",
      { "data-role": "days-left" },
      days < SOON_DAYS
        ? h("span", { class: "tag bad" }, days < 0 ? `expired ${-days} days ago` : `${days}`)
        : String(days),
    ),
  );
}

/**
 * Opens the certificates view in the drawer.
 *
 * @param drawer the drawer element
 * @param app the console
 */
export async function openCertificates(drawer: HTMLElement, app: App): Promise<void> {
  drawer.hidden = false;
  app.onState = null;
  replace(drawer, h("p", { class: "muted" }, "Loading the certificates…"));
  const head = h(
    "div",
    { class: "drawer-head" },
    h("h2", null, "Certificates"),
    h(
      "button",
      { class: "btn", "data-action": "close", onclick: () => app.closeDrawer() },
      "Close",
    ),
  );
  const list = await app.api.call("GET", "/api/certs");
  if (list.status !== 200) {
    replace(
      drawer,
      head,
      h("div", { class: "notice bad" }, `Cannot read the certificates: ${errorText(list)}`),
    );
    return;
  }
  const certs = (list.json.certs ?? []) as CertificateSummary[];
  replace(
    drawer,
    head,
    certs.length === 0
      ? h(
        "p",
        { class: "muted", "data-role": "no-certificates" },
        "No certificates yet: `ctl cert put NAME --cert FILE --key FILE`.",
      )
      : h(
        "table",
        { class: "certificates" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", null, "Name"),
            h("th", null, "Covers"),
            h("th", null, "Expires"),
            h("th", null, "Days left"),
          ),
        ),
        h("tbody", null, certs.map(row)),
      ),
  );
}
