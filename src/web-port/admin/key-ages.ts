/**
 * Key ages for the overview. JWKs carry no creation time and kids are random (src/core/keys/generate.ts),
 * so the age shown is how long this process has been using each kid: after a rotation the new kid
 * starts at zero, which is what an operator checking "did the rotation take?" needs to see.
 */
import type { KeyAge } from "../../../ui/admin/overview.tsx";
import type { KeySets } from "../../core/keys/types.ts";

export class KeyAges {
  readonly #firstSeen = new Map<string, number>();

  list(keys: KeySets, now: number): KeyAge[] {
    const ages: KeyAge[] = [];
    for (const kid of keys.verifiers.keys())
      ages.push(this.#age("signing", kid, kid === keys.signer?.kid, now));
    for (const kid of keys.decrypters.keys())
      ages.push(this.#age("encryption", kid, kid === keys.encrypter.kid, now));
    return ages;
  }

  #age(use: KeyAge["use"], kid: string, active: boolean, now: number): KeyAge {
    const key = `${use}:${kid}`;
    const since = this.#firstSeen.get(key) ?? now;
    // Bounded by the key sets themselves, which the operator controls.
    this.#firstSeen.set(key, since);
    return { use, kid, active, since };
  }
}
