import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Value, type ValueError, ValueErrorType } from "@sinclair/typebox/value";
import { ConfigError } from "../errors.ts";

/**
 * The shape of `surrogate.toml` as written (snake_case, DESIGN §7), before defaults and semantic
 * checks. Every table refuses unknown keys so a typo (`clinet_secret`) stops start-up instead of
 * silently falling back to a default. Lengths and counts are bounded: the file comes from outside.
 */
const text = (maxLength = 2048) => Type.String({ maxLength });
const nonEmpty = (maxLength = 2048) => Type.String({ minLength: 1, maxLength });
const duration = Type.Union([Type.String({ maxLength: 64 }), Type.Integer()], {
  description: 'a duration such as "90s", "15m" or "1h" (or a whole number of seconds)',
});
const closed = { additionalProperties: false } as const;
const strings = (maxItems: number) => Type.Array(nonEmpty(), { maxItems });

const WebSchema = Type.Object(
  {
    listen: Type.Optional(text(300)),
    tls_cert: Type.Optional(nonEmpty()),
    tls_key: Type.Optional(nonEmpty()),
    trusted_proxies: Type.Optional(Type.Array(nonEmpty(64), { maxItems: 1000 })),
  },
  closed,
);

const AgentSchema = Type.Object(
  {
    listen: Type.Optional(text(300)),
    tls_cert: nonEmpty(),
    tls_key: nonEmpty(),
    client_ca: Type.Optional(nonEmpty()),
    trust_domains: Type.Optional(Type.Record(Type.String(), nonEmpty(), { maxProperties: 64 })),
    upstream_ca: Type.Optional(nonEmpty()),
    handshake_timeout: Type.Optional(duration),
    headers_timeout: Type.Optional(duration),
    idle_timeout: Type.Optional(duration),
    request_timeout: Type.Optional(duration),
    upstream_timeout: Type.Optional(duration),
    max_header_size: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1024 * 1024 })),
    max_connections: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    max_handshakes_per_address: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    max_pending_handshakes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    scrub_responses: Type.Optional(Type.Boolean()),
    max_connection_age: Type.Optional(duration),
    public_url: Type.Optional(nonEmpty()),
  },
  closed,
);

const KeysSchema = Type.Object({ signing: nonEmpty(), encryption: nonEmpty() }, closed);

const RendezvousSchema = Type.Object(
  {
    url: Type.Optional(nonEmpty()),
    grant_ttl: Type.Optional(duration),
    interval: Type.Optional(duration),
    max_pending_per_workload: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    max_pending_total: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
    create_rate: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  },
  closed,
);

const ProviderSchema = Type.Object(
  {
    kind: nonEmpty(64),
    client_id: Type.Optional(nonEmpty(512)),
    client_secret: Type.Optional(nonEmpty()),
    scopes: Type.Optional(Type.Array(nonEmpty(256), { maxItems: 64 })),
    upstreams: Type.Optional(strings(256)),
    inject: Type.Optional(nonEmpty(1024)),
    git_inject: Type.Optional(nonEmpty(1024)),
    issuer: Type.Optional(nonEmpty()),
    authorization_endpoint: Type.Optional(nonEmpty()),
    token_endpoint: Type.Optional(nonEmpty()),
    revocation_endpoint: Type.Optional(nonEmpty()),
    token_endpoint_auth_method: Type.Optional(nonEmpty(64)),
    jwks_uri: Type.Optional(nonEmpty()),
    tenant: Type.Optional(nonEmpty(256)),
    base_url: Type.Optional(nonEmpty()),
    jwt_access_tokens: Type.Optional(Type.Boolean()),
  },
  closed,
);

const PolicySchema = Type.Object(
  {
    workload: nonEmpty(512),
    providers: Type.Array(nonEmpty(64), { minItems: 1, maxItems: 64 }),
    binding: Type.Optional(
      Type.Union([Type.Literal("certificate"), Type.Literal("key")], {
        description: '"certificate" or "key"',
      }),
    ),
    refresh_binding: Type.Optional(
      Type.Union([Type.Literal("certificate"), Type.Literal("spiffe_id")], {
        description: '"certificate" or "spiffe_id"',
      }),
    ),
  },
  closed,
);

const AdminSchema = Type.Object(
  {
    password: Type.Optional(nonEmpty()),
    provider: Type.Optional(nonEmpty(64)),
    allow: Type.Optional(Type.Array(nonEmpty(512), { maxItems: 1000 })),
    session_idle: Type.Optional(duration),
    api_token: Type.Optional(nonEmpty()),
  },
  closed,
);

const MetricsSchema = Type.Object({ bearer: Type.Optional(nonEmpty()) }, closed);

const AuditSchema = Type.Object(
  {
    proxy_requests: Type.Optional(
      Type.Union([Type.Literal("all"), Type.Literal("errors"), Type.Literal("sampled")], {
        description: '"all", "errors" or "sampled"',
      }),
    ),
    sample_rate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  closed,
);

export const ConfigSchema = Type.Object(
  {
    issuer: nonEmpty(),
    token_ttl: Type.Optional(duration),
    refresh_ttl: Type.Optional(duration),
    web: Type.Optional(WebSchema),
    agent: AgentSchema,
    keys: KeysSchema,
    rendezvous: Type.Optional(RendezvousSchema),
    providers: Type.Optional(Type.Record(Type.String(), ProviderSchema, { maxProperties: 64 })),
    policy: Type.Optional(Type.Array(PolicySchema, { maxItems: 1000 })),
    admin: Type.Optional(AdminSchema),
    metrics: Type.Optional(MetricsSchema),
    audit: Type.Optional(AuditSchema),
  },
  closed,
);

export type RawConfig = Static<typeof ConfigSchema>;
export type RawProvider = Static<typeof ProviderSchema>;

/** Enough errors to find an unknown key behind a missing one; the schema is small. */
const MAX_ERRORS = 200;

/**
 * Checks the parsed TOML against the schema; the first problem becomes a ConfigError naming its
 * key. An unknown key is reported first, with the known key it most resembles: a misspelled
 * required key (`tls_certificate`) also makes the real one "required", and the typo is the cause.
 */
export function checkSchema(value: unknown): RawConfig {
  if (Value.Check(ConfigSchema, value)) return value;
  const errors: ValueError[] = [];
  for (const error of Value.Errors(ConfigSchema, value)) {
    errors.push(error);
    if (errors.length >= MAX_ERRORS) break;
  }
  const unknown = errors.find((error) => error.type === ValueErrorType.ObjectAdditionalProperties);
  const first = unknown ?? errors[0];
  if (first === undefined) throw new ConfigError("config", "is invalid");
  const other = errors.find((error) => error.path !== first.path);
  const then =
    unknown !== undefined && other !== undefined ? `, and ${keyOf(other.path)}: ${problemOf(other)}` : "";
  throw new ConfigError(keyOf(first.path), `${problemOf(first)}${then}`);
}

/** The known key a typo most likely meant: a prefix of it, or one edit per four characters. */
function suggestion(error: ValueError): string | undefined {
  const typed = error.path.split("/").at(-1) ?? "";
  const known = Object.keys((error.schema as { properties?: object }).properties ?? {});
  const scored = known
    .map((name) => ({ name, distance: editDistance(typed, name) }))
    .filter(
      ({ name, distance }) =>
        distance <= Math.max(1, Math.floor(typed.length / 4)) || (name.length >= 4 && typed.startsWith(name)),
    )
    .sort((a, b) => a.distance - b.distance);
  return scored[0]?.name;
}

/** Levenshtein distance; both strings are short config keys (the schema caps them at 64 shown). */
function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Number.POSITIVE_INFINITY;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitute = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitute));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** JSON Pointer (`/providers/github/scopes/1`) → dotted key (`providers.github.scopes[1]`). */
function keyOf(pointer: string): string {
  const segments = pointer.split("/").slice(1).map(unescapePointer);
  let key = "";
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) key += `[${segment}]`;
    else key += key === "" ? printable(segment) : `.${printable(segment)}`;
  }
  return key === "" ? "config" : key;
}

function unescapePointer(segment: string): string {
  return segment.replaceAll("~1", "/").replaceAll("~0", "~");
}

/** Keys are echoed to name the problem; odd ones are quoted so they cannot forge log lines. */
function printable(segment: string): string {
  if (/^[A-Za-z0-9_-]{1,64}$/.test(segment)) return segment;
  return JSON.stringify(segment.length > 64 ? `${segment.slice(0, 64)}…` : segment);
}

function problemOf(error: ValueError): string {
  const schema: TSchema = error.schema;
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const meant = suggestion(error);
      return meant === undefined ? "unknown key" : `unknown key (did you mean ${meant}?)`;
    }
    case ValueErrorType.ObjectRequiredProperty:
      return "is required";
    case ValueErrorType.String:
      return "must be a string";
    case ValueErrorType.StringMinLength:
      return "must not be empty";
    case ValueErrorType.StringMaxLength:
      return `must be at most ${schema.maxLength} characters`;
    case ValueErrorType.Integer:
      return "must be an integer";
    case ValueErrorType.Number:
      return "must be a number";
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be at least ${schema.minimum}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be at most ${schema.maximum}`;
    case ValueErrorType.Boolean:
      return "must be true or false";
    case ValueErrorType.Array:
      return "must be an array";
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${schema.minItems} item(s)`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${schema.maxItems} items`;
    case ValueErrorType.Object:
      return "must be a table";
    case ValueErrorType.ObjectMaxProperties:
      return `must have at most ${schema.maxProperties} entries`;
    default:
      return typeof schema.description === "string" ? `must be ${schema.description}` : error.message;
  }
}
