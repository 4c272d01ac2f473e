/**
 * One JSON object per line on stdout (journald-friendly). Callers pass only non-secret fields;
 * `Secret` values serialise as "[redacted]" anyway. Control characters in values from outside are
 * escaped (JSON's escapes and more, ./line-buffer.ts), so a crafted SPIFFE ID cannot forge log lines.
 */
import { type AccessFields, accessBound, writeAccessFields } from "./access.ts";
import { type LineSink, textLines, writeText } from "./sink.ts";

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  /** An audit event (`grant.created`, `consent.approved`, `token.minted`, `auth.failed`, …). */
  audit(event: string, fields: LogFields): void;
  /** One line per proxied request. */
  access(fields: AccessFields): void;
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

export function createLogger(sink: LineSink, instance: string): Logger {
  const clock = new LineClock();
  const accessHead = encoder.encode(
    `","kind":"access","event":"proxy.request","instance":${escapeControls(JSON.stringify(instance))}`,
  );
  const emit = (kind: string, event: string, fields: LogFields | undefined) => {
    const head = { time: clock.now(), kind, event, instance };
    // The head's keys first, and its values last: a field never overrides what the line is (a
    // consumer filters on kind and event).
    writeText(sink, escapeControls(JSON.stringify({ ...head, ...fields, ...head })));
  };
  return {
    audit: (event, fields) => emit("audit", event, fields),
    access: (fields) => access(sink, clock, accessHead, fields),
    info: (message, fields) => emit("info", message, fields),
    error: (message, fields) => emit("error", message, fields),
  };
}

const encoder = new TextEncoder();

/** The access line, written in place: its head (time, kind, event, instance), then its fields. */
function access(sink: LineSink, clock: LineClock, head: Uint8Array, fields: AccessFields): void {
  const out = sink.reserve(head.length + accessBound(fields));
  out.raw('{"time":"');
  out.raw(clock.now());
  out.copy(head);
  writeAccessFields(out, fields);
  out.raw("}");
  sink.commit();
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
    createLogger(
      textLines((line) => lines.push(line)),
      instance,
    ),
    { lines },
  );
}
