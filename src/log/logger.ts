/**
 * One JSON object per line on stdout (journald-friendly). Callers pass only non-secret fields;
 * `Secret` values serialise as "[redacted]" anyway. Control characters in values from outside are
 * escaped by JSON.stringify, so a crafted SPIFFE ID cannot forge log lines.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  /** An audit event (`grant.created`, `consent.approved`, `token.minted`, `auth.failed`, …). */
  audit(event: string, fields: LogFields): void;
  /** One line per proxied request. */
  access(fields: LogFields): void;
  /** Operational messages (start-up, shutdown, backend errors) — never request data. */
  info(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export function createLogger(write: (line: string) => void, instance: string): Logger {
  const emit = (kind: string, event: string, fields: LogFields | undefined) =>
    write(JSON.stringify({ time: new Date().toISOString(), kind, event, instance, ...fields }));
  return {
    audit: (event, fields) => emit("audit", event, fields),
    access: (fields) => emit("access", "proxy.request", fields),
    info: (message, fields) => emit("info", message, fields),
    error: (message, fields) => emit("error", message, fields),
  };
}

/** A logger that keeps lines in memory: for tests that assert on (or scan) what was logged. */
export function createMemoryLogger(instance = "test"): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger((line) => lines.push(line), instance), { lines });
}
