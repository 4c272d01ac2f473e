import { ConfigError, ProxyError } from "../errors.ts";
import { FIELD_NAME } from "../http/fields.ts";
import type { Secret } from "../secret.ts";
import type { Injection } from "./types.ts";

/** `{token}` (the token verbatim) or `{basic:USER}` (RFC 7617 Basic credentials with the token as password). */
const PLACEHOLDER = /\{token\}|\{basic:([^}]*)\}/g;
/**
 * RFC 7617 §2: the user-id may not contain a colon (the first colon ends it). Narrowed further to
 * URL-safe characters: the user names vendors document (`x-access-token`, `oauth2`) are of this
 * kind, and a user typed into the configuration has no reason to need anything else.
 */
const BASIC_USER = /^[A-Za-z0-9._~-]{1,64}$/;
/** RFC 9110 §5.5 field-value text without CR, LF or NUL (obs-text excluded: templates are ASCII). */
const FIELD_TEXT = /^[\x20-\x7e\t]*$/;
/** A token goes into a header verbatim: visible ASCII only, or it could split or fold the header. */
const TOKEN_TEXT = /^[\x21-\x7e]+$/;

/**
 * Headers that frame or route the upstream request. Injecting into them would let a token's value
 * decide the message boundaries (request smuggling, RFC 9112 §6.3 / §11.2) or the destination.
 */
const FORBIDDEN_TARGETS: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "trailer",
  "upgrade",
]);

/**
 * Parses an operator's injection template such as `Authorization: Bearer {token}`,
 * `Authorization: token {token}`, `x-api-key: {token}` or `Authorization: Basic {basic:x-access-token}`
 * (git over HTTPS takes the token as a Basic password). The format is configuration only: a client
 * that could choose how its secret is formatted could probe it byte by byte (tokenizer advisory
 * GHSA-f28g-86hc-823q).
 */
export function parseInjection(template: string, key: string): Injection {
  const colon = template.indexOf(":");
  if (colon === -1) throw new ConfigError(key, 'an injection is "Header-Name: value with {token}"');
  const header = template.slice(0, colon).toLowerCase();
  const value = template.slice(colon + 1).trim();
  if (!FIELD_NAME.test(header)) throw new ConfigError(key, "the header name is not a valid HTTP token");
  if (FORBIDDEN_TARGETS.has(header))
    throw new ConfigError(key, `the token may not be injected into ${header}`);
  const placeholders = [...value.matchAll(PLACEHOLDER)];
  const [placeholder] = placeholders;
  if (placeholder === undefined || placeholders.length !== 1)
    throw new ConfigError(key, "the value must contain {token} (or {basic:USER}) exactly once");
  const prefix = value.slice(0, placeholder.index);
  const suffix = value.slice(placeholder.index + placeholder[0].length);
  if (!FIELD_TEXT.test(prefix) || !FIELD_TEXT.test(suffix)) {
    throw new ConfigError(key, "the value may contain only printable ASCII besides {token}");
  }
  const basicUser = placeholder[1];
  if (basicUser === undefined) return { header, prefix, suffix };
  if (!BASIC_USER.test(basicUser)) {
    throw new ConfigError(
      key,
      "the user of {basic:USER} must be 1 to 64 letters, digits or . _ ~ - (RFC 7617 forbids a colon)",
    );
  }
  return { header, prefix, suffix, basicUser };
}

/**
 * Sets the injected header, replacing any value of the same name the client sent. Called after the
 * request headers were filtered, so no client-sent `Connection` option can remove it.
 */
export function applyInjection(
  headers: { set(name: string, value: string): void },
  injection: Injection,
  token: Secret,
): void {
  if (!TOKEN_TEXT.test(token.reveal())) {
    // An IdP-supplied token with CR/LF would split the upstream request's header block.
    throw new ProxyError("invalid_token", "proxy: the wrapped credential cannot be sent in a header");
  }
  const value =
    injection.basicUser === undefined
      ? token.reveal()
      : // RFC 7617 §2: base64 of user-id ":" password, UTF-8 (the token is ASCII, checked above).
        Buffer.from(`${injection.basicUser}:${token.reveal()}`).toString("base64");
  headers.set(injection.header, `${injection.prefix}${value}${injection.suffix}`);
}

/**
 * git's smart HTTP requests (git-scm.com/docs/http-protocol): the ref discovery
 * `…/info/refs?service=git-upload-pack|git-receive-pack`, then `POST …/git-upload-pack` or
 * `…/git-receive-pack`; and the Git LFS API under `…/info/lfs/`, which takes the same credentials
 * (github.com/git-lfs/git-lfs/blob/main/docs/api/authentication.md).
 */
const GIT_PATH = /\/(?:info\/refs|git-upload-pack|git-receive-pack)$|\/info\/lfs\//;

/**
 * The injection for one request: the provider's `git_inject` for git's own requests (git sends
 * credentials as HTTP Basic, and GitHub and GitLab expect the token as a Basic password there), its
 * `inject` for everything else. The path is the agent's choice, so it picks between two formats
 * the operator fixed, both for allowed hosts only; it never shapes a format itself, which is what
 * would let it probe the secret (GHSA-f28g-86hc-823q).
 */
export function injectionFor(
  provider: { inject: Injection; gitInject?: Injection },
  pathAndQuery: string,
): Injection {
  if (provider.gitInject === undefined) return provider.inject;
  const query = pathAndQuery.indexOf("?");
  const path = query === -1 ? pathAndQuery : pathAndQuery.slice(0, query);
  return GIT_PATH.test(path) ? provider.gitInject : provider.inject;
}
