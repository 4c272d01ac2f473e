import { describe, expect, test } from "bun:test";
import { IdentityError } from "../../../../src/core/errors.ts";
import { parseSpiffeId } from "../../../../src/core/identity/spiffe.ts";
import { BAD_SPIFFE_IDS } from "../../../helpers/pki.ts";

function rejection(uri: string): IdentityError {
  try {
    parseSpiffeId(uri);
  } catch (error) {
    if (error instanceof IdentityError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(uri)}`);
}

describe("parseSpiffeId accepts", () => {
  test.each([
    "spiffe://test.example/agents/alpha",
    "spiffe://example.org/ns/default/sa/my_service-1.v2",
    "spiffe://a-b_c.d9/X",
    `spiffe://td/${"a".repeat(2048 - "spiffe://td/".length)}`,
  ])("%s", (uri) => {
    expect(parseSpiffeId(uri)).toBe(uri);
  });
});

describe("parseSpiffeId rejects", () => {
  const cases: Array<[string, string, RegExp]> = [
    ...Object.entries(BAD_SPIFFE_IDS).map(([name, uri]): [string, string, RegExp] => [name, uri, /./]),
    ["upper-case trust domain", "spiffe://Test.example/a", /lower-case/],
    ["upper-case scheme", "Spiffe://test.example/a", /scheme/],
    ["other scheme", "https://test.example/a", /not a spiffe/],
    ["percent-encoding", "spiffe://test.example/a%2Fb", /percent/],
    ["percent in trust domain", "spiffe://test%2eexample/a", /percent/],
    ["dot-dot", "spiffe://test.example/a/../b", /dot segment/],
    ["single dot", "spiffe://test.example/./b", /dot segment/],
    ["double slash", "spiffe://test.example//a", /empty path segment/],
    ["trailing slash", "spiffe://test.example/a/", /trailing slash/],
    ["root path", "spiffe://test.example/", /trailing slash/],
    ["query", "spiffe://test.example/a?b", /query/],
    ["query after domain", "spiffe://test.example?b", /query/],
    ["fragment", "spiffe://test.example/a#b", /fragment/],
    ["port", "spiffe://test.example:443/a", /port/],
    ["userinfo", "spiffe://u:p@test.example/a", /userinfo/],
    ["NUL", "spiffe://test.example/a\u0000b", /U\+0000/],
    ["newline", "spiffe://test.example/a\nb", /U\+000A/],
    ["space", "spiffe://test.example/a b", /U\+0020/],
    ["non-ASCII", "spiffe://test.example/é", /U\+00E9/],
    ["empty trust domain", "spiffe:///a", /empty trust domain/],
    ["no path", "spiffe://test.example", /no path/],
    ["too long", `spiffe://td/${"a".repeat(2049 - "spiffe://td/".length)}`, /2048/],
    ["trust domain too long", `spiffe://${"a".repeat(256)}/a`, /255/],
  ];
  test.each(cases)("%s", (_name, uri, reason) => {
    const error = rejection(uri);
    expect(error.code).toBe("spiffe_invalid");
    expect(error.message).toMatch(reason);
  });
});
