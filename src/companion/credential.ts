/**
 * The proxy credential: what keeps other local users and processes from using the companion (and
 * with it the agent's wrappers). Tools send it as RFC 7617 Basic `Proxy-Authorization` (the user
 * name is always `surrogate`), or, in base-URL mode, as the `/_/<credential>/` path prefix.
 */
import { randomBytes } from "node:crypto";
import { constantTimeEqual } from "../core/secret.ts";

export const PROXY_USER = "surrogate";
/** 256 bits: not guessable, and URL-safe so it fits a proxy URL's userinfo and a path segment. */
const CREDENTIAL_BYTES = 32;

export function createProxyCredential(): string {
  return randomBytes(CREDENTIAL_BYTES).toString("base64url");
}

/** RFC 9110 §11.7.1 `Proxy-Authorization: Basic base64(surrogate:<credential>)`, compared in constant time. */
export function checkProxyAuthorization(header: string | undefined, credential: string): boolean {
  if (header === undefined) return false;
  const match = /^basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(header);
  if (match === null) return false;
  const decoded = Buffer.from(match[1] ?? "", "base64").toString("latin1");
  return constantTimeEqual(decoded, `${PROXY_USER}:${credential}`);
}

/** The path prefix of base-URL mode: `/_/<credential>`, checked in constant time. */
export function checkPathCredential(segment: string, credential: string): boolean {
  return constantTimeEqual(segment, credential);
}

export function proxyUrl(credential: string, port: number): string {
  return `http://${PROXY_USER}:${credential}@127.0.0.1:${port}`;
}

export function baseUrl(credential: string, port: number): string {
  return `http://127.0.0.1:${port}/_/${credential}`;
}
