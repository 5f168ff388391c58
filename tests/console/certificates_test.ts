/**
 * The console's certificates view in a real browser (headless Chromium) against a real ZooKeeper
 * sandbox and the admin role: each certificate with the names it covers, its expiry and the days
 * left (one expiring within 14 days marked), a node written around the API that holds no usable
 * pair marked invalid with its reason; no private key on the page.
 */
import assert from "node:assert/strict";
import { certPath } from "../../lib/store/layout.ts";
import { launchChromium } from "../support/chromium.ts";
import { startAdmin, zkSandbox } from "../support/control_plane.ts";
import { stopAll } from "../support/processes.ts";
import { selfSignedCertificate } from "../support/tls.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "the console in Chromium: the certificates list with names, expiry and days left",
  ...E2E,
  fn: async () => {
    const zk = await zkSandbox();
    const admin = await startAdmin("deno", zk.connect);
    let browser: Awaited<ReturnType<typeof launchChromium>> | null = null;
    try {
      const shop = selfSignedCertificate(
        "shop.example.com",
        "DNS:shop.example.com,DNS:*.shop.example.com",
        90,
      );
      const soon = selfSignedCertificate("api.example.com", "DNS:api.example.com", 5);
      for (const [name, c] of [["shop", shop], ["api", soon]] as const) {
        const r = await admin.api("PUT", `/api/certs/${name}`, c);
        assert.equal(r.status, 201, JSON.stringify(r.json));
      }
      await zk.store.create(
        certPath("broken"),
        new TextEncoder().encode(JSON.stringify({ cert: shop.cert, key: soon.key })),
      );

      browser = await launchChromium();
      const page = browser.context.pages()[0] ?? await browser.context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      await page.goto(admin.url);
      await page.locator('[data-role="signin"]').waitFor();
      await page.fill("#token", admin.token);
      await page.click('[data-role="signin"] button[type=submit]');
      await page.locator('[data-action="certificates"]').click();

      const drawer = page.locator("#drawer");
      const shopRow = drawer.locator('[data-certificate="shop"]');
      await shopRow.waitFor();
      assert.match(
        await shopRow.innerText(),
        /^shop\s+shop\.example\.com, \*\.shop\.example\.com\s+\d{4}-\d\d-\d\dT\S+Z\s+(89|90)$/,
      );
      const apiRow = drawer.locator('[data-certificate="api"]');
      assert.match(await apiRow.innerText(), /^api\s+api\.example\.com\s+\S+\s+[45]$/);
      assert.equal(await apiRow.locator('[data-role="days-left"] .tag.bad').count(), 1);
      assert.equal(await shopRow.locator(".tag.bad").count(), 0);
      assert.match(
        await drawer.locator('[data-certificate="broken"]').innerText(),
        /invalid\s+key: private key does not match the certificate/,
      );
      const html = await page.content();
      assert.ok(!html.includes("PRIVATE KEY"));
      assert.ok(!html.includes(shop.key.split("\n")[1]!));
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser?.close();
      await stopAll([admin.process]);
      await zk.close();
    }
  },
});
