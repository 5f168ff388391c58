/**
 * The console's static page and style sheet. The page is a shell: it holds
 * no data (everything comes from the API after sign-in) and loads only
 * same-origin script and style, which the Content-Security-Policy enforces.
 *
 * @module
 */

/** Security headers of every console response. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** The page. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console.css">
<script type="module" src="/console.js"></script>
</head>
<body>
<header class="top">
  <h1>Switchyard <span class="muted">console</span></h1>
  <span id="live" class="live off" title="live updates">offline</span>
  <span class="spacer"></span>
  <nav id="actions"></nav>
</header>
<main id="app">
  <p id="boot" class="muted">Loading the console&hellip; If this stays, the console script did not
  load: see the admin role's log.</p>
  <noscript>The console needs JavaScript.</noscript>
</main>
<aside id="drawer" hidden></aside>
</body>
</html>
`;

/** The style sheet. */
export const PAGE_CSS = `
:root {
  --bg: #f4f6f9; --panel: #fff; --ink: #1d2330; --muted: #6b7385; --line: #dde2ea;
  --accent: #2f6fed; --ok: #1f9d55; --warn: #c27c0e; --bad: #d63b3b; --drain: #7a5cc7;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); }
.muted { color: var(--muted); font-weight: normal; }
.top { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: #18202f;
  color: #fff; position: sticky; top: 0; z-index: 20; min-height: 48px; }
.top h1 { font-size: 18px; margin: 0; }
.top .muted { color: #9aa6bd; }
.spacer { flex: 1; }
.live { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #555; }
.live.on { background: var(--ok); }
.live.connecting { background: var(--warn); }
nav button, .btn { font: inherit; border: 1px solid var(--line); background: #fff; color: var(--ink);
  border-radius: 6px; padding: 4px 10px; cursor: pointer; }
nav button { background: #2a3447; color: #fff; border-color: #3a4660; }
nav .range button { border-radius: 0; margin-left: -1px; }
nav .range button:first-child { border-radius: 6px 0 0 6px; }
nav .range button:last-child { border-radius: 0 6px 6px 0; }
nav .range button.active { background: var(--accent); border-color: var(--accent); }
.btn.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
.btn.danger { color: var(--bad); border-color: #efb4b4; }
.btn.small { padding: 1px 7px; font-size: 12px; }
.btn:disabled { opacity: .5; cursor: default; }
main { padding: 16px 20px 40px; max-width: 1500px; margin: 0 auto; }
.signin { max-width: 420px; margin: 80px auto; background: var(--panel); padding: 24px;
  border-radius: 10px; border: 1px solid var(--line); }
.signin h2 { margin-top: 0; }
.signin input { width: 100%; }
input, select { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 5px;
  background: #fff; color: var(--ink); }
input.invalid, select.invalid { border-color: var(--bad); background: #fff6f6; }
.error { color: var(--bad); font-size: 12px; }
.field-error { color: var(--bad); font-size: 12px; display: block; }
.field-error:empty { display: none; }
.panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px;
  margin-bottom: 14px; }
.panel, .group { background: var(--panel); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 14px; }
.panel h3, .group h2 { margin: 0 0 6px; font-size: 15px; }
.group { margin-bottom: 14px; }
.group-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.group-head h2 { margin: 0; }
.tag { font-size: 12px; padding: 1px 7px; border-radius: 9px; background: #eef1f6; color: #384256; }
.tag.ok { background: #e3f5ea; color: var(--ok); }
.tag.bad { background: #fbe6e6; color: var(--bad); }
.tag.warn { background: #fbf0dc; color: var(--warn); }
.tag.drain { background: #eee8fa; color: var(--drain); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 10px;
  margin: 10px 0; }
.chart { border: 1px solid var(--line); border-radius: 8px; padding: 6px 8px 2px; }
.chart .title { font-size: 12px; color: var(--muted); display: flex; justify-content: space-between; }
.chart .title b { color: var(--ink); }
.chart svg { width: 100%; height: auto; display: block; }
.chart .grid { stroke: #edf0f4; }
.chart .axis { fill: var(--muted); font-size: 9px; }
.line-rps { stroke: var(--accent); } .area-rps { fill: var(--accent); fill-opacity: .12; }
.line-err { stroke: var(--bad); } .area-err { fill: var(--bad); fill-opacity: .12; }
.line-p50 { stroke: var(--ok); } .line-p99 { stroke: var(--warn); }
.chart path.line { fill: none; stroke-width: 1.6; stroke-linejoin: round; }
.legend { font-size: 11px; color: var(--muted); }
.legend .p50 { color: var(--ok); } .legend .p99 { color: var(--warn); }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef1f5; vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.cols { display: grid; grid-template-columns: 3fr 2fr; gap: 14px; }
@media (max-width: 1000px) { .cols { grid-template-columns: 1fr; } }
.issues { background: #fff6f6; border: 1px solid #f3caca; border-radius: 6px; padding: 6px 10px;
  color: var(--bad); font-size: 13px; }
#drawer { position: fixed; top: 0; right: 0; bottom: 0; width: min(760px, 100vw); background: #fff;
  border-left: 1px solid var(--line); box-shadow: -8px 0 24px rgba(0,0,0,.12); overflow: auto;
  padding: 64px 20px 40px; z-index: 10; }
#drawer h2 { margin-top: 0; }
.drawer-head { display: flex; align-items: center; gap: 10px; }
.drawer-head h2 { margin: 0; flex: 1; }
.route-answer { white-space: pre-wrap; background: #f6f8fa; padding: 8px; min-height: 1em; }
.listener h3 { margin-bottom: 4px; }
.form-grid { display: grid; grid-template-columns: 220px 1fr; gap: 8px 12px; align-items: start;
  margin: 12px 0; }
.form-grid label { padding-top: 5px; color: #384256; }
.backends-edit td input[type=text] { width: 100%; }
.backends-edit tr.removed td { text-decoration: line-through; opacity: .5; }
.diff { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px;
  background: #f8f9fb; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px;
  white-space: pre-wrap; word-break: break-all; }
.diff .add { color: var(--ok); } .diff .remove { color: var(--bad); } .diff .change { color: #8a5a00; }
.notice { border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
.notice.ok { background: #e3f5ea; color: #14683a; }
.notice.bad { background: #fbe6e6; color: #8c1f1f; }
.notice.warn { background: #fbf0dc; color: #7a4d00; }
.row-actions { display: flex; gap: 8px; margin-top: 12px; }
.history li { margin-bottom: 8px; }
.history ul { padding-left: 18px; }
`;
