import { describe, expect, test } from "bun:test";
import { parseInjection } from "../../../src/core/provider/inject.ts";
import { Secret } from "../../../src/core/secret.ts";
import { buildUpstreamHeaders } from "../../../src/proxy/headers.ts";
import { RelayFields } from "../../../src/proxy/relay-fields.ts";

const raw = Object.freeze([
  Object.freeze(["Authorization", "Bearer w"] as const),
  Object.freeze(["X-A", "1"] as const),
]);
const work = { token: "w", headers: buildUpstreamHeaders(raw) };
const bearer = parseInjection("Authorization: Bearer {token}", "inject");
const basic = parseInjection("Authorization: Basic {basic:x-access-token}", "git_inject");

describe("RelayFields", () => {
  test("field lines seen before are known by their array; others are not", () => {
    const fields = new RelayFields(true);
    expect(fields.known(raw)).toBeUndefined();
    const block = fields.remember(raw, work);
    expect(fields.known(raw)).toBe(block);
    expect(fields.known(raw)?.token).toBe("w");
    expect(fields.known([...raw])).toBeUndefined();
  });

  test("the same injection and credential give the same lines; another of either rebuilds them", () => {
    const block = new RelayFields(true).remember(raw, work);
    const secret = new Secret("t1");
    const first = block.lines(bearer, secret);
    expect(first.text).toBe("x-a: 1\r\nauthorization: Bearer t1\r\naccept-encoding: identity\r\n");
    expect(block.lines(bearer, secret)).toBe(first);
    const git = block.lines(basic, secret);
    expect(git.text).toContain(`authorization: Basic ${btoa("x-access-token:t1")}\r\n`);
    const renewed = block.lines(bearer, new Secret("t2"));
    expect(renewed.text).toContain("authorization: Bearer t2\r\n");
    expect(renewed.text).not.toContain("t1");
  });

  test("the shared fields are never changed by an injection", () => {
    const block = new RelayFields(false).remember(raw, work);
    block.lines(bearer, new Secret("t1"));
    expect([...work.headers]).toEqual([["x-a", "1"]]);
    expect(block.lines(bearer, new Secret("t1")).text).not.toContain("accept-encoding");
  });

  test("a credential that cannot be a header value is refused, and nothing is kept", () => {
    const block = new RelayFields(true).remember(raw, work);
    expect(() => block.lines(bearer, new Secret("bad\r\nx-injected: 1"))).toThrow();
    expect(block.lines(bearer, new Secret("ok")).text).toContain("Bearer ok");
  });
});
