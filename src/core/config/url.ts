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

/**
 * `[agent] public_url`: the agent port's origin as agents reach it, the `issuer` of its RFC 8414
 * metadata. Always https (the agent port only speaks mTLS, loopback included), and an origin alone:
 * the agent API's paths are fixed at the root, and RFC 8414 §2 forbids a query or fragment.
 */
export function parseAgentPublicUrl(text: string, key: string): string {
  const url = parseAbsolute(text, key);
  if (url.protocol !== "https:")
    throw new ConfigError(key, "must be an https:// URL (the agent port is mTLS)");
  if (url.username !== "" || url.password !== "") {
    throw new ConfigError(key, "must not contain user information (user:password@)");
  }
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "" || /[?#]/.test(text)) {
    throw new ConfigError(
      key,
      "must be an origin only (https://host[:port]), without a path, query or fragment",
    );
  }
  return url.origin;
}

/** The default: the host people reach the broker at (`issuer`), on the agent port's listen port. */
export function defaultAgentPublicUrl(issuer: string, port: number): string {
  return new URL(`https://${new URL(issuer).hostname}:${port}`).origin;
}

function parseAbsolute(text: string, key: string): URL {
  if (text.trim() !== text || !URL.canParse(text)) throw new ConfigError(key, "must be an absolute URL");
  return new URL(text);
}
