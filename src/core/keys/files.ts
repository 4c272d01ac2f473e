import { randomBytes } from "node:crypto";
import { lstat, mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { JSONWebKeySet } from "jose";
import { KeysError } from "../errors.ts";
import { generateEncryptionJwk, generateKeySets, generateSigningJwk } from "./generate.ts";
import { keySetsFromJwks, MAX_KEYS_PER_SET, parseKeySetText } from "./load.ts";
import { readKeyFile } from "./source.ts";
import type { SigningAlg } from "./types.ts";

export const SIGNING_FILE = "signing.jwks";
export const ENCRYPTION_FILE = "encryption.jwks";

/** Owner-only: these files are the deployment's only long-lived secret (DESIGN §6, §10). */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

export interface WrittenKeySets {
  signingPath: string;
  encryptionPath: string;
  /** The kids of the keys now used to sign and encrypt. */
  signingKid: string;
  encryptionKid: string;
  /** Every kid of each set, in order (the first is the one in use). */
  signingKids: string[];
  encryptionKids: string[];
}

/** `surrogate keys generate`: writes fresh sets, refusing to overwrite (existing keys may be in use). */
export async function writeKeySetsToDir(dir: string, alg: SigningAlg = "ES256"): Promise<WrittenKeySets> {
  const paths = pathsIn(dir);
  for (const path of [paths.signingPath, paths.encryptionPath]) {
    if (await exists(path)) throw new KeysError(`${path}: already exists; use rotate to add keys`);
  }
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  const sets = await generateKeySets(alg);
  await writeNew(paths.signingPath, sets.signing);
  await writeNew(paths.encryptionPath, sets.encryption);
  return { ...paths, ...kidsOf(sets.signing, sets.encryption) };
}

type KeySetPair = { signing: JSONWebKeySet; encryption: JSONWebKeySet };

/**
 * `surrogate keys rotate`: prepends a fresh key to each set and keeps the old ones, so wrappers
 * already out keep verifying and decrypting (DESIGN §6). With `stage`, the fresh key goes second
 * instead: every instance can learn it (and accept wrappers made with it) before any signs with it,
 * which is what a rotation across several instances needs (docs/operations.md).
 */
export async function rotateKeySetsInDir(
  dir: string,
  alg: SigningAlg = "ES256",
  options: { stage?: boolean } = {},
): Promise<WrittenKeySets> {
  const at = options.stage === true ? 1 : 0;
  return editKeySetsInDir(dir, async ({ signing, encryption }) => {
    if (signing.keys.length >= MAX_KEYS_PER_SET || encryption.keys.length >= MAX_KEYS_PER_SET) {
      throw new KeysError(`${dir}: already ${MAX_KEYS_PER_SET} keys in a set; retire old keys first`);
    }
    return {
      signing: { keys: signing.keys.toSpliced(at, 0, await generateSigningJwk(alg)) },
      encryption: { keys: encryption.keys.toSpliced(at, 0, generateEncryptionJwk()) },
    };
  });
}

/** `surrogate keys promote`: the staged (second) key of each set becomes the one that signs/encrypts. */
export function promoteKeySetsInDir(dir: string): Promise<WrittenKeySets> {
  return editKeySetsInDir(dir, async ({ signing, encryption }) => {
    if (signing.keys.length < 2 || encryption.keys.length < 2) {
      throw new KeysError(`${dir}: nothing staged to promote (a set has a single key)`);
    }
    const swap = (set: JSONWebKeySet) => ({ keys: [set.keys[1]!, set.keys[0]!, ...set.keys.slice(2)] });
    return { signing: swap(signing), encryption: swap(encryption) };
  });
}

/**
 * `surrogate keys retire`: removes the key `kid` from whichever set holds it. The first key of a set
 * is the one in use and cannot be retired: promote another first.
 */
export function retireKeyInDir(dir: string, kid: string): Promise<WrittenKeySets> {
  return editKeySetsInDir(dir, async ({ signing, encryption }) => {
    const without = (set: JSONWebKeySet) => ({ keys: set.keys.filter((key) => key.kid !== kid) });
    if (signing.keys[0]?.kid === kid || encryption.keys[0]?.kid === kid) {
      throw new KeysError(`${dir}: key ${kid} is in use (first in its set); promote another key first`);
    }
    const next = { signing: without(signing), encryption: without(encryption) };
    if (
      next.signing.keys.length === signing.keys.length &&
      next.encryption.keys.length === encryption.keys.length
    ) {
      throw new KeysError(`${dir}: no key with kid ${kid}`);
    }
    return next;
  });
}

/**
 * Reads both sets, validates them, applies `edit`, validates the result and replaces each file
 * atomically: a key directory is never left broken or half-edited.
 */
async function editKeySetsInDir(
  dir: string,
  edit: (sets: KeySetPair) => Promise<KeySetPair>,
): Promise<WrittenKeySets> {
  const paths = pathsIn(dir);
  const current = {
    signing: await readSet(paths.signingPath),
    encryption: await readSet(paths.encryptionPath),
  };
  await keySetsFromJwks(current.signing, current.encryption);
  const next = await edit(current);
  await keySetsFromJwks(next.signing, next.encryption);
  await replaceAtomically(paths.signingPath, next.signing);
  await replaceAtomically(paths.encryptionPath, next.encryption);
  return { ...paths, ...kidsOf(next.signing, next.encryption) };
}

function pathsIn(dir: string): { signingPath: string; encryptionPath: string } {
  return { signingPath: join(dir, SIGNING_FILE), encryptionPath: join(dir, ENCRYPTION_FILE) };
}

function kidsOf(signing: JSONWebKeySet, encryption: JSONWebKeySet) {
  const signingKids = signing.keys.map((key) => String(key.kid));
  const encryptionKids = encryption.keys.map((key) => String(key.kid));
  return {
    signingKid: signingKids[0] ?? "",
    encryptionKid: encryptionKids[0] ?? "",
    signingKids,
    encryptionKids,
  };
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function readSet(path: string): Promise<JSONWebKeySet> {
  const parsed = parseKeySetText(await readKeyFile(path, path), path);
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new KeysError(`${path}: JWK Set has no "keys" array`);
  return { keys };
}

/** `wx`: fails if the file appeared meanwhile; the mode is set at creation, so it is never readable by others. */
async function writeNew(path: string, set: JSONWebKeySet): Promise<void> {
  const handle = await open(path, "wx", FILE_MODE).catch(() => {
    throw new KeysError(`${path}: cannot create (exists or not writable)`);
  });
  try {
    await handle.writeFile(`${JSON.stringify(set, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Temp file (0600) in the same directory, then rename: readers see the old set or the new one, never half. */
async function replaceAtomically(path: string, set: JSONWebKeySet): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeNew(temp, set);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error instanceof KeysError ? error : new KeysError(`${path}: cannot replace`);
  }
}
