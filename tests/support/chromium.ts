/**
 * Headless Chromium for the console's browser tests (playwright-core driving the Debian package
 * `chromium`, /usr/bin/chromium; no browser download works here).
 *
 * @module
 */
import fs from "node:fs";
import { chromium } from "playwright-core";
import { tempDir } from "./processes.ts";

const CHROMIUM = "/usr/bin/chromium";

/** Launches headless Chromium with a fresh profile. */
export async function launchChromium() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install the Debian package \`chromium\` (as root)`);
  }
  const userDataDir = tempDir("chromium");
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
