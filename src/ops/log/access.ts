/**
 * The access line (`kind: "access"`, `event: "proxy.request"`): one per proxied request, so its
 * fields have a fixed shape and it is written straight into the sink's bytes, key by key, with no
 * intermediate object or string (docs/benchmarks.md, "Access line").
 */
import type { LineBuffer } from "./line-buffer.ts";
import { stringBound } from "./line-buffer.ts";

/** What an access line says; a field left undefined is not written. */
export interface AccessFields {
  workload?: string | undefined;
  method?: string | undefined;
  /** `host[:port]` as the agent named it. */
  host?: string | undefined;
  /** Without the query, which may carry anything. */
  path?: string | undefined;
  cache?: "hit" | "miss" | undefined;
  jti?: string | undefined;
  provider?: string | undefined;
  status?: number | undefined;
  bytes?: number | undefined;
  /** The error code of a refusal or failure. */
  code?: string | undefined;
  duration_ms?: number | undefined;
}

/** One request's access fields, all present from the start (one shape, whatever the checks reach). */
export class AccessRecord implements AccessFields {
  host: string | undefined = undefined;
  path: string | undefined = undefined;
  cache: "hit" | "miss" | undefined = undefined;
  jti: string | undefined = undefined;
  provider: string | undefined = undefined;
  status: number | undefined = undefined;
  bytes: number | undefined = undefined;
  code: string | undefined = undefined;
  duration_ms: number | undefined = undefined;

  constructor(
    readonly workload: string,
    readonly method: string,
  ) {}
}

/** Bytes of the line besides its string values: keys, punctuation, time, three numbers. */
const FIXED_BOUND = 512;

/** The most bytes `writeAccessFields` writes for `fields`. */
export function accessBound(fields: AccessFields): number {
  const length =
    lengthOf(fields.workload) +
    lengthOf(fields.method) +
    lengthOf(fields.host) +
    lengthOf(fields.path) +
    lengthOf(fields.jti) +
    lengthOf(fields.provider) +
    lengthOf(fields.code);
  return FIXED_BOUND + stringBound(length);
}

/** The fields after the line's head, each as `,"key":value`, in one order. */
export function writeAccessFields(out: LineBuffer, fields: AccessFields): void {
  stringField(out, ',"workload":', fields.workload);
  stringField(out, ',"method":', fields.method);
  stringField(out, ',"host":', fields.host);
  stringField(out, ',"path":', fields.path);
  stringField(out, ',"cache":', fields.cache);
  stringField(out, ',"jti":', fields.jti);
  stringField(out, ',"provider":', fields.provider);
  numberField(out, ',"status":', fields.status);
  numberField(out, ',"bytes":', fields.bytes);
  stringField(out, ',"code":', fields.code);
  numberField(out, ',"duration_ms":', fields.duration_ms);
}

function lengthOf(value: string | undefined): number {
  return value === undefined ? 0 : value.length;
}

function stringField(out: LineBuffer, key: string, value: string | undefined): void {
  if (value === undefined) return;
  out.raw(key);
  out.string(value);
}

function numberField(out: LineBuffer, key: string, value: number | undefined): void {
  if (value === undefined) return;
  out.raw(key);
  out.number(value);
}
