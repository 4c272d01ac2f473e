/**
 * An object without its undefined members. With `exactOptionalPropertyTypes`, an optional property
 * is absent, never present-and-undefined; a section built from optional TOML keys goes through
 * this once instead of one conditional spread per key.
 */
export function definedOnly<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const result: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) if (member !== undefined) result[key] = member;
  return result as { [K in keyof T]?: Exclude<T[K], undefined> };
}
