import { describe, expect, test } from "bun:test";
import { inCidr, parseAddress, parseCidr, sourceKey } from "../../../../src/core/http/address.ts";

const within = (address: string, cidr: string) => inCidr(parseAddress(address)!, parseCidr(cidr)!);

describe("parseAddress", () => {
  test("IPv4, IPv6 (compressed, zoned, with a dotted tail), IPv4-mapped reduced to IPv4", () => {
    expect([...parseAddress("10.1.2.3")!]).toEqual([10, 1, 2, 3]);
    expect(parseAddress("2001:db8::1")).toHaveLength(16);
    expect(parseAddress("fe80::1%eth0")).toHaveLength(16);
    expect([...parseAddress("::ffff:192.0.2.7")!]).toEqual([192, 0, 2, 7]);
    expect(parseAddress("64:ff9b::192.0.2.7")).toHaveLength(16);
  });

  test("anything else is not an address", () => {
    for (const text of ["", "unknown", "10.0.0", "10.0.0.256", "1.2.3.4:80", "[::1]", "_hidden", "::g"]) {
      expect({ text, bytes: parseAddress(text) }).toEqual({ text, bytes: undefined });
    }
  });
});

describe("CIDR", () => {
  test("membership both ways, v4 and v6, partial-byte prefixes, bare addresses", () => {
    expect(within("10.200.0.1", "10.0.0.0/8")).toBe(true);
    expect(within("11.0.0.1", "10.0.0.0/8")).toBe(false);
    expect(within("172.31.255.255", "172.16.0.0/12")).toBe(true);
    expect(within("172.32.0.0", "172.16.0.0/12")).toBe(false);
    expect(within("2001:db8:ffff::1", "2001:db8::/32")).toBe(true);
    expect(within("2001:db9::1", "2001:db8::/32")).toBe(false);
    expect(within("127.0.0.1", "127.0.0.1")).toBe(true);
    expect(within("127.0.0.2", "127.0.0.1")).toBe(false);
    expect(within("::ffff:10.0.0.1", "10.0.0.0/8")).toBe(true);
    expect(within("10.0.0.1", "::/0")).toBe(false);
    expect(within("203.0.113.9", "0.0.0.0/0")).toBe(true);
  });

  test("malformed blocks are refused", () => {
    for (const text of [
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/",
      "10.0.0.0/8/8",
      "10.0.0.0/-1",
      "ten/8",
      "10.0.0.0/08x",
    ]) {
      expect({ text, cidr: parseCidr(text) }).toEqual({ text, cidr: undefined });
    }
  });
});

describe("sourceKey", () => {
  test("IPv4 as is, IPv4-mapped as IPv4, IPv6 per /64 whatever the spelling", () => {
    expect(sourceKey("192.0.2.1")).toBe("192.0.2.1");
    expect(sourceKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(sourceKey("2001:db8:0:1::1")).toBe("2001:db8:0:1::/64");
    expect(sourceKey("2001:0DB8:0000:0001:ffff::9")).toBe("2001:db8:0:1::/64");
    expect(sourceKey("2001:db8:0:2::1")).not.toBe(sourceKey("2001:db8:0:1::1"));
  });
});
