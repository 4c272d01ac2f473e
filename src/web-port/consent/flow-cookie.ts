/**
 * The authorization request's secrets (state, PKCE verifier, nonce) travel in the person's browser,
 * not in the rendezvous store: sealed as a compact JWE (`dir`, `A256GCM`) with the broker's current
 * encryption key, so any instance holding the keys can serve the callback, the browser can neither
 * read nor alter them, and the state is bound to the browser that approved (RFC 6749 §10.12,
 * RFC 9700 §4.7.1). Read back by `kid`, so a key rotation mid-flow still decrypts.
 */
import { WebError } from "../../core/errors.ts";
import type { KeySets } from "../../core/keys/types.ts";
import { Secret } from "../../core/secret.ts";
import { sealJson } from "../../core/token/seal.ts";
import { unsealJson } from "../../core/token/unseal.ts";
import { cookieName } from "../shared/cookies.ts";

/**
 * Explicit type (RFC 8725 §3.11): the same key also seals the `tok` claim of wrappers, and a `tok`
 * must never be accepted as a flow cookie (nor the reverse, whose plaintext shape differs anyway).
 */
const FLOW_TYP = "surrogate-flow+jwe";
/** A sealed flow is ~500 bytes; anything far larger is not ours and is not decrypted. */
const MAX_SEALED = 4096;

export interface FlowState {
  grantId: string;
  provider: string;
  state: string;
  verifier: Secret;
  nonce?: string;
  /** Epoch ms: the grant's expiry, after which the flow is void whatever the cookie's Max-Age said. */
  exp: number;
}

export function flowCookieName(secure: boolean): string {
  return cookieName("surrogate-flow", secure);
}

export function sealFlow(flow: FlowState, keys: KeySets): Promise<string> {
  return sealJson({ ...flow, verifier: flow.verifier.reveal() }, keys, FLOW_TYP);
}

function invalid(problem: string): WebError {
  return new WebError("state_invalid", `callback: flow cookie ${problem}`);
}

/** Throws WebError `state_invalid` for anything but an intact, unexpired flow sealed by our keys. */
export async function openFlow(sealed: string, keys: KeySets, now: number): Promise<FlowState> {
  const value = await unsealJson(sealed, FLOW_TYP, keys, MAX_SEALED);
  if (value === undefined) throw invalid("is not a flow sealed by this broker");
  const flow = parseFlow(value);
  if (flow.exp <= now) throw invalid("has expired");
  return flow;
}

function parseFlow(record: Record<string, unknown>): FlowState {
  const { grantId, provider, state, verifier, nonce, exp } = record;
  if (typeof grantId !== "string" || typeof provider !== "string" || typeof state !== "string") {
    throw invalid("lacks grant, provider or state");
  }
  if (typeof verifier !== "string" || typeof exp !== "number") throw invalid("lacks verifier or expiry");
  if (nonce !== undefined && typeof nonce !== "string") throw invalid("has a malformed nonce");
  const flow: FlowState = { grantId, provider, state, verifier: new Secret(verifier), exp };
  if (nonce !== undefined) flow.nonce = nonce;
  return flow;
}
