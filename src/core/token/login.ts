import type { LoginFacts } from "./types.ts";

/** 128 random bits: a login id is public (it rides in every wrapper) but must never collide. */
export function newLogin(now: number): LoginFacts {
  const sid = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
  return { authTime: Math.floor(now / 1000), sid };
}
