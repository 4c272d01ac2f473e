import { Secret } from "../secret.ts";
import type { Config } from "./types.ts";

const REDACTED = "[redacted]";

/**
 * A plain copy of the configuration that is safe to log or show on the admin page: every Secret
 * becomes "[redacted]" and the password of a redis URL is masked (like tokenizer's StripHazmat).
 */
export function redactConfig(config: Config): Record<string, unknown> {
  const plain = scrub(config);
  const rendezvous = { ...config.rendezvous, url: redactUrl(config.rendezvous.url) };
  return { ...(isRecord(plain) ? plain : {}), rendezvous };
}

function scrub(value: unknown): unknown {
  if (value instanceof Secret) return REDACTED;
  if (Array.isArray(value)) return value.map(scrub);
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, entry]) => entry !== undefined)
        .map(([key, entry]) => [key, scrub(entry)]),
    );
  }
  return value;
}

/** Userinfo in a URL is a credential (RFC 3986 §3.2.1 deprecates it for that reason). */
function redactUrl(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.password === "" && parsed.username === "") return url;
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, `$1${REDACTED}@`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
