/** A CSPRNG source; tests may inject their own. */
export type RandomBytes = (size: number) => Uint8Array;

export const cryptoRandomBytes: RandomBytes = (size) => crypto.getRandomValues(new Uint8Array(size));

/** 32 CSPRNG bytes in base64url: 256 bits for state, PKCE verifier, nonce, CSRF and session tokens. */
export function randomToken(randomBytes: RandomBytes): string {
  return Buffer.from(randomBytes(32)).toString("base64url");
}
