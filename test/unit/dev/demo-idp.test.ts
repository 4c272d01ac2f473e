import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { Secret } from "../../../src/core/secret.ts";
import { type DemoIdp, startDemoIdp } from "../../../src/dev/demo-idp.ts";

const CLIENT_ID = "surrogate-dev";
const CLIENT_SECRET = randomBytes(32).toString("base64url");
const REDIRECT_URI = "http://127.0.0.1:18080/callback";
const LABEL = "surrogate DEMO identity provider — not for production";

let idp: DemoIdp;
let clock = Date.now();

beforeAll(async () => {
  idp = await startDemoIdp({
    host: "127.0.0.1",
    port: 0,
    clientId: CLIENT_ID,
    clientSecret: new Secret(CLIENT_SECRET),
    redirectUri: REDIRECT_URI,
    now: () => clock,
  });
});

afterAll(async () => {
  await idp.stop();
});

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function authorizeUrl(overrides: Record<string, string | null> = {}, challenge = pkce().challenge): URL {
  const url = new URL(`${idp.issuer}/authorize`);
  const params: Record<string, string | null> = {
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: "openid email offline_access",
    state: "state-123",
    nonce: "nonce-456",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...overrides,
  };
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.set(name, value);
  return url;
}

function requestIdOf(html: string): string {
  const id = html.match(/<input type="hidden" name="request" value="([^"]+)"/)?.[1];
  if (id === undefined) throw new Error("no sign-in form");
  return id;
}

async function decide(requestId: string, decision: string): Promise<Response> {
  return fetch(`${idp.issuer}/authorize`, {
    method: "POST",
    body: new URLSearchParams({ request: requestId, decision }),
    redirect: "manual",
  });
}

/** Runs the browser half: the sign-in page, then "Sign in"; returns the code and the verifier. */
async function signIn(overrides: Record<string, string | null> = {}) {
  const { verifier, challenge } = pkce();
  const page = await fetch(authorizeUrl(overrides, challenge));
  const response = await decide(requestIdOf(await page.text()), "approve");
  const location = new URL(response.headers.get("location") ?? "");
  return { verifier, code: location.searchParams.get("code") ?? "", location, status: response.status };
}

const basic = (id = CLIENT_ID, secret = CLIENT_SECRET) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

async function token(form: Record<string, string>, authorization: string | null = basic()) {
  const response = await fetch(`${idp.issuer}/token`, {
    method: "POST",
    headers: authorization === null ? {} : { authorization },
    body: new URLSearchParams(form),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

const codeForm = (code: string, verifier: string) => ({
  grant_type: "authorization_code",
  code,
  code_verifier: verifier,
  redirect_uri: REDIRECT_URI,
});

describe("discovery and keys", () => {
  test("the discovery document names the issuer exactly and promises S256 and RFC 9207 iss", async () => {
    const doc = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc.issuer).toBe(idp.issuer);
    expect(idp.issuer).toBe(`http://127.0.0.1:${idp.port}`);
    expect(doc.token_endpoint).toBe(`${idp.issuer}/token`);
    expect(doc.code_challenge_methods_supported).toEqual(["S256"]);
    expect(doc.authorization_response_iss_parameter_supported).toBe(true);
  });

  test("the JWKS publishes one public ES256 key", async () => {
    const jwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as JSONWebKeySet;
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(jwks.keys[0]?.d).toBeUndefined();
  });

  test("every page says it is the demo IdP", async () => {
    const home = await fetch(`${idp.issuer}/`);
    expect(await home.text()).toContain(LABEL);
    const missing = await fetch(`${idp.issuer}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain(LABEL);
  });
});

describe("authorization endpoint", () => {
  test("shows a labelled sign-in page, escaping what the request carried, under a script-free CSP", async () => {
    const response = await fetch(authorizeUrl({ scope: 'openid <img src=x onerror="alert(1)">' }));
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(LABEL);
    expect(html).toContain("Sign in as demo@example.com");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<script");
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self' http://127.0.0.1:18080");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("script-src");
  });

  test("an unknown client or an unregistered redirect_uri gets an error page, never a redirect", async () => {
    for (const overrides of <Record<string, string | null>[]>[
      { client_id: "someone-else" },
      { redirect_uri: "http://127.0.0.1:18080/callback/../evil" },
      { redirect_uri: "https://evil.example/callback" },
      { redirect_uri: null },
    ]) {
      const response = await fetch(authorizeUrl(overrides), { redirect: "manual" });
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
    }
  });

  test("requests without PKCE S256, state or nonce are sent back with invalid_request, state and iss", async () => {
    for (const overrides of <Record<string, string | null>[]>[
      { code_challenge_method: "plain" },
      { code_challenge_method: null },
      { code_challenge: "too-short" },
      { response_type: "token" },
      { nonce: null },
    ]) {
      const response = await fetch(authorizeUrl(overrides), { redirect: "manual" });
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get("location") ?? "");
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
      expect(location.searchParams.get("error")).toBe("invalid_request");
      expect(location.searchParams.get("state")).toBe("state-123");
      expect(location.searchParams.get("iss")).toBe(idp.issuer);
      expect(location.searchParams.get("code")).toBeNull();
    }
  });

  test("a repeated parameter is refused (RFC 6749 §3.1)", async () => {
    const url = authorizeUrl();
    url.searchParams.append("code_challenge_method", "plain");
    const response = await fetch(url, { redirect: "manual" });
    expect(new URL(response.headers.get("location") ?? "").searchParams.get("error")).toBe("invalid_request");
  });

  test("Sign in redirects with code, state and iss; the sign-in request is single-use", async () => {
    const page = await fetch(authorizeUrl());
    const requestId = requestIdOf(await page.text());
    const response = await decide(requestId, "approve");
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get("location") ?? "");
    expect(location.searchParams.get("code")).toMatch(/^demo-code-/);
    expect(location.searchParams.get("state")).toBe("state-123");
    expect(location.searchParams.get("iss")).toBe(idp.issuer);
    const again = await decide(requestId, "approve");
    expect(again.status).toBe(400);
    expect(again.headers.get("location")).toBeNull();
  });

  test("Cancel redirects with access_denied and no code", async () => {
    const page = await fetch(authorizeUrl());
    const response = await decide(requestIdOf(await page.text()), "deny");
    const location = new URL(response.headers.get("location") ?? "");
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("code")).toBeNull();
  });

  test("an unknown sign-in request is refused", async () => {
    expect((await decide("made-up", "approve")).status).toBe(400);
  });
});

describe("token endpoint: authorization_code", () => {
  test("issues an opaque access token, a refresh token and an id_token bound to the nonce", async () => {
    const { code, verifier } = await signIn();
    const result = await token(codeForm(code, verifier));
    expect(result.status).toBe(200);
    expect(result.headers.get("cache-control")).toBe("no-store");
    expect(result.body.access_token).toMatch(/^demo-access-[A-Za-z0-9_-]{32}$/);
    expect(result.body.refresh_token).toMatch(/^demo-refresh-/);
    expect(result.body).toMatchObject({
      token_type: "Bearer",
      expires_in: 3600,
      scope: "openid email offline_access",
    });
    const jwks = createLocalJWKSet((await (await fetch(`${idp.issuer}/jwks`)).json()) as JSONWebKeySet);
    const { payload, protectedHeader } = await jwtVerify(String(result.body.id_token), jwks, {
      issuer: idp.issuer,
      audience: CLIENT_ID,
      currentDate: new Date(clock),
    });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload).toMatchObject({
      sub: "demo-user",
      email: "demo@example.com",
      azp: CLIENT_ID,
      nonce: "nonce-456",
    });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
  });

  test("client_secret_post is accepted too", async () => {
    const { code, verifier } = await signIn();
    const form = { ...codeForm(code, verifier), client_id: CLIENT_ID, client_secret: CLIENT_SECRET };
    expect((await token(form, null)).status).toBe(200);
  });

  test("a wrong secret, a wrong client, no credentials or two methods at once get 401 invalid_client", async () => {
    const { code, verifier } = await signIn();
    const form = codeForm(code, verifier);
    for (const attempt of [
      token(form, basic(CLIENT_ID, `${CLIENT_SECRET}x`)),
      token(form, basic("other", CLIENT_SECRET)),
      token(form, null),
      token({ ...form, client_id: CLIENT_ID, client_secret: "wrong" }, null),
      token({ ...form, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, basic()),
      token(form, "Basic !!!"),
    ]) {
      const result = await attempt;
      expect(result.status).toBe(401);
      expect(result.body.error).toBe("invalid_client");
      expect(result.headers.get("www-authenticate")).toContain("Basic");
    }
    // Client authentication failed before the code was looked at: it is still good.
    expect((await token(form)).status).toBe(200);
  });

  test("a code works once; a failed attempt burns it too", async () => {
    const first = await signIn();
    expect((await token(codeForm(first.code, first.verifier))).status).toBe(200);
    const replay = await token(codeForm(first.code, first.verifier));
    expect(replay).toMatchObject({ status: 400, body: { error: "invalid_grant" } });

    const second = await signIn();
    expect((await token(codeForm(second.code, pkce().verifier))).body.error).toBe("invalid_grant");
    expect((await token(codeForm(second.code, second.verifier))).body.error).toBe("invalid_grant");
  });

  test("a wrong PKCE verifier, a malformed one or another redirect_uri is invalid_grant", async () => {
    for (const change of [
      (f: Record<string, string>) => ({ ...f, code_verifier: pkce().verifier }),
      (f: Record<string, string>) => ({ ...f, code_verifier: "short" }),
      (f: Record<string, string>) => ({ ...f, redirect_uri: "http://127.0.0.1:18080/other" }),
    ]) {
      const { code, verifier } = await signIn();
      const result = await token(change(codeForm(code, verifier)));
      expect(result).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    }
  });

  test("a code expires after a minute", async () => {
    const { code, verifier } = await signIn();
    clock += 61_000;
    expect((await token(codeForm(code, verifier))).body.error).toBe("invalid_grant");
  });

  test("without offline_access there is no refresh token", async () => {
    const { code, verifier } = await signIn({ scope: "openid email" });
    const result = await token(codeForm(code, verifier));
    expect(result.status).toBe(200);
    expect(result.body.refresh_token).toBeUndefined();
  });
});

describe("token endpoint: refresh_token", () => {
  test("rotates: a new pair, and the presented refresh token is dead", async () => {
    const { code, verifier } = await signIn();
    const first = await token(codeForm(code, verifier));
    const refresh = { grant_type: "refresh_token", refresh_token: String(first.body.refresh_token) };
    const second = await token(refresh);
    expect(second.status).toBe(200);
    expect(second.body.access_token).toMatch(/^demo-access-/);
    expect(second.body.access_token).not.toBe(first.body.access_token);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    expect(second.body.id_token).toBeUndefined();
    expect(await token(refresh)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    const third = await token({
      grant_type: "refresh_token",
      refresh_token: String(second.body.refresh_token),
    });
    expect(third.status).toBe(200);
  });

  test("a refresh token needs the client's credentials", async () => {
    const { code, verifier } = await signIn();
    const first = await token(codeForm(code, verifier));
    const refresh = { grant_type: "refresh_token", refresh_token: String(first.body.refresh_token) };
    expect((await token(refresh, basic(CLIENT_ID, "nope"))).status).toBe(401);
  });

  test("other grant types and GET are refused", async () => {
    expect((await token({ grant_type: "password" })).body.error).toBe("unsupported_grant_type");
    expect((await fetch(`${idp.issuer}/token`)).status).toBe(405);
  });
});
