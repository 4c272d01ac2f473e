/**
 * The authorization request's secrets (state, PKCE verifier, nonce) travel in the person's browser,
 * not in the rendezvous store: sealed as a compact JWE (`dir`, `A256GCM`) with the broker's current
 * encryption key, so any instance holding the keys can serve the callback, the browser can neither
 * read nor alter them, and the state is bound to the browser that approved (RFC 6749 §10.12,
 * RFC 9700 §4.7.1). Read back by `kid`, so a key rotation mid-flow still decrypts.
 */
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from "jose";
import { WebError } from "../../core/errors.ts";
import type { KeySets } from "../../core/keys/types.ts";
import { Secret } from "../../core/secret.ts";
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

export async function sealFlow(flow: FlowState, keys: KeySets): Promise<string> {
  const payload = { ...flow, verifier: flow.verifier.reveal() };
  const plaintext = new TextEncoder().encode(JSON.stringify(payload));
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: keys.encrypter.kid, typ: FLOW_TYP })
    .encrypt(keys.encrypter.key);
}

function invalid(problem: string): WebError {
  return new WebError("state_invalid", `callback: flow cookie ${problem}`);
}

/** Throws WebError `state_invalid` for anything but an intact, unexpired flow sealed by our keys. */
export async function openFlow(sealed: string, keys: KeySets, now: number): Promise<FlowState> {
  if (sealed.length > MAX_SEALED) throw invalid("too large");
  let plaintext: Uint8Array;
  try {
    const header = decodeProtectedHeader(sealed);
    const key = typeof header.kid === "string" ? keys.decrypters.get(header.kid) : undefined;
    if (key === undefined || header.typ !== FLOW_TYP) throw invalid("not sealed by this broker");
    const opened = await compactDecrypt(sealed, key.key, {
      keyManagementAlgorithms: ["dir"],
      contentEncryptionAlgorithms: ["A256GCM"],
    });
    plaintext = opened.plaintext;
  } catch (error) {
    throw error instanceof WebError ? error : invalid("does not decrypt");
  }
  const flow = parseFlow(new TextDecoder().decode(plaintext));
  if (flow.exp <= now) throw invalid("has expired");
  return flow;
}

function parseFlow(text: string): FlowState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid("is not JSON");
  }
  if (typeof value !== "object" || value === null) throw invalid("is not an object");
  const record = value as Record<string, unknown>;
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
