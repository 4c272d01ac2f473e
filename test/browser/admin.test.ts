/**
 * The admin UI and the consent page in a real headless Chromium (Debian's /usr/bin/chromium driven
 * by playwright-core; never `playwright install`): sign in to /admin, watch a grant created by an
 * agent appear without a reload, approve it through the stub IdP in another tab, watch it turn
 * approved. An agent-supplied scope carrying markup must render as text and never run: the CSP and
 * the escaping both hold. Screenshots go to test/artifacts/ (git-ignored) for people to look at.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { type AdminHarness, startAdminHarness } from "../helpers/admin-harness.ts";
import { ARTIFACTS, launchChromium, type TestChromium } from "../helpers/chromium.ts";

const PASSWORD = "browser-test-admin-password";
const SCRIPT_SCOPE = "<script>window.__pwned=1;alert(1)</script>";
const IMG_SCOPE = "<img/src=x/onerror=window.__pwned=2>";

let h: AdminHarness;
let context: BrowserContext;
let browser: TestChromium;
const dialogs: string[] = [];

beforeAll(async () => {
  h = await startAdminHarness({ password: PASSWORD });
  browser = await launchChromium();
  context = browser.context;
  context.on("page", (page) =>
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    }),
  );
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function pwned(page: Page): Promise<unknown> {
  return page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned);
}

describe("admin UI in headless Chromium", () => {
  test("login, live grant, approve through the IdP, grant turns approved; markup in scopes stays text", async () => {
    const admin = context.pages()[0] ?? (await context.newPage());
    admin.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await admin.goto(`${h.issuer}/admin`);
    expect(new URL(admin.url()).pathname).toBe("/admin/login");
    await admin.fill("#password", PASSWORD);
    await admin.click("button[type=submit]");
    await admin.waitForURL(`${h.issuer}/admin`);
    await admin.getByText("browser-test").first().waitFor();
    await admin.locator(".pill.ok", { hasText: "ok" }).waitFor({ timeout: 10_000 });
    await admin.screenshot({ path: join(ARTIFACTS, "admin-overview.png"), fullPage: true });
    await admin.setViewportSize({ width: 390, height: 844 });
    await admin.screenshot({ path: join(ARTIFACTS, "admin-overview-phone.png"), fullPage: true });
    await admin.setViewportSize({ width: 1280, height: 900 });

    await admin.goto(`${h.issuer}/admin/grants`);
    let navigations = 0;
    admin.on("framenavigated", (frame) => {
      if (frame === admin.mainFrame()) navigations += 1;
    });
    const created = await h.agent("/v1/grants", {
      provider: "stub",
      scope: ["openid", SCRIPT_SCOPE, IMG_SCOPE].join(" "),
    });
    expect(created.status).toBe(200);
    const grant = (await created.json()) as { user_code: string; verification_uri_complete: string };
    const row = admin.locator("tr[data-grant]", { hasText: grant.user_code });
    await row.waitFor({ timeout: 5_000 });
    expect(navigations).toBe(0);
    expect(await row.locator(".pill").textContent()).toBe("pending");
    expect(await row.textContent()).toContain(SCRIPT_SCOPE);

    const consent = await context.newPage();
    await consent.goto(grant.verification_uri_complete);
    await consent.getByText("Approve access?").first().waitFor();
    expect(await consent.textContent("body")).toContain(IMG_SCOPE);
    await consent.screenshot({ path: join(ARTIFACTS, "consent-approve.png"), fullPage: true });
    await consent.click("button.approve");
    await consent.getByText("You can close this tab").waitFor({ timeout: 10_000 });
    expect(new URL(consent.url()).pathname).toBe("/callback");

    await row.locator(".pill.approved", { hasText: "approved" }).waitFor({ timeout: 5_000 });
    expect(navigations).toBe(0);
    await admin.screenshot({ path: join(ARTIFACTS, "admin-grants.png"), fullPage: true });
    expect(await pwned(admin)).toBeUndefined();
    expect(await pwned(consent)).toBeUndefined();
    expect(dialogs).toEqual([]);
  });
});
