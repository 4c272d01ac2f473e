/**
 * Key ages for the overview. JWKs carry no creation time and kids are random (src/core/keys/generate.ts),
 * so the age shown is how long this process has been using each kid, counted from when the set
 * holding it was loaded (start-up, or the SIGHUP reload that brought it), not from the first page
 * view: after a rotation the new kid starts at the reload, which is what an operator checking "did
 * the rotation take?" needs to see.
 */
import type { KeyAge } from "../../../ui/admin/overview.tsx";
import type { KeySets } from "../../core/keys/types.ts";

export class KeyAges {
  readonly #firstSeen = new Map<string, number>();

  list(keys: KeySets, now: number): KeyAge[] {
    const loaded = keys.loadedAt ?? now;
    const ages: KeyAge[] = [];
    for (const kid of keys.verifiers.keys())
      ages.push(this.#age("signing", kid, kid === keys.signer?.kid, loaded));
    for (const kid of keys.decrypters.keys())
      ages.push(this.#age("encryption", kid, kid === keys.encrypter.kid, loaded));
    return ages;
  }

  #age(use: KeyAge["use"], kid: string, active: boolean, loaded: number): KeyAge {
    const key = `${use}:${kid}`;
    const since = Math.min(this.#firstSeen.get(key) ?? loaded, loaded);
    // Bounded by the key sets themselves, which the operator controls.
    this.#firstSeen.set(key, since);
    return { use, kid, active, since };
  }
}
