/// <reference lib="dom" />
/**
 * The admin console in a real Firefox (Debian's `firefox-esr`, headless,
 * driven by puppeteer-core over WebDriver BiDi, which Firefox speaks natively)
 * against a real ZooKeeper sandbox, the admin role and a running proxy: sign
 * in, the live overview renders the group and updates without a reload (a
 * backend added through the API appears), an invalid weight is shown next to
 * its field and nothing is written, a backend added through the form gets
 * traffic through the proxy, and a screenshot of the overview
 * (tests/artifacts/console-overview-firefox.png).
 *
 * Firefox runs on a fresh profile whose preferences turn off updates,
 * telemetry, captive-portal and connectivity checks, remote settings, safe
 * browsing and the other background services, and send anything that is not
 * loopback to a local sink (loopback never goes through a proxy in Firefox):
 * the test fails if Firefox tried to reach anything outside this machine.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";
import { answers, startAdmin, startZkProxy, zkSandbox } from "../support/control_plane.ts";
import {
  type RoleProcess,
  startBackends,
  stopAll,
  tempDir,
  waitUntil,
} from "../support/processes.ts";

const FIREFOX = "/usr/bin/firefox-esr";
const E2E = { sanitizeOps: false, sanitizeResources: false };
const ARTIFACTS = path.join(REPO_ROOT, "tests", "artifacts");
const SCREENSHOT = path.join(ARTIFACTS, "console-overview-firefox.png");
/** A name that never resolves: the test's own probe of the outside-traffic sink. */
const PROBE_HOST = "switchyard-outside.invalid";

/**
 * A local stand-in for every outside address: Firefox's HTTP(S) proxy. It
 * answers 403 and records the request line (`CONNECT host:443 …` or
 * `GET http://host/… …`), so nothing leaves the machine and any attempt is seen.
 */
async function outsideSink(): Promise<{ port: number; seen: string[]; close: () => void }> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let head = "";
    socket.on("data", (chunk) => {
      if (head.includes("\n")) return;
      head += chunk.toString("latin1");
      if (!head.includes("\n")) return;
      seen.push(head.split(/\r?\n/)[0]!);
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    seen,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/**
 * Preferences (on top of puppeteer's defaults for Firefox, which already turn
 * off safe browsing, Normandy, update checks and health reports): no
 * connection to anything but loopback.
 */
function quietPrefs(sinkPort: number): Record<string, unknown> {
  return {
    // everything that is not loopback goes to the sink (loopback bypasses proxies)
    "network.proxy.type": 1,
    "network.proxy.http": "127.0.0.1",
    "network.proxy.http_port": sinkPort,
    "network.proxy.ssl": "127.0.0.1",
    "network.proxy.ssl_port": sinkPort,
    "network.proxy.share_proxy_settings": true,
    "network.proxy.no_proxies_on": "",
    "network.proxy.allow_hijacking_localhost": false,
    "network.trr.mode": 5, // no DNS over HTTPS
    "network.dns.disablePrefetch": true,
    "network.prefetch-next": false,
    "network.predictor.enabled": false,
    "browser.urlbar.speculativeConnect.enabled": false,
    "browser.places.speculativeConnect.enabled": false,
    // updates
    "app.update.auto": false,
    "app.update.background.enabled": false,
    "app.update.service.enabled": false,
    "app.update.staging.enabled": false,
    "extensions.update.enabled": false,
    "extensions.systemAddon.update.enabled": false,
    "extensions.systemAddon.update.url": "",
    "extensions.getAddons.cache.enabled": false,
    "extensions.blocklist.enabled": false,
    "media.gmp-manager.updateEnabled": false,
    "media.gmp-manager.url": "",
    "media.gmp-gmpopenh264.enabled": false,
    "media.gmp-widevinecdm.enabled": false,
    "browser.search.update": false,
    // telemetry and studies
    "toolkit.telemetry.enabled": false,
    "toolkit.telemetry.unified": false,
    "toolkit.telemetry.archive.enabled": false,
    "toolkit.telemetry.server": "",
    "toolkit.telemetry.newProfilePing.enabled": false,
    "toolkit.telemetry.shutdownPingSender.enabled": false,
    "toolkit.telemetry.firstShutdownPing.enabled": false,
    "toolkit.telemetry.updatePing.enabled": false,
    "toolkit.telemetry.bhrPing.enabled": false,
    "toolkit.telemetry.reportingpolicy.firstRun": false,
    "datareporting.healthreport.uploadEnabled": false,
    "datareporting.policy.dataSubmissionEnabled": false,
    "datareporting.usage.uploadEnabled": false,
    "browser.ping-centre.telemetry": false,
    "browser.newtabpage.activity-stream.telemetry": false,
    "browser.newtabpage.activity-stream.feeds.telemetry": false,
    "browser.crashReports.unsubmittedCheck.enabled": false,
    "browser.tabs.crashReporting.sendReport": false,
    "breakpad.reportURL": "",
    "app.normandy.enabled": false,
    "app.normandy.api_url": "",
    "app.shield.optoutstudies.enabled": false,
    "messaging-system.rsexperimentloader.enabled": false,
    // captive portal and connectivity checks
    "network.captive-portal-service.enabled": false,
    "network.connectivity-service.enabled": false,
    "captivedetect.canonicalURL": "",
    // remote settings (blocklists, CRLite, intermediates, translations models …)
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    "security.remote_settings.crlite_filters.enabled": false,
    "security.remote_settings.intermediates.enabled": false,
    "browser.translations.enable": false,
    "browser.region.network.url": "",
    "browser.region.update.enabled": false,
    // safe browsing
    "browser.safebrowsing.malware.enabled": false,
    "browser.safebrowsing.phishing.enabled": false,
    "browser.safebrowsing.blockedURIs.enabled": false,
    "browser.safebrowsing.downloads.enabled": false,
    "browser.safebrowsing.downloads.remote.enabled": false,
    "browser.safebrowsing.passwords.enabled": false,
    "browser.safebrowsing.provider.google.updateURL": "",
    "browser.safebrowsing.provider.google.gethashURL": "",
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.google4.gethashURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.safebrowsing.provider.mozilla.gethashURL": "",
    // everything else that phones out
    "dom.push.enabled": false,
    "dom.push.connection.enabled": false,
    "identity.fxaccounts.enabled": false,
    "browser.newtabpage.enabled": false,
    "browser.newtabpage.activity-stream.feeds.topsites": false,
    "browser.newtabpage.activity-stream.feeds.section.topstories": false,
    "browser.topsites.contile.enabled": false,
    "browser.discovery.enabled": false,
    "security.OCSP.enabled": 0,
    "geo.enabled": false,
  };
}

/** Launches headless Firefox ESR on a fresh profile, through puppeteer-core over WebDriver BiDi. */
async function launch(sinkPort: number) {
  if (!fs.existsSync(FIREFOX)) {
    throw new Error(`${FIREFOX} is missing: install the Debian package \`firefox-esr\` (as root)`);
  }
  const profile = tempDir("firefox");
  const browser: Browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    protocol: "webDriverBiDi",
    headless: true,
    userDataDir: profile,
    extraPrefsFirefox: quietPrefs(sinkPort),
    // The window's size is set at launch, not emulated: puppeteer's viewport emulation sends
    // BiDi commands (emulation.setScreenOrientationOverride) that Firefox ESR 140 lacks, and a
    // test must not depend on what only some browser versions implement.
    defaultViewport: null,
    args: ["--width=1440", "--height=1000"],
    env: {
      ...Deno.env.toObject(),
      MOZ_CRASHREPORTER_DISABLE: "1",
      // Firefox's own switch for test runs: sockets to non-local addresses are refused, and
      // release builds honour `services.settings.server` (otherwise ignored: Remote Settings
      // would still poll Mozilla's server)
      MOZ_DISABLE_NONLOCAL_CONNECTIONS: "1",
    },
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The page is driven only through WebDriver BiDi's own commands: `script.callFunction`
 * (page.evaluate), `input.performActions` (keyboard, mouse) and screenshots. Puppeteer's
 * higher-level helpers (locators, waitForSelector, waitForFunction, $eval) run an injected
 * script that builds functions with `new Function()`, which the console's CSP (no
 * 'unsafe-eval') blocks in Firefox ESR 140 and not in later versions; a test must not depend
 * on which ESR the machine has, so these helpers poll with plain evaluate calls instead.
 */
async function poll<A extends unknown[]>(
  page: Page,
  what: string,
  fn: (...args: A) => boolean,
  args: A,
  timeout = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    // deno-lint-ignore no-explicit-any
    if (await page.evaluate(fn as any, ...args)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until an element matches `selector` (or, with `hidden`, until none is shown). */
async function waitForSelector(
  page: Page,
  selector: string,
  options: { hidden?: boolean; timeout?: number } = {},
): Promise<void> {
  await poll(
    page,
    `${selector} to be ${options.hidden ? "hidden" : "present"}`,
    (sel: string, hidden: boolean) => {
      const el = document.querySelector<HTMLElement>(sel);
      const shown = el !== null && !el.hidden && el.getClientRects().length > 0;
      return hidden ? !shown : el !== null;
    },
    [selector, options.hidden === true],
    options.timeout,
  );
}

/** Runs `fn` in the page on the first element matching `selector` and returns its result. */
async function evalOn<T, A extends unknown[]>(
  page: Page,
  selector: string,
  fn: (el: HTMLElement, ...args: A) => T,
  ...args: A
): Promise<T> {
  const handle = await page.evaluateHandle(
    (sel: string) => document.querySelector<HTMLElement>(sel),
    selector,
  );
  try {
    if (await page.evaluate((el: HTMLElement | null) => el === null, handle)) {
      throw new Error(`no element matches ${selector}`);
    }
    // deno-lint-ignore no-explicit-any
    return await page.evaluate(fn as any, handle, ...args) as T;
  } finally {
    await handle.dispose();
  }
}

/** Clicks the middle of the first element matching `selector` with the mouse. */
async function click(page: Page, selector: string): Promise<void> {
  await waitForSelector(page, selector);
  const [x, y] = await evalOn(page, selector, (el) => {
    el.scrollIntoView({ block: "center" });
    const r = el.getBoundingClientRect();
    return [r.left + r.width / 2, r.top + r.height / 2];
  });
  await page.mouse.click(x!, y!);
}

/** Replaces the value of the text field matching `selector` by typing `value` into it. */
async function fill(page: Page, selector: string, value: string): Promise<void> {
  await waitForSelector(page, selector);
  await evalOn(page, selector, (el) => {
    (el as HTMLInputElement).focus();
    (el as HTMLInputElement).select();
  });
  await page.keyboard.press("Backspace");
  await page.keyboard.type(value);
  const now = await evalOn(page, selector, (el) => (el as HTMLInputElement).value);
  assert.equal(now, value, `typed into ${selector}`);
}

/** Waits until the first element matching `selector` exists and its text matches `pattern`. */
async function waitText(
  page: Page,
  selector: string,
  pattern: RegExp,
  timeout = 10_000,
): Promise<string> {
  try {
    await poll(
      page,
      `${selector} to match ${pattern}`,
      (sel: string, src: string, flags: string) => {
        const el = document.querySelector(sel) as HTMLElement | null;
        return el !== null && new RegExp(src, flags).test(el.innerText);
      },
      [selector, pattern.source, pattern.flags],
      timeout,
    );
  } catch (e) {
    const now = await text(page, selector).catch(() => "(absent)");
    throw new Error(`${selector} never matched ${pattern}: it shows ${JSON.stringify(now)}`, {
      cause: e,
    });
  }
  return await text(page, selector);
}

/**
 * The rendered text of the first element matching `selector`, looked up and
 * read in one page-side call: the overview is rebuilt on every push, so a
 * handle taken first may be detached by the time it is read, and a detached
 * element's innerText is its bare textContent (no line breaks).
 */
async function text(page: Page, selector: string): Promise<string> {
  const found = await page.evaluate((sel: string) => {
    const el = document.querySelector<HTMLElement>(sel);
    return el === null ? null : el.innerText;
  }, selector);
  if (found === null) throw new Error(`no element matches ${selector}`);
  return found;
}

Deno.test({
  name: "the console in Firefox: sign in, live overview, form validation, add a backend",
  ...E2E,
  fn: async (t) => {
    const zk = await zkSandbox();
    const sink = await outsideSink();
    const procs: (RoleProcess | { process: RoleProcess })[] = [];
    let firefox: Awaited<ReturnType<typeof launch>> | null = null;
    try {
      const backends = await startBackends(3);
      procs.push(...backends);
      const admin = await startAdmin("deno", zk.connect);
      procs.push(admin);
      const [b1, b2, b3] = backends as [typeof backends[0], typeof backends[0], typeof backends[0]];
      const created = await admin.api("POST", "/api/groups", {
        group: "shop",
        config: {
          backend_servers: [b1.address],
          algorithm: "ROUND_ROBIN",
          health_check_frequency_seconds: 1,
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const proxy = await startZkProxy("deno", zk.connect, "shop");
      procs.push(proxy);
      firefox = await launch(sink.port);
      await waitUntil(
        "the proxy to serve shop",
        async () => (await answers(proxy.url, 1))[0] === "b1",
      );

      const page = (await firefox.browser.pages())[0] ?? await firefox.browser.newPage();
      // the window's outer size is what launch sets; the page gets its width and the height
      // less the (headless, but still laid out) toolbars
      const [width, height] = await page.evaluate(() => [
        globalThis.innerWidth,
        globalThis.innerHeight,
      ]);
      assert.equal(width, 1440, "the page is as wide as the window given at launch");
      assert.ok(height !== undefined && height >= 800 && height <= 1000, `page height ${height}`);
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      page.on("console", (m) => {
        if (m.type() === "error") pageErrors.push(m.text());
      });
      const writes: string[] = [];
      page.on("request", (r) => {
        if (r.method() !== "GET" && r.url().includes("/api/groups")) {
          writes.push(`${r.method()} ${new URL(r.url()).pathname}`);
        }
      });
      const shop = '[data-group="shop"]';

      await t.step("an outside address lands on the local sink, not the network", async () => {
        // an outside address lands on the sink (so the check at the end means something)
        await page.goto(`http://${PROBE_HOST}/probe`, { waitUntil: "load" })
          .catch(() => {});
        assert.ok(
          sink.seen.includes(`GET http://${PROBE_HOST}/probe HTTP/1.1`),
          JSON.stringify(sink.seen),
        );
      });

      await t.step("signing in (a wrong token is refused) shows the live overview", async () => {
        await page.goto(admin.url, { waitUntil: "load" });
        await waitForSelector(page, '[data-role="signin"] #token');
        assert.doesNotMatch(await page.content(), /data-group|shop/);
        await fill(page, "#token", "not-the-token");
        await click(page, '[data-role="signin"] button[type=submit]');
        await waitText(page, '[data-role="signin-error"]', /not valid/);
        assert.equal(await page.evaluate((sel: string) => document.querySelector(sel), shop), null);

        await fill(page, "#token", admin.token);
        await click(page, '[data-role="signin"] button[type=submit]');
        await waitForSelector(page, shop);
        await waitText(page, "#live", /^live$/);
        await waitForSelector(page, `${shop} [data-backend="${b1.address}"]`);
        assert.match(await text(page, `${shop} .group-head`), /ROUND_ROBIN/);
        // the proxy's registration and its /status, scraped by the admin role
        await waitText(page, `${shop} [data-proxy] .tag.ok`, /^v0$/, 15_000);
        assert.match(await text(page, '[data-panel="coordination"]'), /ZooKeeper\s+connected/);
      });

      await t.step("the overview updates without a reload", async () => {
        // a mark on this document: a reload would drop it
        await page.evaluate(() => {
          (globalThis as unknown as { swyNoReload: boolean }).swyNoReload = true;
        });
        const added = await admin.api("POST", "/api/groups/shop/backends", {
          address: b2.address,
        });
        assert.equal(added.status, 201, JSON.stringify(added.json));
        assert.equal(added.json.version, 1);
        await waitForSelector(page, `${shop} [data-backend="${b2.address}"]`, { timeout: 10_000 });
        await waitText(page, `${shop} [data-proxy] .tag.ok`, /^v1$/, 15_000);
        assert.equal(
          await page.evaluate(() =>
            (globalThis as unknown as { swyNoReload?: boolean }).swyNoReload
          ),
          true,
        );
      });

      let rowKey = "";
      const field = (part: string) => `#drawer tr[data-row="${rowKey}"] [data-field$=":${part}"]`;
      const errorFor = (part: string) =>
        `#drawer tr[data-row="${rowKey}"] [data-error-for$=":${part}"]`;

      await t.step(
        "an invalid weight is shown next to its field and nothing is written",
        async () => {
          await click(page, `${shop} [data-action="edit"]`);
          await waitForSelector(page, '#drawer [data-role="form"]');
          const rowsBefore = await page.evaluate(() =>
            document.querySelectorAll("#drawer tbody tr").length
          );
          await click(page, '#drawer [data-action="add-backend"]');
          await poll(
            page,
            "a new backend row",
            (n: number) => document.querySelectorAll("#drawer tbody tr").length === n + 1,
            [rowsBefore],
          );
          rowKey = await evalOn(
            page,
            "#drawer tbody tr:last-child",
            (tr) => tr.getAttribute("data-row") ?? "",
          );
          assert.notEqual(rowKey, "");
          await fill(page, field("address"), b3.address);
          await fill(page, field("weight"), "0");
          await click(page, '#drawer [data-action="review"]');
          const message = await waitText(page, errorFor("weight"), /\S/);
          assert.match(message, /must be an integer from 1 to 10000 \(got 0\)/);
          // next to its field: the same table cell, shown just below the input
          assert.ok(
            await evalOn(page, field("weight"), (input) => {
              const error = input.parentElement?.querySelector(".field-error") as
                | HTMLElement
                | null;
              if (
                !error || error.hidden || getComputedStyle(error).display === "none"
              ) return false;
              const a = input.getBoundingClientRect();
              const b = error.getBoundingClientRect();
              return b.height > 0 && b.top >= a.bottom - 1 && Math.abs(b.left - a.left) < 40;
            }),
            "the error is shown right by the weight field",
          );
          assert.match(await evalOn(page, field("weight"), (el) => el.className), /invalid/);
          assert.equal(await evalOn(page, errorFor("address"), (el) => el.textContent), "");
          assert.ok(
            await evalOn(page, '#drawer [data-role="review"]', (el) => (el as HTMLElement).hidden),
          );
          fs.mkdirSync(ARTIFACTS, { recursive: true });
          await page.screenshot({
            path: path.join(ARTIFACTS, "console-invalid-weight-firefox.png"),
          });
          assert.deepEqual(writes, []);
          const stored = await admin.api("GET", "/api/groups/shop");
          assert.equal(stored.json.version, 1);
          assert.deepEqual(
            (stored.json.config as { backend_servers: unknown }).backend_servers,
            [b1.address, b2.address],
          );
          const history = await admin.api("GET", "/api/groups/shop/history");
          assert.equal((history.json.history as unknown[]).length, 2);
        },
      );

      await t.step("a backend added through the form gets traffic through the proxy", async () => {
        await fill(page, field("weight"), "2");
        await click(page, '#drawer [data-action="review"]');
        const diff = await waitText(page, '#drawer [data-role="review"] [data-role="diff"]', /\S/);
        assert.match(diff, new RegExp(`\\+ backend_servers\\[2\\]: .*${b3.address}.*"weight":2`));
        assert.deepEqual(writes, []);
        await click(page, '#drawer [data-action="confirm-save"]');
        await waitText(page, "#drawer .notice.ok", /now at version 2/);
        assert.deepEqual(writes, ["PUT /api/groups/shop"]);
        const stored = await admin.api("GET", "/api/groups/shop");
        assert.deepEqual((stored.json.config as { backend_servers: unknown }).backend_servers, [
          b1.address,
          b2.address,
          { address: b3.address, weight: 2 },
        ]);
        // pushed live to the overview, and the running proxy sends it traffic
        await waitForSelector(page, `${shop} [data-backend="${b3.address}"]`, { timeout: 10_000 });
        await waitUntil(
          "traffic to reach b3 through the proxy",
          async () => (await answers(proxy.url, 8)).includes("b3"),
          15_000,
          200,
        );
        await waitText(page, `${shop} [data-proxy] .tag.ok`, /^v2$/, 15_000);
        await click(page, '#drawer [data-action="close"]');
        await waitForSelector(page, "#drawer", { hidden: true });
      });

      await t.step("a screenshot of the overview", async () => {
        await waitText(page, `${shop} [data-backend="${b3.address}"]`, /healthy/, 15_000);
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
        const png = fs.readFileSync(SCREENSHOT);
        assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
        assert.ok(png.length > 10_000, `the screenshot is only ${png.length} bytes`);
      });

      assert.deepEqual(pageErrors, [], "the page logged errors (a CSP violation shows up here)");
      assert.deepEqual(
        sink.seen.filter((line) => !line.includes(PROBE_HOST)), // the probe and its favicon
        [],
        "Firefox tried to reach something outside this machine",
      );
    } finally {
      await firefox?.close();
      sink.close();
      await stopAll(procs.reverse());
      await zk.close();
    }
  },
});
