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

/**
 * `surrogate keys rotate`: prepends a fresh key to each set and keeps the old ones, so wrappers
 * already out keep verifying and decrypting (DESIGN §6). Each file is replaced atomically.
 */
export async function rotateKeySetsInDir(dir: string, alg: SigningAlg = "ES256"): Promise<WrittenKeySets> {
  const paths = pathsIn(dir);
  const signing = await readSet(paths.signingPath);
  const encryption = await readSet(paths.encryptionPath);
  // Validate what is on disk before touching it: rotation must not bless a broken set.
  await keySetsFromJwks(signing, encryption);
  if (signing.keys.length >= MAX_KEYS_PER_SET || encryption.keys.length >= MAX_KEYS_PER_SET) {
    throw new KeysError(`${dir}: already ${MAX_KEYS_PER_SET} keys in a set; remove retired keys first`);
  }
  const next = {
    signing: { keys: [await generateSigningJwk(alg), ...signing.keys] },
    encryption: { keys: [generateEncryptionJwk(), ...encryption.keys] },
  };
  await replaceAtomically(paths.signingPath, next.signing);
  await replaceAtomically(paths.encryptionPath, next.encryption);
  return { ...paths, ...kidsOf(next.signing, next.encryption) };
}

function pathsIn(dir: string): { signingPath: string; encryptionPath: string } {
  return { signingPath: join(dir, SIGNING_FILE), encryptionPath: join(dir, ENCRYPTION_FILE) };
}

function kidsOf(signing: JSONWebKeySet, encryption: JSONWebKeySet) {
  return { signingKid: String(signing.keys[0]?.kid), encryptionKid: String(encryption.keys[0]?.kid) };
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
