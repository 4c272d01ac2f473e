/**
 * The byte relay's upstream field lines, worked out once per field block. A keep-alive agent repeats
 * its field lines byte for byte, and the agent port then hands over the same frozen `rawHeaders`
 * (src/agent-port/http1/head.ts, HeadParser). What the checks derived from those lines (the bearer,
 * the filtered fields) and the serialised lines with the credential injected are kept with that
 * array, in a WeakMap, so they go when the connection moves on or closes.
 *
 * Only pure results of identical inputs are reused. The certificate's validity, the cache (`exp`,
 * key rotation), binding, revocation, policy and allow-list are still asked on every request
 * (./checks.ts, ./relay-plan.ts); the injected lines are rebuilt whenever the provider's injection
 * (SIGHUP) or the opened credential (a re-verified wrapper) is another object. The lines hold the
 * credential as the head written upstream does: in memory only, for as long as the connection sends
 * the same wrapper, like the verification cache's opened secret.
 */

import type { FieldList } from "../core/http/field-list.ts";
import { applyInjection } from "../core/provider/inject.ts";
import type { Injection } from "../core/provider/types.ts";
import type { Secret } from "../core/secret.ts";
import type { HeaderWork } from "./checks.ts";
import { askForIdentity } from "./scrub-response.ts";
import {
  type RequestHead,
  requestHead,
  type SerializedFields,
  serializeFields,
} from "./upstream/request-head.ts";
import type { Target } from "./upstream/target.ts";

type RawHeaders = ReadonlyArray<readonly [string, string]>;

export class RelayFields {
  readonly #blocks = new WeakMap<RawHeaders, FieldBlock>();

  /** `identity`: ask the upstream for an uncompressed answer, which the scrubber can read. */
  constructor(private readonly identity: boolean) {}

  /** What was worked out for these very field lines, if a request carried them before. */
  known(rawHeaders: RawHeaders): FieldBlock | undefined {
    return this.#blocks.get(rawHeaders);
  }

  /** Keeps `work` (the checks' result for `rawHeaders`) for the next request with the same lines. */
  remember(rawHeaders: RawHeaders, work: HeaderWork): FieldBlock {
    const block = new FieldBlock(work.token, work.headers, this.identity);
    this.#blocks.set(rawHeaders, block);
    return block;
  }
}

/** One field block's bearer and filtered fields, and its last serialised upstream lines and head. */
export class FieldBlock implements HeaderWork {
  #injected: { injection: Injection; secret: Secret; fields: SerializedFields } | undefined;
  #head: { target: Target; method: string; fields: SerializedFields; head: RequestHead } | undefined;

  constructor(
    readonly token: string,
    readonly headers: FieldList,
    private readonly identity: boolean,
  ) {}

  /** The lines to send upstream: the filtered fields with the credential injected. */
  lines(injection: Injection, secret: Secret): SerializedFields {
    const last = this.#injected;
    if (last !== undefined && last.injection === injection && last.secret === secret) return last.fields;
    const headers = this.headers.clone();
    applyInjection(headers, injection, secret);
    if (this.identity) askForIdentity(headers);
    const fields = serializeFields(headers);
    this.#injected = { injection, secret, fields };
    return fields;
  }

  /**
   * The upstream head for these lines. A bodiless request to the same target with the same method
   * and lines (the same objects: ./relay-plan.ts keeps one parsed target per request target) is the
   * same head, so the last one is reused; a body's framing is worked out for every request.
   */
  head(target: Target, method: string, fields: SerializedFields, hasBody: boolean): RequestHead {
    if (hasBody) return requestHead(target, method, fields, true);
    const last = this.#head;
    if (last !== undefined && last.target === target && last.method === method && last.fields === fields)
      return last.head;
    const head = Object.freeze(requestHead(target, method, fields, false));
    this.#head = { target, method, fields, head };
    return head;
  }
}
