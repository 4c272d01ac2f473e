import { describe, expect, test } from "bun:test";
import { Secret } from "../../../../src/core/secret.ts";
import { sealJson } from "../../../../src/core/token/seal.ts";
import { unsealJson } from "../../../../src/core/token/unseal.ts";
import {
  type AdminSession,
  MAX_ADMIN_SEALED,
  readSession,
  SESSION_MAX_AGE_MS,
  sessionCookie,
} from "../../../../src/web-port/admin/session.ts";
import { openFlow, sealFlow } from "../../../../src/web-port/consent/flow-cookie.ts";
import { testKeySets } from "../../../helpers/keys.ts";

const NOW = 1_800_000_000_000;
const IDLE = 900_000;

function session(overrides: Partial<AdminSession> = {}): AdminSession {
  return {
    who: "password",
    method: "password",
    csrf: "c".repeat(43),
    issuedAt: NOW,
    seenAt: NOW,
    ...overrides,
  };
}

async function roundTrip(
  value: AdminSession,
  at: number,
  keys = undefined as Awaited<ReturnType<typeof testKeySets>> | undefined,
) {
  const k = keys ?? (await testKeySets());
  const line = await sessionCookie(value, k, { secure: false, idleSeconds: 900 });
  const cookie = line.split(";")[0] ?? "";
  return readSession(new Request("http://x/", { headers: { cookie } }), k, {
    secure: false,
    idleMs: IDLE,
    now: at,
  });
}

describe("admin session cookie", () => {
  test("round trip; plain-http issuers get the bare name without Secure", async () => {
    const keys = await testKeySets();
    const line = await sessionCookie(session(), keys, { secure: false, idleSeconds: 900 });
    expect(line.startsWith("surrogate-admin=")).toBe(true);
    expect(line).not.toContain("Secure");
    expect(line).toContain("HttpOnly");
    expect(await roundTrip(session(), NOW + 1000, keys)).toEqual(session());
  });

  test("idle timeout, absolute 12 h cap, and a seenAt from the future all end it", async () => {
    expect(await roundTrip(session(), NOW + IDLE - 1)).toBeDefined();
    expect(await roundTrip(session(), NOW + IDLE)).toBeUndefined();
    const old = session({ issuedAt: NOW - SESSION_MAX_AGE_MS, seenAt: NOW });
    expect(await roundTrip(old, NOW + 1)).toBeUndefined();
    expect(await roundTrip(session({ seenAt: NOW + 3_600_000 }), NOW)).toBeUndefined();
  });

  test("typ separates uses: a web flow cookie is not a session, a session is not a flow cookie", async () => {
    const keys = await testKeySets();
    const flow = await sealFlow(
      { grantId: "g", provider: "p", state: "s", verifier: new Secret("v".repeat(43)), exp: NOW + 60_000 },
      keys,
    );
    expect(await unsealJson(flow, "surrogate-admin-session+jwe", keys, MAX_ADMIN_SEALED)).toBeUndefined();
    const sealed = await sealJson(session(), keys, "surrogate-admin-session+jwe");
    expect(await unsealJson(sealed, "surrogate-admin-login+jwe", keys, MAX_ADMIN_SEALED)).toBeUndefined();
    await expect(openFlow(sealed, keys, NOW)).rejects.toThrow();
    expect(await unsealJson(sealed, "surrogate-admin-session+jwe", keys, MAX_ADMIN_SEALED)).toMatchObject({
      who: "password",
    });
  });

  test("malformed contents and oversized values are refused", async () => {
    const keys = await testKeySets();
    const bad = await sealJson(
      { who: 1, method: "password", csrf: "x", issuedAt: NOW, seenAt: NOW },
      keys,
      "surrogate-admin-session+jwe",
    );
    const request = new Request("http://x/", { headers: { cookie: `surrogate-admin=${bad}` } });
    expect(await readSession(request, keys, { secure: false, idleMs: IDLE, now: NOW })).toBeUndefined();
    expect(
      await unsealJson("x".repeat(5000), "surrogate-admin-session+jwe", keys, MAX_ADMIN_SEALED),
    ).toBeUndefined();
    expect(
      await unsealJson("not.a.jwe", "surrogate-admin-session+jwe", keys, MAX_ADMIN_SEALED),
    ).toBeUndefined();
  });
});
