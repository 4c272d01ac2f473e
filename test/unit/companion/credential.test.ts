import { describe, expect, test } from "bun:test";
import {
  baseUrl,
  checkPathCredential,
  checkProxyAuthorization,
  createProxyCredential,
  proxyUrl,
} from "../../../src/companion/credential.ts";

const basic = (text: string) => `Basic ${Buffer.from(text).toString("base64")}`;

describe("proxy credential", () => {
  test("fresh, URL-safe, 256 bits each time", () => {
    const a = createProxyCredential();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createProxyCredential()).not.toBe(a);
  });

  test("Basic surrogate:<credential> is accepted, in any scheme case", () => {
    const credential = createProxyCredential();
    expect(checkProxyAuthorization(basic(`surrogate:${credential}`), credential)).toBe(true);
    expect(checkProxyAuthorization(`bAsIc ${basic(`surrogate:${credential}`).slice(6)}`, credential)).toBe(
      true,
    );
  });

  test("absent, wrong user, wrong credential, other schemes and junk are refused", () => {
    const credential = createProxyCredential();
    for (const header of [
      undefined,
      "",
      basic(`admin:${credential}`),
      basic(`surrogate:${credential}x`),
      basic(`surrogate:${credential.slice(1)}`),
      basic("surrogate:"),
      `Bearer ${credential}`,
      `Basic ${credential}`,
      "Basic !!!",
    ]) {
      expect(checkProxyAuthorization(header, credential)).toBe(false);
    }
  });

  test("base-URL path segment", () => {
    const credential = createProxyCredential();
    expect(checkPathCredential(credential, credential)).toBe(true);
    expect(checkPathCredential("", credential)).toBe(false);
    expect(checkPathCredential(`${credential}a`, credential)).toBe(false);
  });

  test("URLs for the tool", () => {
    expect(proxyUrl("abc", 8480)).toBe("http://surrogate:abc@127.0.0.1:8480");
    expect(baseUrl("abc", 8480)).toBe("http://127.0.0.1:8480/_/abc");
  });
});
