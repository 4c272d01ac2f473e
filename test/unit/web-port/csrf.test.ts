import { describe, expect, test } from "bun:test";
import { clearCookie, readCookie, serializeCookie } from "../../../src/web-port/shared/cookies.ts";
import { csrfContext, csrfToken, csrfValid } from "../../../src/web-port/shared/csrf.ts";

const bytes = (fill: number) => (size: number) => new Uint8Array(size).fill(fill);
/** A Set-Cookie line's parts, in a fixed order: attribute order carries no meaning (RFC 6265 §4.1.1). */
const attributes = (line: string) => line.split("; ").sort();
const withCookie = (cookie: string) => new Request("https://b.example/", { headers: { cookie } });

describe("cookies", () => {
  test("reads the named cookie among others; a value not shaped like ours is absent", () => {
    const request = withCookie("a=1; __Host-surrogate-csrf=abc-DEF_1.x2; b=2");
    expect(readCookie(request, "__Host-surrogate-csrf")).toBe("abc-DEF_1.x2");
    expect(readCookie(request, "surrogate-csrf")).toBeUndefined();
    expect(readCookie(new Request("https://b.example/"), "a")).toBeUndefined();
    expect(
      readCookie(withCookie("__Host-surrogate-csrf=abc%20def"), "__Host-surrogate-csrf"),
    ).toBeUndefined();
    expect(readCookie(withCookie('__Host-surrogate-csrf="abc"'), "__Host-surrogate-csrf")).toBeUndefined();
  });

  test("ignores absurdly large cookie headers", () => {
    expect(readCookie(withCookie(`a=1; ${"x".repeat(9000)}`), "a")).toBeUndefined();
  });

  test("serializes with Path=/, HttpOnly, SameSite, Secure only when asked, no Domain", () => {
    const secure = serializeCookie("__Host-x", "v", { maxAge: 10.7, secure: true, sameSite: "lax" });
    expect(attributes(secure)).toEqual(
      ["__Host-x=v", "HttpOnly", "Max-Age=10", "Path=/", "SameSite=Lax", "Secure"].sort(),
    );
    expect(serializeCookie("x", "v", { maxAge: 5, secure: false, sameSite: "strict" })).not.toContain(
      "Secure",
    );
    expect(clearCookie("x", { secure: true, sameSite: "lax" })).toContain("Max-Age=0");
  });
});

describe("CSRF double-submit", () => {
  test("a new browser gets a fresh random cookie; a well-formed one is reused", () => {
    const fresh = csrfContext(new Request("https://b.example/"), true, bytes(7));
    expect(fresh.cookie).toMatch(/^[\w-]{43}$/);
    expect(fresh.setCookie).toStartWith("__Host-surrogate-csrf=");
    const reused = csrfContext(withCookie(`__Host-surrogate-csrf=${fresh.cookie}`), true, bytes(9));
    expect(reused).toEqual({ cookie: fresh.cookie });
    const malformed = csrfContext(withCookie("__Host-surrogate-csrf=short"), true, bytes(9));
    expect(malformed.setCookie).toBeDefined();
  });

  test("the token is bound to the cookie and to the grant", () => {
    const cookie = "c".repeat(43);
    const request = withCookie(`__Host-surrogate-csrf=${cookie}`);
    const token = csrfToken(cookie, "grant-1");
    expect(csrfValid(request, true, "grant-1", token)).toBe(true);
    expect(csrfValid(request, true, "grant-2", token)).toBe(false);
    expect(csrfValid(request, true, "grant-1", csrfToken("d".repeat(43), "grant-1"))).toBe(false);
    expect(csrfValid(request, true, "grant-1", "")).toBe(false);
    expect(csrfValid(request, true, "grant-1", cookie)).toBe(false);
    // Over http the __Host- name is not used, so that cookie is not the one consulted.
    expect(csrfValid(request, false, "grant-1", token)).toBe(false);
  });
});
