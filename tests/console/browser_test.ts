/**
 * The admin console in a real browser (headless Chromium driven by
 * playwright-core) against a real ZooKeeper sandbox, the admin role and a
 * running proxy: sign in, add a backend through the form and see traffic
 * reach it through the proxy, an invalid weight shown next to its field with
 * nothing written, a concurrent save shown as a conflict, rollback from
 * history, and a screenshot of the overview (tests/artifacts/, copied to
 * docs/ for the README).
 *
 * Chromium comes from the Debian package `chromium` (/usr/bin/chromium); no
 * browser download works here. Firefox is not available on this machine.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";
import { configPath } from "../../lib/store/layout.ts";
import {
  answers,
  startAdmin,
  startZkProxy,
  type ZkProxy,
  zkSandbox,
} from "../support/control_plane.ts";
import { launchChromium as launch } from "../support/chromium.ts";
import { startBackends, stopAll, waitUntil } from "../support/processes.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };
const ARTIFACTS = path.join(REPO_ROOT, "tests", "artifacts");
const SCREENSHOT = path.join(ARTIFACTS, "console-overview.png");
/** The README's picture: refreshed from SCREENSHOT with `SWY_UPDATE_DOCS=1`. */
const DOCS_SCREENSHOT = path.join(REPO_ROOT, "docs", "console-overview.png");

Deno.test({
  name: "the console in Chromium: sign in, edit through the form, see it live, conflicts, rollback",
  ...E2E,
  fn: async (t) => {
    const zk = await zkSandbox();
    const backends = await startBackends(2);
    const [b1, b2] = backends as [typeof backends[0], typeof backends[0]];
    const admin = await startAdmin("deno", zk.connect);
    const procs: ZkProxy[] = [];
    let browser: Awaited<ReturnType<typeof launch>> | null = null;
    let traffic: Promise<void> | null = null;
    let stopTraffic = false;
    try {
      const created = await admin.api("POST", "/api/groups", {
        group: "shop",
        config: {
          backend_servers: [b1.address],
          algorithm: "ROUND_ROBIN",
          health_check_frequency_seconds: 1,
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      await admin.api("POST", "/api/groups", {
        group: "legacy",
        config: { backend_servers: ["127.0.0.1:9"] },
      });
      const proxy = await startZkProxy("deno", zk.connect, "shop");
      procs.push(proxy);
      await waitUntil(
        "the proxy to serve shop",
        async () => (await answers(proxy.url, 1))[0] === "b1",
      );

      browser = await launch();
      const page = browser.context.pages()[0] ?? await browser.context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      page.on("console", (m) => {
        // expected refusals (the wrong token's 401, the conflict's 409) are logged as failed loads
        if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
          pageErrors.push(m.text());
        }
      });
      const writes: string[] = [];
      page.on("request", (r) => {
        if (r.method() !== "GET" && r.url().includes("/api/groups")) {
          writes.push(`${r.method()} ${new URL(r.url()).pathname}`);
        }
      });
      const shop = page.locator('[data-group="shop"]');
      const drawer = page.locator("#drawer");

      await t.step("nothing is visible before signing in; a wrong token is refused", async () => {
        await page.goto(admin.url);
        await page.locator('[data-role="signin"]').waitFor();
        assert.doesNotMatch(await page.content(), /shop|legacy/);
        await page.fill("#token", "not-the-token");
        await page.click('[data-role="signin"] button[type=submit]');
        await page.locator('[data-role="signin-error"]', { hasText: "not valid" }).waitFor();
        assert.equal(await shop.count(), 0);
      });

      await t.step("signing in shows the overview, live", async () => {
        await page.fill("#token", admin.token);
        await page.click('[data-role="signin"] button[type=submit]');
        await shop.waitFor();
        await page.locator("#live", { hasText: "live" }).waitFor();
        await shop.locator(`[data-backend="${b1.address}"]`).waitFor();
        // the proxy's registration, and its /status scraped by the admin role
        await shop.locator("[data-proxy]").waitFor({ timeout: 15_000 });
        await shop.locator("[data-proxy] .tag.ok", { hasText: "v0" }).waitFor({ timeout: 15_000 });
        assert.match(
          await page.locator('[data-panel="coordination"]').innerText(),
          /ZooKeeper\s+connected/,
        );
        assert.match(await page.locator('[data-panel="dns"]').innerText(), /no DNS configured/);
      });

      await t.step(
        "invalid data written around the API is shown with its reason and the rollback",
        async () => {
          const legacy = page.locator('[data-group="legacy"]');
          await zk.store.set(
            configPath("legacy"),
            new TextEncoder().encode('{"backend_servers": [}'),
          );
          const notice = legacy.locator('[data-role="invalid-config"]');
          await notice.waitFor();
          const text = await notice.innerText();
          assert.match(text, /version 1\) is invalid/);
          assert.match(text, /invalid JSON at position 21 \(line 1, column 22\)/);
          assert.match(text, /ctl rollback legacy VERSION/);
          const back = await admin.api("POST", "/api/groups/legacy/rollback", { version: 0 });
          assert.equal(back.status, 200, JSON.stringify(back.json));
          await notice.waitFor({ state: "detached" });
        },
      );

      await t.step(
        "an invalid weight is shown next to its field and nothing is written",
        async () => {
          await shop.locator('[data-action="edit"]').click();
          await drawer.locator('[data-role="form"]').waitFor();
          await drawer.locator('[data-action="add-backend"]').click();
          const row = drawer.locator("tbody tr").last();
          await row.locator('input[data-field$=":address"]').fill(b2.address);
          await row.locator('input[data-field$=":weight"]').fill("0");
          await drawer.locator('[data-action="review"]').click();
          const error = row.locator('[data-error-for$=":weight"]');
          await error.waitFor();
          assert.match(await error.innerText(), /must be an integer from 1 to 10000 \(got 0\)/);
          assert.match(
            (await row.locator('input[data-field$=":weight"]').getAttribute("class")) ?? "",
            /invalid/,
          );
          assert.ok(await drawer.locator('[data-role="review"]').isHidden());
          fs.mkdirSync(ARTIFACTS, { recursive: true });
          await page.screenshot({ path: path.join(ARTIFACTS, "console-invalid-weight.png") });
          // another kind of mistake, on the same form: a bad health interval
          await drawer.locator('[data-field="health_check_frequency_seconds"]').fill("soon");
          await drawer.locator('[data-action="review"]').click();
          await drawer.locator('[data-error-for="health_check_frequency_seconds"]', {
            hasText: "must be a number of seconds",
          }).waitFor();
          assert.deepEqual(writes, []);
          const stored = await admin.api("GET", "/api/groups/shop");
          assert.equal(stored.json.version, 0);
          assert.deepEqual((stored.json.config as { backend_servers: unknown }).backend_servers, [
            b1.address,
          ]);
          const history = await admin.api("GET", "/api/groups/shop/history");
          assert.equal((history.json.history as unknown[]).length, 1);
        },
      );

      await t.step(
        "adding a backend through the form shows the diff, saves, and traffic reaches it",
        async () => {
          await drawer.locator('[data-field="health_check_frequency_seconds"]').fill("1");
          const row = drawer.locator("tbody tr").last();
          await row.locator('input[data-field$=":weight"]').fill("2");
          await drawer.locator('[data-action="review"]').click();
          const diff = drawer.locator('[data-role="review"] [data-role="diff"]');
          await diff.waitFor();
          const diffText = await diff.innerText();
          assert.match(
            diffText,
            new RegExp(`\\+ backend_servers\\[1\\]: .*${b2.address}.*"weight":2`),
          );
          assert.doesNotMatch(diffText, /health_check_frequency_seconds/);
          assert.deepEqual(writes, []);
          await drawer.locator('[data-action="confirm-save"]').click();
          await drawer.locator(".notice.ok", { hasText: "now at version 1" }).waitFor();
          assert.deepEqual(writes, ["PUT /api/groups/shop"]);
          const stored = await admin.api("GET", "/api/groups/shop");
          assert.deepEqual((stored.json.config as { backend_servers: unknown }).backend_servers, [
            b1.address,
            { address: b2.address, weight: 2 },
          ]);
          // the overview shows it, pushed live
          await shop.locator(`[data-backend="${b2.address}"]`).waitFor();
          // and the running proxy sends it traffic
          await waitUntil(
            "traffic to reach b2 through the proxy",
            async () => {
              return (await answers(proxy.url, 6)).includes("b2");
            },
            15_000,
            200,
          );
          await shop.locator("[data-proxy] .tag.ok", { hasText: "v1" }).waitFor({
            timeout: 15_000,
          });
        },
      );

      await t.step("a concurrent save is shown as a conflict, not overwritten", async () => {
        // the drawer holds version 1; someone else writes version 2 meanwhile
        const other = await admin.api("PATCH", "/api/groups/shop", { algorithm: "RANDOM" });
        assert.equal(other.status, 200);
        assert.equal(other.json.version, 2);
        await drawer.locator('[data-role="changed-banner"]', { hasText: "version 2" }).waitFor();
        await drawer.locator("tbody tr").first().locator('input[data-field$=":weight"]').fill("5");
        await drawer.locator('[data-action="review"]').click();
        await drawer.locator('[data-action="confirm-save"]').click();
        const conflict = drawer.locator('[data-role="conflict"]');
        await conflict.locator('[data-role="conflict-message"]').waitFor();
        const text = await conflict.innerText();
        assert.match(text, /now at version 2, you edited version 1\. Nothing was written/);
        assert.match(
          await conflict.locator('[data-role="their-diff"]').innerText(),
          /algorithm: "ROUND_ROBIN" → "RANDOM"/,
        );
        assert.match(await conflict.locator('[data-role="my-diff"]').innerText(), /weight/);
        await page.screenshot({ path: path.join(ARTIFACTS, "console-conflict.png") });
        const stored = await admin.api("GET", "/api/groups/shop");
        assert.equal(stored.json.version, 2);
        assert.equal((stored.json.config as { algorithm: string }).algorithm, "RANDOM");
        assert.deepEqual(
          (stored.json.config as { backend_servers: unknown[] }).backend_servers[0],
          b1.address,
        );
      });

      await t.step("groups are created and deleted through the console", async () => {
        await page.click('[data-action="new-group"]');
        await drawer.locator('[data-field="name"]').waitFor();
        await drawer.locator('[data-field="name"]').fill("bad name!");
        await drawer.locator('[data-action="add-backend"]').click();
        await drawer.locator('input[data-field$=":address"]').fill("127.0.0.1:9");
        await drawer.locator('[data-field="algorithm"]').selectOption("LEAST_CONNECTIONS");
        await drawer.locator('[data-action="review"]').click();
        await drawer.locator('[data-error-for="name"]', { hasText: "group name must be" })
          .waitFor();
        await drawer.locator('[data-field="name"]').fill("search");
        await drawer.locator('[data-action="review"]').click();
        assert.match(
          await drawer.locator('[data-role="review"] [data-role="diff"]').innerText(),
          /algorithm: "LEAST_CONNECTIONS"/,
        );
        await drawer.locator('[data-action="confirm-save"]').click();
        await drawer.locator(".notice.ok", { hasText: "Created search" }).waitFor();
        await page.locator('[data-group="search"]').waitFor();
        await drawer.locator('[data-action="close"]').first().click();

        const legacy = page.locator('[data-group="legacy"]');
        await legacy.locator('[data-action="edit"]').click();
        await drawer.locator('[data-action="delete"]').click();
        await drawer.locator('[data-action="confirm-delete"]').click();
        await drawer.locator(".notice.ok", { hasText: "Deleted legacy" }).waitFor();
        await legacy.waitFor({ state: "detached" });
        assert.equal((await admin.api("GET", "/api/groups/legacy")).status, 404);
        assert.equal((await admin.api("GET", "/api/groups/search")).status, 200);
        await drawer.locator('[data-action="close"]').first().click();
      });

      await t.step("history shows each version, and one click rolls back", async () => {
        await shop.locator('[data-action="history"]').click();
        const entry = drawer.locator('li[data-version="1"]');
        await entry.waitFor();
        await entry.locator('[data-action="show-diff"]').click();
        assert.match(
          await entry.locator(".diff").innerText(),
          /algorithm: "RANDOM" → "ROUND_ROBIN"/,
        );
        await entry.locator('[data-action="rollback"]').click();
        await drawer.locator(".notice.ok", { hasText: "now at version 3" }).waitFor();
        const stored = await admin.api("GET", "/api/groups/shop");
        assert.equal(stored.json.version, 3);
        assert.equal((stored.json.config as { algorithm: string }).algorithm, "ROUND_ROBIN");
        await drawer.locator('[data-action="close"]').first().click();
      });

      await t.step(
        "charts fill from the proxy's metrics; a screenshot of the overview",
        async () => {
          traffic = (async () => {
            while (!stopTraffic) {
              await Promise.all(
                [0, 1, 2].map(() =>
                  fetch(proxy.url, { signal: AbortSignal.timeout(5000) }).then((r) =>
                    r.body?.cancel()
                  )
                    .catch(() => {})
                ),
              );
              await new Promise((r) => setTimeout(r, 20));
            }
          })();
          const rps = shop.locator('[data-chart="Requests/s"] .title b');
          await waitUntil(
            "the request rate to show",
            async () => {
              const v = Number((await rps.innerText()).replace(/,/g, ""));
              return v > 0;
            },
            20_000,
            250,
          );
          // a few points on the charts, shown over the last minute
          await page.click('[data-range="1m"]');
          await page.waitForTimeout(6000);
          assert.match(
            await shop.locator('[data-chart="Latency"] .title b').innerText(),
            /p50 .*ms/,
          );
          assert.ok(
            ((await shop.locator('[data-chart="Requests/s"] path.line').getAttribute("d")) ?? "")
              .includes("L"),
          );
          assert.match(
            await shop.locator(`[data-backend="${b2.address}"]`).innerText(),
            /healthy/,
          );
          fs.mkdirSync(ARTIFACTS, { recursive: true });
          await page.screenshot({ path: SCREENSHOT, fullPage: true });
          // the README's picture is refreshed only when asked (a test run leaves the tree clean)
          if (Deno.env.get("SWY_UPDATE_DOCS") === "1") fs.copyFileSync(SCREENSHOT, DOCS_SCREENSHOT);
          assert.ok(fs.statSync(SCREENSHOT).size > 10_000);
        },
      );

      await t.step("the console is not reachable through the proxy", async () => {
        for (const route of ["/", "/console.js", "/api/overview"]) {
          const r = await fetch(`${proxy.url}${route}`, { signal: AbortSignal.timeout(5000) });
          const body = await r.text();
          // the backends answered (their name), not the console
          assert.match(body, /^b[12]\n$/, route);
        }
      });

      await t.step("signing out hides everything again", async () => {
        await page.click('[data-action="sign-out"]');
        await page.locator('[data-role="signin"]').waitFor();
        assert.equal(await shop.count(), 0);
        await page.reload();
        await page.locator('[data-role="signin"]').waitFor();
        assert.doesNotMatch(await page.content(), /data-group/);
      });

      assert.deepEqual(pageErrors, [], "the page logged errors (a CSP violation shows up here)");
    } finally {
      stopTraffic = true;
      await traffic;
      await browser?.close();
      await stopAll([...procs, admin, ...backends]);
      await zk.close();
    }
  },
});
