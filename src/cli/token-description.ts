/**
 * The human-readable view of a wrapper for `surrogate inspect`. Every value comes from the token,
 * i.e. from whoever made it: it is escaped so control characters and bidi overrides cannot
 * rewrite the terminal or disguise what is shown.
 */
import { CLOCK_TOLERANCE } from "../core/token/claims.ts";
import type { DecodedWrapper } from "./token-input.ts";

/** C0/C1 controls, DEL, and the Unicode bidi/line controls that reorder or hide text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Indented JSON. JSON.stringify already writes a newline inside a value as `\\n`, so every raw
 * line break in its output is layout and stays; what it leaves raw (DEL, C1, bidi controls) is
 * escaped like any other value.
 */
function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2)
    .split("\n")
    .map((line) => escapeForTerminal(line))
    .join("\n");
}

/** The sealed `tok` is never shown, not even as ciphertext: it says nothing to a reader. */
function displayedClaims(payload: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(payload).map(([name, value]) => [name, name === "tok" ? "[encrypted]" : value]),
  );
}

/**
 * The one `cnf` member, as the proxy or the token endpoint would read it (exactly one of x5t#S256,
 * jkt, spiffe_id). `x5t#S256` also as colon hex, the way `openssl x509 -fingerprint -sha256`
 * prints it.
 */
function bindingLines(payload: Record<string, unknown>): string[] {
  const cnf = payload.cnf;
  const members = typeof cnf === "object" && cnf !== null ? Object.entries(cnf) : [];
  const [kind, value] = members[0] ?? [];
  if (members.length === 1 && kind === "spiffe_id" && typeof value === "string") {
    return [
      `binding:    cnf spiffe_id ${escapeForTerminal(value)}`,
      "            any certificate of this SPIFFE ID under its trust domain's bundle (refresh)",
    ];
  }
  const valid = typeof value === "string" && /^[A-Za-z0-9_-]{43}$/.test(value);
  if (members.length !== 1 || !valid || (kind !== "x5t#S256" && kind !== "jkt")) {
    return ["binding:    none (cnf must hold exactly one valid x5t#S256, jkt or spiffe_id)"];
  }
  if (kind === "jkt") {
    return [`binding:    cnf jkt ${value}`, "            public key (RFC 7638 JWK SHA-256 thumbprint)"];
  }
  const hex = Buffer.from(value, "base64url").toString("hex").toUpperCase();
  return [
    `binding:    cnf x5t#S256 ${value}`,
    `            certificate SHA-256 ${hex.match(/../g)?.join(":") ?? ""}`,
  ];
}

const UNITS: readonly (readonly [string, number])[] = [
  ["d", 86_400],
  ["h", 3_600],
  ["m", 60],
  ["s", 1],
];

/** "42m", "3d 4h", "1m 5s": the two largest units, zero parts left out. */
export function formatDuration(seconds: number): string {
  let rest = Math.max(0, Math.floor(seconds));
  const counts = UNITS.map(([unit, size]) => {
    const count = Math.floor(rest / size);
    rest %= size;
    return [unit, count] as const;
  });
  const first = counts.findIndex(([, count]) => count > 0);
  if (first === -1) return "0s";
  return counts
    .slice(first, first + 2)
    .filter(([, count]) => count > 0)
    .map(([unit, count]) => `${count}${unit}`)
    .join(" ");
}

/** The verifier's clock-skew tolerance is stated, so "EXPIRED" never contradicts what the proxy does. */
export function expiryLine(exp: unknown, now: number): string {
  if (typeof exp !== "number" || !Number.isFinite(exp)) return "expiry:     none (no numeric exp)";
  const left = exp - now / 1000;
  const at = new Date(exp * 1000).toISOString();
  const skew = `${CLOCK_TOLERANCE}s clock-skew tolerance`;
  if (left > 0)
    return `expiry:     expires in ${formatDuration(left)} (${at}; accepted up to the ${skew} later)`;
  if (left > -CLOCK_TOLERANCE)
    return `expiry:     EXPIRED ${formatDuration(-left)} ago (${at}); still accepted for ${formatDuration(CLOCK_TOLERANCE + left)}, the ${skew}`;
  return `expiry:     EXPIRED ${formatDuration(-left)} ago (${at}; past the ${skew})`;
}

/** What `exp_bound` (DESIGN §5) says set `exp`: token_ttl, the upstream token, or the certificate. */
const BOUNDS: Readonly<Record<string, string>> = {
  token_ttl: "token_ttl (the broker's cap)",
  upstream: "the upstream token's own expiry",
  certificate: "the bound certificate's notAfter",
};

function boundLine(bound: unknown): string[] {
  return typeof bound === "string" && Object.hasOwn(BOUNDS, bound) ? [`exp set by: ${BOUNDS[bound]}`] : [];
}

/** The login (`sid`, DESIGN §5) and when the person logged in: what `surrogate revoke --login` takes. */
function loginLine(payload: Record<string, unknown>): string[] {
  const { sid, auth_time: authTime } = payload;
  if (typeof sid !== "string") return [];
  const since = typeof authTime === "number" && Number.isFinite(authTime) ? authTime * 1000 : Number.NaN;
  const when =
    Number.isNaN(since) || Math.abs(since) > 8.64e15 ? "" : ` (logged in ${new Date(since).toISOString()})`;
  return [`${"login:".padEnd(11)} ${escapeForTerminal(sid)}${when}`];
}

function textLine(label: string, value: unknown): string[] {
  return typeof value === "string" ? [`${label.padEnd(11)} ${escapeForTerminal(value)}`] : [];
}

export function describeWrapper(decoded: DecodedWrapper, now: number): string {
  const { header, payload } = decoded;
  const lines = [
    "header:",
    pretty(header),
    "claims:",
    pretty(displayedClaims(payload)),
    "",
    ...textLine("type:", header.typ),
    ...textLine("provider:", payload.prv),
    ...textLine("workload:", payload.workload),
    ...textLine("subject:", payload.sub),
    ...textLine("email:", payload.email),
    ...textLine("scope:", payload.scope),
    ...textLine("issuer:", payload.iss),
    ...loginLine(payload),
    ...bindingLines(payload),
    expiryLine(payload.exp, now),
    ...boundLine(payload.exp_bound),
  ];
  return `${lines.join("\n")}\n`;
}
