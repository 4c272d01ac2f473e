/**
 * IP addresses as the ports see them: which source a budget or a guess counter is charged to, and
 * whether an address lies in a configured CIDR block. Text from sockets and forwarded headers stays
 * text until it parses as an address here; anything else is not an address.
 */
import { isIP } from "node:net";

/** 4 or 16 bytes; an IPv4-mapped IPv6 address is reduced to its IPv4 bytes. */
export type AddressBytes = Uint8Array;

export interface Cidr {
  bytes: AddressBytes;
  prefix: number;
}

/** The bytes of an IPv4 or IPv6 address (zone id dropped), or undefined when it is not one. */
export function parseAddress(text: string): AddressBytes | undefined {
  const address = text.split("%")[0]!;
  const version = isIP(address);
  if (version === 4) return Uint8Array.from(address.split(".").map(Number));
  if (version !== 6) return undefined;
  const bytes = ipv6Bytes(address.toLowerCase());
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const [address = "", prefixText, extra] = text.trim().split("/");
  const bytes = parseAddress(address);
  if (bytes === undefined || extra !== undefined) return undefined;
  const bits = bytes.length * 8;
  if (prefixText === undefined) return { bytes, prefix: bits };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  return { bytes, prefix: Number(prefixText) };
}

export function inCidr(address: AddressBytes, cidr: Cidr): boolean {
  if (address.length !== cidr.bytes.length) return false;
  const whole = Math.floor(cidr.prefix / 8);
  for (let i = 0; i < whole; i += 1) if (address[i] !== cidr.bytes[i]) return false;
  const rest = cidr.prefix % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((address[whole]! ^ cidr.bytes[whole]!) & mask) === 0;
}

/**
 * Whom a per-source budget is charged to. One IPv6 subscriber usually holds a whole /64 (RFC 6177),
 * so counting single IPv6 addresses would give one client 2^64 fresh budgets: IPv6 counts per /64.
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`, how dual-stack sockets report IPv4 peers) counts as the IPv4.
 * Text that is no address is its own source.
 */
export function sourceKey(text: string): string {
  const bytes = parseAddress(text);
  if (bytes === undefined) return text;
  if (bytes.length === 4) return bytes.join(".");
  const groups = [0, 2, 4, 6].map((i) => ((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `${groups.join(":")}::/64`;
}

function ipv6Bytes(address: string): Uint8Array {
  const [head = "", tail] = address.split("::");
  const groupsOf = (part: string) => (part === "" ? [] : part.split(":").flatMap(withIpv4Tail));
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  const zeros = Array<number>(8 - left.length - right.length).fill(0);
  const groups = [...left, ...zeros, ...right];
  return Uint8Array.from(groups.flatMap((group) => [group >> 8, group & 0xff]));
}

/** `::ffff:1.2.3.4`: the dotted tail is two groups. */
function withIpv4Tail(group: string): number[] {
  if (!group.includes(".")) return [Number.parseInt(group, 16)];
  const [a = 0, b = 0, c = 0, d = 0] = group.split(".").map(Number);
  return [(a << 8) | b, (c << 8) | d];
}
