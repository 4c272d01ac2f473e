import type { JSONWebKeySet } from "jose";
import type { Env } from "../config/types.ts";
import { KeysError } from "../errors.ts";
import { parseStrictJson } from "../io/strict-json.ts";
import { importEncryptionKey, importSigningKey } from "./jwk.ts";
import { fetchRemoteVerifiers, isJwksSource, jwksUrlOf } from "./remote-jwks.ts";
import { readKeySource } from "./source.ts";
import type { EncryptionKey, KeySets, VerificationKey } from "./types.ts";

/** Rotation keeps old keys; more than this many is a forgotten clean-up, not a rotation scheme. */
export const MAX_KEYS_PER_SET = 32;

/**
 * Loads both key sets from their source references (DESIGN §6); throws KeysError naming the source.
 * A `jwks:https://…` signing source yields verify-only KeySets (no `signer`), fetched with `fetch`.
 */
export async function loadKeySets(
  sources: { signing: string; encryption: string },
  env: Env,
  deps: { fetch?: typeof fetch } = {},
): Promise<KeySets> {
  if (isJwksSource(sources.signing)) {
    const url = jwksUrlOf(sources.signing, "keys.signing");
    const remote = await fetchRemoteVerifiers(url, "keys.signing", deps.fetch ?? fetch);
    return { ...remote, ...(await loadEncryptionKeys(sources.encryption, env)) };
  }
  const signingText = await readKeySource("keys.signing", sources.signing, env);
  const encryptionText = await readKeySource("keys.encryption", sources.encryption, env);
  return buildKeySets(
    parseKeySetText(signingText, `keys.signing (${sources.signing})`),
    parseKeySetText(encryptionText, `keys.encryption (${sources.encryption})`),
    `keys.signing (${sources.signing})`,
    `keys.encryption (${sources.encryption})`,
  );
}

/** The encryption half of KeySets, from its source reference. */
export async function loadEncryptionKeys(
  source: string,
  env: Env,
): Promise<Pick<KeySets, "encrypter" | "decrypters">> {
  const where = `keys.encryption (${source})`;
  const set = parseKeySetText(await readKeySource("keys.encryption", source, env), where);
  const keys = await Promise.all(
    keysOf(set, where).map((jwk, i) => importEncryptionKey(jwk, keyWhere(where, i))),
  );
  return { encrypter: keys[0]!, decrypters: byKid(keys, where) };
}

/** Builds KeySets from in-memory private JWK Sets (as produced by `generateKeySets`). */
export function keySetsFromJwks(signing: JSONWebKeySet, encryption: JSONWebKeySet): Promise<KeySets> {
  return buildKeySets(signing, encryption, "signing key set", "encryption key set");
}

/** Parses key set text strictly: a duplicated member (two `d`s, two `kid`s) is refused, not resolved. */
export function parseKeySetText(text: string, where: string): unknown {
  try {
    return parseStrictJson(text);
  } catch {
    throw new KeysError(`${where}: not a valid JSON object (or has duplicate members)`);
  }
}

async function buildKeySets(
  signing: unknown,
  encryption: unknown,
  signingWhere: string,
  encryptionWhere: string,
): Promise<KeySets> {
  const signingKeys = await Promise.all(
    keysOf(signing, signingWhere).map((jwk, i) => importSigningKey(jwk, keyWhere(signingWhere, i))),
  );
  const encryptionKeys = await Promise.all(
    keysOf(encryption, encryptionWhere).map((jwk, i) =>
      importEncryptionKey(jwk, keyWhere(encryptionWhere, i)),
    ),
  );
  const first = signingKeys[0]!;
  return {
    signer: { kid: first.kid, alg: first.alg, key: first.privateKey },
    verifiers: byKid(
      signingKeys.map((k) => k.verifier),
      signingWhere,
    ),
    publicJwks: { keys: signingKeys.map((k) => k.publicJwk) },
    encrypter: encryptionKeys[0]!,
    decrypters: byKid(encryptionKeys, encryptionWhere),
  };
}

function keyWhere(where: string, index: number): string {
  return `${where}: key #${index + 1}`;
}

/** The `keys` array of a JWK Set (RFC 7517 §5), non-empty and bounded. */
function keysOf(set: unknown, where: string): Record<string, unknown>[] {
  if (typeof set !== "object" || set === null || Array.isArray(set))
    throw new KeysError(`${where}: not a JWK Set`);
  const keys = (set as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new KeysError(`${where}: JWK Set has no "keys" array`);
  if (keys.length === 0) throw new KeysError(`${where}: JWK Set is empty`);
  if (keys.length > MAX_KEYS_PER_SET) throw new KeysError(`${where}: more than ${MAX_KEYS_PER_SET} keys`);
  return keys.map((key, i) => {
    if (typeof key !== "object" || key === null || Array.isArray(key)) {
      throw new KeysError(`${keyWhere(where, i)}: not a JSON object`);
    }
    return key as Record<string, unknown>;
  });
}

/** A kid must select exactly one key, or a token could be checked against a key its issuer never meant. */
function byKid<K extends VerificationKey | EncryptionKey>(keys: K[], where: string): ReadonlyMap<string, K> {
  const map = new Map<string, K>();
  for (const key of keys) {
    if (map.has(key.kid)) throw new KeysError(`${where}: duplicate kid "${key.kid}"`);
    map.set(key.kid, key);
  }
  return map;
}
