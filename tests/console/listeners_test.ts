/**
 * The console's listeners view and "Which route?" box in a real browser (headless Chromium)
 * against a real ZooKeeper sandbox and the admin role: the routes are listed read-only (name,
 * match, action), and the box answers with the route, the split's groups and which of their
 * backends may be picked now (one held unhealthy by the orchestrator's health node), then with
 * "none" for a request no route takes.
 */
import assert from "node:assert/strict";
import { HEALTH_ROOT, healthBackendPath } from "../../lib/store/layout.ts";
import { launchChromium } from "../support/chromium.ts";
import { startAdmin, zkSandbox } from "../support/control_plane.ts";
import { stopAll } from "../support/processes.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "the console in Chromium: listeners and their routes, and the Which route? box",
  ...E2E,
  fn: async () => {
    const zk = await zkSandbox();
    const admin = await startAdmin("deno", zk.connect);
    let browser: Awaited<ReturnType<typeof launchChromium>> | null = null;
    try {
      for (
        const [group, backends] of [["shop", ["10.0.0.1:80", "10.0.0.2:80"]], ["shop-v2", [
          "10.0.1.1:80",
        ]]] as const
      ) {
        const r = await admin.api("POST", "/api/groups", {
          group,
          config: { backend_servers: backends },
        });
        assert.equal(r.status, 201, JSON.stringify(r.json));
      }
      const put = await admin.api("PUT", "/api/listeners/public", {
        routes: [
          {
            name: "cart",
            match: { host: "shop.example.com", path: { prefix: "/cart" } },
            split: [{ group: "shop", weight: 95 }, { group: "shop-v2", weight: 5 }],
          },
          {
            name: "beta",
            match: { headers: [{ name: "cookie", exact: "beta=1" }] },
            forward: { group: "shop-v2" },
          },
        ],
      });
      assert.equal(put.status, 201, JSON.stringify(put.json));
      await zk.store.ensurePath(`${HEALTH_ROOT}/shop`);
      await zk.store.create(healthBackendPath("shop", "10.0.0.2:80"));

      browser = await launchChromium();
      const page = browser.context.pages()[0] ?? await browser.context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      await page.goto(admin.url);
      await page.locator('[data-role="signin"]').waitFor();
      await page.fill("#token", admin.token);
      await page.click('[data-role="signin"] button[type=submit]');
      await page.locator('[data-action="listeners"]').click();

      const drawer = page.locator("#drawer");
      const listener = drawer.locator('[data-listener="public"]');
      await listener.waitFor();
      assert.match(await listener.locator("h3").innerText(), /public\s+version 0/);
      const cart = listener.locator('[data-route="cart"]');
      assert.match(
        await cart.innerText(),
        /cart\s+host shop\.example\.com, path prefix \/cart\s+split shop 95, shop-v2 5/,
      );
      assert.match(
        await listener.locator('[data-route="beta"]').innerText(),
        /header cookie=beta=1\s+forward to shop-v2/,
      );

      const box = drawer.locator('[data-role="route-test"]');
      const answer = box.locator('[data-role="route-answer"]');
      await box.locator('[data-field="rt-url"]').fill("https://shop.example.com/cart?id=1");
      await box.locator('[data-action="route-test"]').click();
      await answer.filter({ hasText: "route: cart" }).waitFor();
      const text = await answer.innerText();
      assert.match(text, /^listener public version 0\nGET shop\.example\.com\/cart\?id=1\n/);
      assert.match(text, /action: split: shop weight 95 \(95%\), shop-v2 weight 5 \(5%\)/);
      assert.match(
        text,
        /group shop: 1 of 2 backends usable\n {2}10\.0\.0\.1:80\tusable\n {2}10\.0\.0\.2:80\tunhealthy/,
      );

      // headers take part: the beta cookie on another path takes the second route
      await box.locator('[data-field="rt-url"]').fill("https://shop.example.com/home");
      await box.locator('[data-field="rt-headers"]').fill("Cookie: beta=1");
      await box.locator('[data-action="route-test"]').click();
      await answer.filter({ hasText: "route: beta" }).waitFor();
      assert.match(await answer.innerText(), /action: forward to shop-v2/);

      await box.locator('[data-field="rt-headers"]').fill("");
      await box.locator('[data-action="route-test"]').click();
      await answer.filter({ hasText: "route: none (the proxy answers 404)" }).waitFor();
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser?.close();
      await stopAll([admin.process]);
      await zk.close();
    }
  },
});
