/**
 * Every page a person or an operator sees, in Debian's Chromium at a phone width (390 px) and a
 * desktop width (1280 px): nothing may be wider than the viewport (a table may scroll inside its
 * own box), the SPIFFE ID wraps only after a "/", and the screenshots go to test/artifacts/
 * (git-ignored) for people to look at.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { issueCertificate } from "../../src/core/pki/issue.ts";
import { type AdminHarness, startAdminHarness } from "../helpers/admin-harness.ts";
import { ARTIFACTS, launchChromium, type TestChromium } from "../helpers/chromium.ts";
import { testPki } from "../helpers/pki.ts";

const PASSWORD = "pages-test-admin-password";
const LONG_ID = "spiffe://test.example/agents/research-assistant-7f3c9d/tools/long-running-summariser";
const WIDTHS = [390, 1280] as const;

let h: AdminHarness;
let context: BrowserContext;
let browser: TestChromium;
let longDer: Uint8Array;

beforeAll(async () => {
  h = await startAdminHarness({ password: PASSWORD });
  longDer = (await issueCertificate((await testPki()).ca, { usage: "client", uris: [LONG_ID] })).der;
  browser = await launchChromium();
  context = browser.context;
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** Elements reaching past the right edge, outside boxes that scroll sideways on purpose. */
function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const scrolls = (element: Element) => ["auto", "scroll"].includes(getComputedStyle(element).overflowX);
    const inScroller = (element: Element) => {
      for (let up = element.parentElement; up !== null; up = up.parentElement) if (scrolls(up)) return true;
      return false;
    };
    const wide = [...document.body.querySelectorAll("*")].filter(
      (element) => element.getBoundingClientRect().right > width + 0.5 && !inScroller(element),
    );
    const page = document.documentElement.scrollWidth > width ? ["the page scrolls sideways"] : [];
    return [...page, ...wide.map((element) => `${element.tagName.toLowerCase()}.${element.className}`)];
  });
}

async function check(page: Page, name: string, width: number): Promise<void> {
  await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
  await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
  expect({ name, width, overflowing: await overflowing(page) }).toEqual({ name, width, overflowing: [] });
}

async function newGrant(): Promise<{ user_code: string; verification_uri_complete: string }> {
  const created = await h.agentAs(longDer, "/v1/grants", { provider: "stub" });
  expect(created.status).toBe(200);
  return (await created.json()) as { user_code: string; verification_uri_complete: string };
}

describe("pages at 390 px and 1280 px", () => {
  test("consent side: / → the code form, the consent page, the reload after denying, an error page", async () => {
    const page = await context.newPage();
    await page.goto(`${h.issuer}/`);
    expect(new URL(page.url()).pathname).toBe("/device");
    for (const width of WIDTHS) await check(page, "device-form", width);

    const grant = await newGrant();
    await page.goto(grant.verification_uri_complete);
    await page.getByText("Approve access?").first().waitFor();
    expect(await page.textContent(".workload")).toBe(LONG_ID);
    expect(await page.textContent(".next")).toContain("Approve takes you to stub (");
    for (const width of WIDTHS) await check(page, "consent", width);
    // At 390 px the ID wraps, and every line but the last ends just after a "/".
    await page.setViewportSize({ width: 390, height: 844 });
    const lines = await page.evaluate(() => {
      const node = document.querySelector(".workload");
      const range = document.createRange();
      const ends: string[] = [];
      let lastTop: number | undefined;
      let text = "";
      for (const child of node?.childNodes ?? []) {
        if (child.nodeType !== Node.TEXT_NODE) continue;
        for (let i = 0; i < (child.textContent ?? "").length; i += 1) {
          range.setStart(child, i);
          range.setEnd(child, i + 1);
          const top = range.getBoundingClientRect().top;
          if (lastTop !== undefined && top > lastTop + 2) {
            ends.push(text);
            text = "";
          }
          lastTop = top;
          text += child.textContent?.[i] ?? "";
        }
      }
      ends.push(text);
      return ends;
    });
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines.slice(0, -1)) expect(line).toEndWith("/");

    await page.click("button.deny");
    await page.getByText("Request denied").waitFor();
    await page.goto(grant.verification_uri_complete);
    await page.getByText("You denied this request").waitFor();
    expect(await page.locator(".details").count()).toBe(0);
    for (const width of WIDTHS) await check(page, "consent-reload-denied", width);

    await page.goto(`${h.issuer}/nothing-here`);
    await page.getByText("Page not found").waitFor();
    expect(await page.textContent(".details")).toContain("not_found");
    for (const width of WIDTHS) await check(page, "page-not-found", width);
    await page.close();
  }, 60_000);

  test("admin: sign-in, overview, grants and traffic; the bar says how the operator signed in", async () => {
    await newGrant();
    const page = await context.newPage();
    await page.goto(`${h.issuer}/admin`);
    for (const width of WIDTHS) await check(page, "admin-login", width);
    await page.fill("#password", PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForURL(`${h.issuer}/admin`);
    expect(await page.textContent(".admin-bar .who")).toContain("signed in with the admin password");
    await page.locator(".pill.ok", { hasText: "ok" }).first().waitFor({ timeout: 10_000 });
    for (const width of WIDTHS) await check(page, "admin-overview", width);
    await page.goto(`${h.issuer}/admin/grants`);
    await page.locator("tr[data-grant]").first().waitFor();
    for (const width of WIDTHS) await check(page, "admin-grants", width);
    await page.goto(`${h.issuer}/admin/traffic`);
    await page.getByText("By provider, upstream and status").waitFor();
    for (const width of WIDTHS) await check(page, "admin-traffic", width);
    await page.close();
  }, 60_000);
});
