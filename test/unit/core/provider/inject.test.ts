import { describe, expect, test } from "bun:test";
import { ConfigError, ProxyError } from "../../../../src/core/errors.ts";
import { applyInjection, injectionFor, parseInjection } from "../../../../src/core/provider/inject.ts";
import { Secret } from "../../../../src/core/secret.ts";

const KEY = "providers.corp.inject";

describe("parseInjection", () => {
  test.each([
    ["Authorization: Bearer {token}", { header: "authorization", prefix: "Bearer ", suffix: "" }],
    ["Authorization: token {token}", { header: "authorization", prefix: "token ", suffix: "" }],
    ["x-api-key: {token}", { header: "x-api-key", prefix: "", suffix: "" }],
    ["X-Api-Key:{token}", { header: "x-api-key", prefix: "", suffix: "" }],
    ["Cookie: session={token}; lang=en", { header: "cookie", prefix: "session=", suffix: "; lang=en" }],
    [
      "Authorization: Basic {basic:x-access-token}",
      { header: "authorization", prefix: "Basic ", suffix: "", basicUser: "x-access-token" },
    ],
    [
      "Authorization: Basic {basic:oauth2}",
      { header: "authorization", prefix: "Basic ", suffix: "", basicUser: "oauth2" },
    ],
  ])("parses %p", (template, injection) => {
    expect(parseInjection(template, KEY)).toEqual(injection);
  });

  test.each([
    ["no colon", "Authorization Bearer {token}"],
    ["no placeholder", "Authorization: Bearer"],
    ["two placeholders", "Authorization: {token} {token}"],
    ["empty name", ": {token}"],
    ["space in name", "X Api: {token}"],
    ["CR LF in value", "x-api-key: {token}\r\nHost: evil.test"],
    ["LF in prefix", "x-api-key: a\n{token}"],
    ["NUL in value", "x-api-key: \u0000{token}"],
    ["non-ASCII value", "x-api-key: é{token}"],
    ["Host", "Host: {token}"],
    ["Content-Length", "Content-Length: {token}"],
    ["Transfer-Encoding", "Transfer-Encoding: {token}"],
    ["Connection", "connection: {token}"],
    ["Proxy-Authorization", "Proxy-Authorization: Bearer {token}"],
    ["Upgrade", "Upgrade: {token}"],
    ["Basic and {token}", "Authorization: Basic {basic:oauth2} {token}"],
    ["two Basic placeholders", "Authorization: Basic {basic:a}{basic:b}"],
    ["an empty Basic user", "Authorization: Basic {basic:}"],
    ["a colon in the Basic user (RFC 7617 §2)", "Authorization: Basic {basic:x:y}"],
    ["a space in the Basic user", "Authorization: Basic {basic:x y}"],
    ["a non-ASCII Basic user", "Authorization: Basic {basic:é}"],
    ["a Basic user over 64 characters", `Authorization: Basic {basic:${"u".repeat(65)}}`],
    ["an unterminated Basic placeholder", "Authorization: Basic {basic:oauth2"],
  ])("refuses %s naming the key", (_name, template) => {
    expect(() => parseInjection(template, KEY)).toThrow(ConfigError);
    expect(() => parseInjection(template, KEY)).toThrow(KEY);
  });
});

describe("applyInjection", () => {
  test("sets the header, replacing a client-sent value of the same name", () => {
    const headers = new Headers({ "x-api-key": "client-chosen" });
    applyInjection(headers, parseInjection("x-api-key: {token}", KEY), new Secret("sk-real"));
    expect(headers.get("x-api-key")).toBe("sk-real");
  });

  test("formats with the configured prefix", () => {
    const headers = new Headers();
    applyInjection(headers, parseInjection("Authorization: token {token}", KEY), new Secret("gho_abc"));
    expect(headers.get("authorization")).toBe("token gho_abc");
  });

  test("sends Basic credentials with the token as the password (RFC 7617 §2)", () => {
    const headers = new Headers({ authorization: "Bearer wrapper" });
    const injection = parseInjection("Authorization: Basic {basic:x-access-token}", KEY);
    applyInjection(headers, injection, new Secret("ghu_real:with-colon"));
    const value = headers.get("authorization") ?? "";
    expect(value).toBe(`Basic ${Buffer.from("x-access-token:ghu_real:with-colon").toString("base64")}`);
    expect(Buffer.from(value.slice(6), "base64").toString()).toBe("x-access-token:ghu_real:with-colon");
  });

  test("refuses an unsendable token in the Basic form too", () => {
    const headers = new Headers();
    const injection = parseInjection("Authorization: Basic {basic:oauth2}", KEY);
    expect(() => applyInjection(headers, injection, new Secret("abc\r\nX-Evil: 1"))).toThrow(ProxyError);
    expect(headers.has("authorization")).toBe(false);
  });

  test.each([
    ["CR LF", "abc\r\nX-Evil: 1"],
    ["LF", "abc\ndef"],
    ["NUL", "abc\u0000"],
    ["space", "abc def"],
    ["tab", "abc\tdef"],
    ["non-ASCII", "abcé"],
    ["empty", ""],
  ])("refuses an upstream token with %s, without echoing it", (_name, token) => {
    const headers = new Headers();
    let caught: unknown;
    try {
      applyInjection(headers, parseInjection("Authorization: Bearer {token}", KEY), new Secret(token));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ProxyError);
    expect((caught as ProxyError).code).toBe("invalid_token");
    if (token !== "") expect((caught as Error).message).not.toContain(token);
    expect(headers.has("authorization")).toBe(false);
  });
});

describe("injectionFor", () => {
  const bearer = parseInjection("Authorization: Bearer {token}", KEY);
  const git = parseInjection("Authorization: Basic {basic:oauth2}", KEY);

  test.each([
    "/group/project.git/info/refs?service=git-upload-pack",
    "/group/project/info/refs?service=git-receive-pack",
    "/owner/repo.git/git-upload-pack",
    "/owner/repo.git/git-receive-pack",
    "/owner/repo.git/info/lfs/objects/batch",
  ])("git's request %s gets the git injection", (path) => {
    expect(injectionFor({ inject: bearer, gitInject: git }, path)).toBe(git);
  });

  test.each([
    "/api/v4/projects/1/repository/files/info%2Frefs",
    "/repos/owner/repo",
    "/owner/repo.git/info/refsx",
    "/search?q=/info/refs",
    "/git-upload-pack-notes/x",
  ])("anything else (%s) keeps the provider's injection", (path) => {
    expect(injectionFor({ inject: bearer, gitInject: git }, path)).toBe(bearer);
  });

  test("without a git injection, git's requests get the provider's injection too", () => {
    expect(injectionFor({ inject: bearer }, "/owner/repo.git/info/refs?service=git-upload-pack")).toBe(
      bearer,
    );
  });
});
