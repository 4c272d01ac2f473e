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

/**
 * JSON.stringify escapes C0 controls but not DEL, the C1 controls (0x80–0x9f, some terminals act on
 * them) or U+2028/U+2029 (line breaks to some log viewers): escape those too, so no value from
 * outside can move the cursor or split a line.
 */
const UNESCAPED_CONTROLS = /[\u007f-\u009f\u2028\u2029]/g;

const ANY_UNESCAPED_CONTROL = /[\u007f-\u009f\u2028\u2029]/;

function escapeControls(json: string): string {
  // Searched first without the global flag: almost no line has one, and replace() allocates.
  if (!ANY_UNESCAPED_CONTROL.test(json)) return json;
  return json.replace(UNESCAPED_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const RESERVED = ["time", "kind", "event", "instance"];

export function createLogger(write: (line: string) => void, instance: string): Logger {
  const clock = new LineClock();
  const emit = (kind: string, event: string, fields: LogFields | undefined) => {
    const head = { time: clock.now(), kind, event, instance };
    if (fields !== undefined && RESERVED.some((key) => key in fields)) {
      // A field never overrides what the line is (a consumer filters on kind and event).
      write(escapeControls(JSON.stringify({ ...fields, ...head })));
      return;
    }
    // Two stringifications spliced rather than one of a merged object: the proxy logs a line per
    // request, and the spread would copy every field first.
    const rest = fields === undefined ? "}" : JSON.stringify(fields).slice(1);
    const json = JSON.stringify(head);
    write(escapeControls(rest === "}" ? json : `${json.slice(0, -1)},${rest}`));
  };
  return {
    audit: (event, fields) => emit("audit", event, fields),
    access: (fields) => emit("access", "proxy.request", fields),
    info: (message, fields) => emit("info", message, fields),
    error: (message, fields) => emit("error", message, fields),
  };
}

/** ISO 8601 time of the current millisecond, formatted once however many lines share it. */
class LineClock {
  #ms = Number.NaN;
  #text = "";

  now(): string {
    const ms = Date.now();
    if (ms !== this.#ms) {
      this.#ms = ms;
      this.#text = new Date(ms).toISOString();
    }
    return this.#text;
  }
}

/** A logger that keeps lines in memory: for tests that assert on (or scan) what was logged. */
export function createMemoryLogger(instance = "test"): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(
    createLogger((line) => lines.push(line), instance),
    { lines },
  );
}
