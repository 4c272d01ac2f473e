import { ConfigError } from "../errors.ts";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** `localhost`, `127.0.0.1` or `[::1]` (as `URL.hostname` spells them): the only hosts allowed plain http. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}

/**
 * An identity-provider or public URL: https, except loopback hosts over http for development (DESIGN §7).
 * Userinfo is refused because credentials in a URL leak into logs; a fragment is refused because
 * RFC 6749 §3.1 forbids it on endpoints. The text is returned unchanged: an OIDC issuer is compared
 * byte-for-byte with the `iss` claim (OpenID Connect Discovery §4.3), so it must not be normalised.
 */
export function checkHttpsUrl(text: string, key: string): URL {
  const url = parseAbsolute(text, key);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    throw new ConfigError(key, "must be an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])");
  }
  if (url.username !== "" || url.password !== "") {
    throw new ConfigError(key, "must not contain user information (user:password@)");
  }
  if (url.hash !== "" || text.includes("#")) throw new ConfigError(key, "must not contain a fragment (#…)");
  return url;
}

/**
 * The broker's own public URL, normalised without a trailing slash so `issuer + "/callback"` is the
 * redirect_uri registered at every IdP. A query would make that concatenation meaningless.
 */
export function parseIssuer(text: string, key: string): string {
  const url = checkHttpsUrl(text, key);
  if (url.search !== "" || text.includes("?")) throw new ConfigError(key, "must not contain a query (?…)");
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}

function parseAbsolute(text: string, key: string): URL {
  if (text.trim() !== text || !URL.canParse(text)) throw new ConfigError(key, "must be an absolute URL");
  return new URL(text);
}
