import { generateKeySets } from "../../src/core/keys/generate.ts";
import { keySetsFromJwks } from "../../src/core/keys/load.ts";
import type { KeySets, SigningAlg } from "../../src/core/keys/types.ts";

/** Fresh in-memory key sets (one signing key, one encryption key), generated for each call. */
export async function testKeySets(alg: SigningAlg = "ES256"): Promise<KeySets> {
  const { signing, encryption } = await generateKeySets(alg);
  return keySetsFromJwks(signing, encryption);
}
