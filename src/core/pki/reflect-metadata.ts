/**
 * @peculiar/x509 registers its algorithms through tsyringe, which refuses to load unless a
 * Reflect metadata API exists (`reflect-metadata` is not a dependency of this project). It only
 * needs define/get/getOwn metadata, so this installs a minimal WeakMap-backed version of those,
 * and only when no polyfill is present already. Import this module before @peculiar/x509: the
 * `./x509.ts` adapter does, and the rest of the code imports the library through it.
 */

type MetadataTarget = object;
type MetadataMap = Map<unknown, unknown>;

const store = new WeakMap<MetadataTarget, Map<PropertyKey | undefined, MetadataMap>>();

function own(target: MetadataTarget, property: PropertyKey | undefined): MetadataMap | undefined {
  return store.get(target)?.get(property);
}

const api = {
  defineMetadata(key: unknown, value: unknown, target: MetadataTarget, property?: PropertyKey): void {
    let byProperty = store.get(target);
    if (byProperty === undefined) {
      byProperty = new Map();
      store.set(target, byProperty);
    }
    let map = byProperty.get(property);
    if (map === undefined) {
      map = new Map();
      byProperty.set(property, map);
    }
    map.set(key, value);
  },
  getOwnMetadata(key: unknown, target: MetadataTarget, property?: PropertyKey): unknown {
    return own(target, property)?.get(key);
  },
  getMetadata(key: unknown, target: MetadataTarget, property?: PropertyKey): unknown {
    for (let current: object | null = target; current !== null; current = Object.getPrototypeOf(current)) {
      const map = own(current, property);
      if (map?.has(key)) return map.get(key);
    }
    return undefined;
  },
};

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect.getMetadata !== "function") {
  for (const [name, fn] of Object.entries(api)) reflect[name] = fn;
}
