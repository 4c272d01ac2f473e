/**
 * A minimal, strict DER reader (X.690 §10) for the few certificate fields node:crypto exposes only
 * as ambiguous text or not at all. Input is a certificate OpenSSL already parsed, but every length
 * is still checked against its parent: anything unexpected throws, and the caller refuses the
 * certificate. General ASN.1 libraries cost 30–200× node's own parse here (docs/benchmarks.md).
 */

export class DerError extends Error {}

/** One TLV: its tag byte and where its content lies in the buffer. */
export interface Tlv {
  tag: number;
  start: number;
  end: number;
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  sequence: 0x30,
  set: 0x31,
} as const;

/** The TLV at `offset`, which must end by `limit`: single-byte tags, definite minimal lengths. */
export function readTlv(bytes: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new DerError("truncated");
  const tag = bytes[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tag");
  let length = bytes[offset + 1] ?? 0;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // 0x80 is BER's indefinite length, not DER; four length bytes already exceed any certificate.
    if (count === 0 || count > 3 || start + count > limit) throw new DerError("bad length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[start + i] ?? 0);
    if (length < 0x80) throw new DerError("non-minimal length");
    start += count;
  }
  if (start + length > limit) throw new DerError("length beyond its container");
  return { tag, start, end: start + length };
}

/** The TLVs inside a constructed `parent`, which must fill it exactly. */
export function childrenOf(bytes: Uint8Array, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  let offset = parent.start;
  while (offset < parent.end) {
    const child = readTlv(bytes, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv?.tag !== tag) throw new DerError(`${what}: unexpected tag`);
  return tlv;
}

/** X.690 §8.19: dotted decimal; each arc base-128. */
export function oidOf(bytes: Uint8Array, tlv: Tlv): string {
  expectTag(tlv, TAG.oid, "OID");
  if (tlv.end === tlv.start) throw new DerError("empty OID");
  const arcs: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    const byte = bytes[i] ?? 0;
    if (value === 0 && byte === 0x80) throw new DerError("non-minimal OID arc");
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError("OID arc too large");
    if (byte & 0x80) continue;
    if (arcs.length === 0)
      arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
    else arcs.push(value);
    value = 0;
  }
  if ((bytes[tlv.end - 1] ?? 0) & 0x80) throw new DerError("truncated OID");
  return arcs.join(".");
}

/** DER BOOLEAN; any non-zero octet is TRUE, as OpenSSL reads it, so both sides agree. */
export function booleanOf(bytes: Uint8Array, tlv: Tlv): boolean {
  expectTag(tlv, TAG.boolean, "BOOLEAN");
  if (tlv.end - tlv.start !== 1) throw new DerError("BOOLEAN of wrong length");
  return bytes[tlv.start] !== 0;
}

/** A small non-negative INTEGER (a path length). */
export function smallIntegerOf(bytes: Uint8Array, tlv: Tlv): number {
  expectTag(tlv, TAG.integer, "INTEGER");
  const length = tlv.end - tlv.start;
  if (length < 1 || length > 4 || ((bytes[tlv.start] ?? 0) & 0x80) !== 0) {
    throw new DerError("INTEGER not a small non-negative number");
  }
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) value = value * 256 + (bytes[i] ?? 0);
  return value;
}

/** A named-bit BIT STRING as a number: bit 0 (the first, most significant bit) is 1, bit 1 is 2 … */
export function bitsOf(bytes: Uint8Array, tlv: Tlv): number {
  expectTag(tlv, TAG.bitString, "BIT STRING");
  const length = tlv.end - tlv.start;
  if (length < 1 || length > 3 || (bytes[tlv.start] ?? 8) > 7) throw new DerError("bad BIT STRING");
  let value = 0;
  for (let bit = 0; bit < (length - 1) * 8; bit++) {
    if ((bytes[tlv.start + 1 + (bit >> 3)] ?? 0) & (0x80 >> (bit & 7))) value += 2 ** bit;
  }
  return value;
}
