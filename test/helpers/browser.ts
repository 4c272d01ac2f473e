/**
 * A tiny browser for flow tests: real `fetch` over real sockets, a cookie jar that applies the
 * rules our cookies rely on (host-only, `__Host-` needs Secure + Path=/ + https, `Secure` only over
 * https, Max-Age expiry, SameSite on cross-site requests), manual redirects, and `Sec-Fetch-Site`
 * computed over the redirect chain as browsers do. It records every page it saw, so tests can scan
 * all HTML for leaked secrets.
 */

export interface Page {
  url: URL;
  status: number;
  headers: Headers;
  body: string;
}

interface StoredCookie {
  value: string;
  secure: boolean;
  sameSite: "strict" | "lax" | "none";
  /** Epoch ms, or undefined for a session cookie. */
  expires?: number;
}

const MAX_REDIRECTS = 10;

export class Browser {
  readonly pages: Page[] = [];
  readonly #jar = new Map<string, Map<string, StoredCookie>>();
  #current?: URL | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** Typing a URL into the address bar. */
  open(url: string | URL): Promise<Page> {
    this.#current = undefined;
    return this.#navigate(new URL(url), { method: "GET" });
  }

  /** Submitting a form of the current page. */
  submit(action: string, fields: Record<string, string>): Promise<Page> {
    const base = this.#current;
    if (base === undefined) throw new Error("browser: no page to submit from");
    const body = new URLSearchParams(fields).toString();
    return this.#navigate(new URL(action, base), { method: "POST", body });
  }

  /** The values of the hidden inputs of a page's forms, by name. */
  static hiddenFields(page: Page): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const match of page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
      if (match[1] !== undefined && match[2] !== undefined) fields[match[1]] = match[2];
    }
    return fields;
  }

  cookie(host: string, name: string): string | undefined {
    return this.#jar.get(host)?.get(name)?.value;
  }

  async #navigate(start: URL, init: { method: string; body?: string }): Promise<Page> {
    let url = start;
    let request = init;
    let crossSite = this.#current !== undefined && !sameSite(this.#current, url);
    const initiator = this.#current;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      crossSite ||= initiator !== undefined && !sameSite(initiator, url);
      const site = initiator === undefined ? "none" : crossSite ? "cross-site" : "same-origin";
      const response = await this.#send(url, request, site);
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location !== null) {
        url = new URL(location, url);
        request = { method: "GET" };
        continue;
      }
      const page = { url, status: response.status, headers: response.headers, body: await response.text() };
      this.pages.push(page);
      this.#current = url;
      return page;
    }
    throw new Error("browser: too many redirects");
  }

  async #send(url: URL, init: { method: string; body?: string }, site: string): Promise<Response> {
    const headers = new Headers({ "sec-fetch-site": site, "sec-fetch-mode": "navigate" });
    if (init.body !== undefined) headers.set("content-type", "application/x-www-form-urlencoded");
    const cookie = this.#cookieHeader(url, site === "cross-site", init.method);
    if (cookie !== "") headers.set("cookie", cookie);
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) this.#store(url, line);
    return response;
  }

  #cookieHeader(url: URL, crossSite: boolean, method: string): string {
    const cookies = this.#jar.get(url.host) ?? new Map<string, StoredCookie>();
    const sent: string[] = [];
    for (const [name, cookie] of cookies) {
      if (cookie.expires !== undefined && cookie.expires <= this.now()) continue;
      if (cookie.secure && url.protocol !== "https:") continue;
      // RFC 6265bis §5.8.3: Strict never crosses sites; Lax only on top-level GET navigations.
      if (crossSite && (cookie.sameSite === "strict" || (cookie.sameSite === "lax" && method !== "GET")))
        continue;
      sent.push(`${name}=${cookie.value}`);
    }
    return sent.join("; ");
  }

  #store(url: URL, line: string): void {
    const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq);
    const attrs = new Map(
      attributes.map((a) => [a.split("=")[0]?.toLowerCase() ?? "", a.split("=")[1] ?? ""]),
    );
    const secure = attrs.has("secure");
    if (secure && url.protocol !== "https:") return;
    // RFC 6265bis §4.1.3.2: the __Host- prefix is honoured only when the cookie is locked to the host.
    if (name.startsWith("__Host-") && (!secure || attrs.get("path") !== "/" || attrs.has("domain"))) return;
    const sameSiteValue = attrs.get("samesite")?.toLowerCase();
    const cookie: StoredCookie = {
      value: pair.slice(eq + 1),
      secure,
      sameSite: sameSiteValue === "strict" || sameSiteValue === "none" ? sameSiteValue : "lax",
    };
    const maxAge = attrs.get("max-age");
    if (maxAge !== undefined) cookie.expires = this.now() + Number(maxAge) * 1000;
    const jar = this.#jar.get(url.host) ?? new Map<string, StoredCookie>();
    if (cookie.expires !== undefined && cookie.expires <= this.now()) jar.delete(name);
    else jar.set(name, cookie);
    this.#jar.set(url.host, jar);
  }
}

/**
 * The person's part of a device grant: opens the verification URL and approves on the consent
 * page (the stub IdP then signs them in without a form). Both pages are returned for the caller's
 * assertions.
 */
export async function approveConsent(
  browser: Browser,
  verificationUri: string,
): Promise<{ consent: Page; done: Page }> {
  const consent = await browser.open(verificationUri);
  const done = await browser.submit("/device/approve", Browser.hiddenFields(consent));
  return { consent, done };
}

/**
 * Origins stand in for sites: stricter than browsers (which ignore the port, so two loopback servers
 * would be "same-site"), so a flow that works here also works when the IdP really is another site.
 */
function sameSite(a: URL, b: URL): boolean {
  return a.origin === b.origin;
}
