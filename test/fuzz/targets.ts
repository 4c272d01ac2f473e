/**
 * Fuzz targets (fast-check properties) shared by the test suite (short runs) and `bun run fuzz`
 * (scripts/fuzz.ts, ≥ 100k runs each). Every target states what must hold for ANY input: the only
 * failure is the documented error class and code, and whatever is accepted is canonical.
 */
import fc from "fast-check";
import { ConfigError, IdentityError, ProxyError, TokenError } from "../../src/core/errors.ts";
import { parseTarget } from "../../src/core/http/target.ts";
import { parseSpiffeId } from "../../src/core/identity/spiffe.ts";
import type { KeySets } from "../../src/core/keys/types.ts";
import { isAllowed, isMetadataHost, parseUpstream } from "../../src/core/provider/allowlist.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { verifyWrapper } from "../../src/core/token/verify.ts";
import { buildUpstreamHeaders, filterResponseHeaders } from "../../src/proxy/headers.ts";
import { testKeySets } from "../helpers/keys.ts";

export interface FuzzTarget {
  name: string;
  run(numRuns: number, seed?: number): Promise<void>;
}

const DNS_NAME = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(?:(?:0|[1-9]\d{0,2})\.){3}(?:0|[1-9]\d{0,2})$/;
const ENCODED_SEPARATOR = /%(?:25)?(?:2e|2f|5c)/i;
const SPIFFE = /^spiffe:\/\/[a-z0-9._-]+(?:\/[A-Za-z0-9._-]+)+$/;

/** Pieces attackers combine: separators, encodings, IPv4 spellings, homoglyphs, controls. */
const PIECES = [
  "/",
  ".",
  "..",
  "%2e",
  "%2E",
  "%2f",
  "%2F",
  "%5c",
  "%252e",
  "%25",
  "%",
  "@",
  "\\",
  ":",
  "443",
  "65536",
  "0",
  "a",
  "api",
  "allowed",
  "test",
  "127",
  "0x7f",
  "0177",
  "1",
  "[",
  "]",
  "::1",
  "?",
  "#",
  ";",
  "-",
  "xn--",
  "\t",
  "\r",
  "\n",
  "\u0000",
  " ",
  "é",
  "．",
  "。",
  "A",
  "v1",
  "*",
  "=",
  "&",
];

const pieced = (prefix: string) =>
  fc.array(fc.constantFrom(...PIECES), { maxLength: 16 }).map((parts) => prefix + parts.join(""));
const label = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}[a-z0-9]?$/),
  fc.constantFrom("127", "0", "255", "256", "0x7f", "0177", "xn--pi-7kc", "-a", "a-", "API", ""),
);
/** Mostly well-formed authorities, so the accepted branch of each property is exercised too. */
const authority = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 4 }), fc.option(fc.integer({ min: -1, max: 70_000 })))
  .map(([labels, port]) => `${labels.join(".")}${port === null ? "" : `:${port}`}`);
const segment = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/), fc.constantFrom(...PIECES));
const plausible = (prefix: string) =>
  fc
    .tuple(authority, fc.array(segment, { maxLength: 5 }), fc.option(fc.string({ maxLength: 8 })))
    .map(([host, path, query]) => `${prefix}${host}/${path.join("/")}${query === null ? "" : `?${query}`}`);
const anyText = fc.oneof(fc.string({ unit: "binary", maxLength: 64 }), fc.string({ maxLength: 64 }));

function property<T>(arbitrary: fc.Arbitrary<T>, check: (value: T) => void): FuzzTarget["run"] {
  return async (numRuns, seed) => {
    fc.assert(fc.property(arbitrary, check), { numRuns, ...(seed === undefined ? {} : { seed }) });
  };
}

/** Runs `action`; any throw other than `type` with `code` fails the property. */
function onlyThrows<T>(action: () => T, type: new (...args: never[]) => Error, code: string): T | undefined {
  try {
    return action();
  } catch (error) {
    if (error instanceof type && (error as Error & { code: string }).code === code) return undefined;
    throw error;
  }
}

const parseTargetTarget: FuzzTarget = {
  name: "parseTarget",
  run: property(fc.oneof(plausible("/"), pieced("/"), anyText, pieced("")), (raw) => {
    const target = onlyThrows(() => parseTarget(raw), ProxyError, "bad_target");
    if (target === undefined) return;
    if (!DNS_NAME.test(target.host) && !IPV4.test(target.host)) throw new Error(`bad host ${target.host}`);
    if (target.port !== undefined && !(target.port >= 1 && target.port <= 65535)) throw new Error("bad port");
    const path = target.pathAndQuery.split("?", 1)[0] ?? "";
    if (!path.startsWith("/") || ENCODED_SEPARATOR.test(path) || path.includes("\\")) throw new Error(path);
    if (path.split("/").some((s) => s === "." || s === "..")) throw new Error(`dot-segment in ${path}`);
    const again = parseTarget(
      `/${target.host}${target.port === undefined ? "" : `:${target.port}`}${target.pathAndQuery}`,
    );
    if (JSON.stringify(again) !== JSON.stringify(target))
      throw new Error("re-serialisation changed the target");
  }),
};

const allowlistTarget: FuzzTarget = {
  name: "parseUpstream/isAllowed",
  run: property(
    fc.tuple(
      fc.oneof(
        authority,
        authority.map((a) => `*.${a}`),
        authority.map((a) => `http://${a}`),
        pieced(""),
        anyText,
      ),
      fc.oneof(
        authority,
        authority.map((a) => `x.${a}`),
        pieced(""),
      ),
    ),
    ([entry, probe]) => {
      const rule = onlyThrows(() => parseUpstream(entry, "upstreams"), ConfigError, "config_invalid");
      if (rule === undefined) return;
      if (isMetadataHost(rule.host)) throw new Error("metadata host accepted");
      if (rule.scheme === "http" && rule.wildcard) throw new Error("http wildcard accepted");
      const exact = isAllowed([rule], rule.host, rule.port);
      if (rule.wildcard ? exact !== undefined : exact !== rule) throw new Error("own host/apex mismatch");
      const target = onlyThrows(() => parseTarget(`/${probe}`), ProxyError, "bad_target");
      if (target === undefined) return;
      const matched = isAllowed([rule], target.host, target.port);
      if (matched === undefined) return;
      const hostOk = rule.wildcard ? target.host.endsWith(`.${rule.host}`) : target.host === rule.host;
      if (!hostOk || isMetadataHost(target.host)) throw new Error(`${target.host} matched ${entry}`);
    },
  ),
};

const spiffeTarget: FuzzTarget = {
  name: "parseSpiffeId",
  run: property(fc.oneof(plausible("spiffe://"), pieced("spiffe://test.example/"), anyText), (uri) => {
    const id = onlyThrows(() => parseSpiffeId(uri), IdentityError, "spiffe_invalid");
    if (id === undefined) return;
    if (id !== uri || !SPIFFE.test(id)) throw new Error(`accepted ${JSON.stringify(uri)}`);
    if (
      id
        .split("/")
        .slice(3)
        .some((s) => s === "." || s === "..")
    )
      throw new Error("dot segment accepted");
  }),
};

const HEADER_NAMES = [
  "Host",
  "Authorization",
  "Proxy-Authorization",
  "Connection",
  "Keep-Alive",
  "TE",
  "Transfer-Encoding",
  "Content-Length",
  "Upgrade",
  "Trailer",
  "X-Forwarded-Client-Cert",
  "X-SSL-Client-Cert",
  "Expect",
  "X-Api-Key",
  "Accept",
  "X Bad",
  "X:Bad",
  "",
];
const STRIPPED = [
  "host",
  "authorization",
  "proxy-authorization",
  "x-forwarded-client-cert",
  "expect",
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];
const headerValue = fc.oneof(
  fc.constantFrom("5", "5, 5", "5, 6", "chunked", "gzip, chunked", "authorization", "x-api-key, accept", ""),
  fc.string({ unit: "binary", maxLength: 24 }),
);
const rawHeaders = fc.array(
  fc.tuple(fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.string({ maxLength: 12 })), headerValue),
  {
    maxLength: 8,
  },
);

const headerTarget: FuzzTarget = {
  name: "buildUpstreamHeaders/filterResponseHeaders",
  run: property(rawHeaders, (pairs) => {
    const headers = onlyThrows(() => buildUpstreamHeaders(pairs), ProxyError, "invalid_request");
    if (headers !== undefined) {
      const named = pairs.filter(([n]) => n.toLowerCase() === "connection").flatMap(([, v]) => v.split(","));
      const banned = new Set([...STRIPPED, ...named.map((o) => o.trim().toLowerCase())]);
      for (const [name, value] of headers) {
        if (banned.has(name) && name !== "content-length") throw new Error(`${name} forwarded`);
        if (/[\r\n\0]/.test(value)) throw new Error("control character forwarded");
      }
    }
    const response = new Headers();
    for (const [name, value] of pairs) {
      try {
        response.append(name, value);
      } catch {
        // Headers refuses what no upstream response could carry.
      }
    }
    const filtered = filterResponseHeaders(response);
    for (const hop of ["connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer"]) {
      if (filtered.has(hop)) throw new Error(`${hop} passed back`);
    }
  }),
};

/** One valid wrapper, then ANY change to its text must be refused as invalid_token. */
async function wrapperFixture(): Promise<{ token: string; keys: KeySets; now: number }> {
  const keys = await testKeySets();
  const now = Date.now();
  const { token } = await mintWrapper(
    {
      kind: "access",
      provider: "corp",
      binding: { kind: "x5t#S256", value: "A".repeat(43) },
      secret: { token: new Secret("fuzz-real-token"), type: "Bearer" },
    },
    keys,
    { issuer: "https://broker.test", tokenTtl: 600, now },
  );
  return { token, keys, now };
}

const BASE64URL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Positions anywhere, biased towards segment edges where encodings hide unused bits and separators. */
function mutation(token: string) {
  const edges = [...token].flatMap((c, i) => (c === "." ? [i - 1, i, i + 1] : [])).concat([token.length - 1]);
  return fc.record({
    kind: fc.constantFrom("replace", "insert", "delete", "truncate", "swap"),
    at: fc.oneof(fc.nat({ max: token.length - 1 }), fc.constantFrom(...edges)),
    char: fc.oneof(
      fc.constantFrom(...BASE64URL_CHARS),
      fc.constantFrom(...".=+/ \t\n\u0000é"),
      fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
    ),
  });
}

function mutate(token: string, m: { kind: string; at: number; char: string }): string {
  const { at, char } = m;
  if (m.kind === "replace") return token.slice(0, at) + char + token.slice(at + 1);
  if (m.kind === "insert") return token.slice(0, at) + char + token.slice(at);
  if (m.kind === "delete") return token.slice(0, at) + token.slice(at + 1);
  if (m.kind === "truncate") return token.slice(0, at);
  const other = (at * 7919) % token.length;
  const chars = [...token];
  [chars[at], chars[other]] = [chars[other] ?? "", chars[at] ?? ""];
  return chars.join("");
}

const verifyTarget: FuzzTarget = {
  name: "verifyWrapper (any mutation of a valid wrapper)",
  run: async (numRuns, seed) => {
    const { token, keys, now } = await wrapperFixture();
    await verifyWrapper(token, "access", keys, { issuer: "https://broker.test", now });
    const property = fc.asyncProperty(mutation(token), async (m) => {
      const mutated = mutate(token, m);
      if (mutated === token) return;
      try {
        await verifyWrapper(mutated, "access", keys, { issuer: "https://broker.test", now });
      } catch (error) {
        if (error instanceof TokenError && error.code === "invalid_token") return;
        throw error;
      }
      throw new Error(`accepted a mutated wrapper (${m.kind} at ${m.at})`);
    });
    await fc.assert(property, { numRuns, ...(seed === undefined ? {} : { seed }) });
  },
};

export const FUZZ_TARGETS: FuzzTarget[] = [
  parseTargetTarget,
  allowlistTarget,
  spiffeTarget,
  headerTarget,
  verifyTarget,
];
