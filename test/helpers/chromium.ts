/**
 * Debian's Chromium (/usr/bin/chromium) driven by playwright-core, for the browser tests; never
 * `playwright install`. Screenshots go to ARTIFACTS (git-ignored) for people to look at.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const ARTIFACTS = join(import.meta.dir, "..", "artifacts");

export interface TestChromium {
  context: BrowserContext;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

/** Headless, with a fresh profile; also makes sure ARTIFACTS exists. */
export async function launchChromium(): Promise<TestChromium> {
  const profile = mkdtempSync(join(tmpdir(), "surrogate-chromium-"));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  try {
    // A persistent context is how playwright takes a fresh --user-data-dir.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
      viewport: { width: 1280, height: 900 },
    });
    return {
      context,
      close: async () => {
        await context.close();
        removeProfile();
      },
    };
  } catch (error) {
    removeProfile();
    throw error;
  }
}
