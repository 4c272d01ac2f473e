/**
 * Token core micro-benchmark: µs per mint, verify and open, median of many single-op samples.
 * Run: bun scripts/bench/token.ts [samples]
 */
import { generateKeySets } from "../../src/core/keys/generate.ts";
import { keySetsFromJwks } from "../../src/core/keys/load.ts";
import type { SigningAlg } from "../../src/core/keys/types.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { openWrapper } from "../../src/core/token/open.ts";
import type { MintRequest } from "../../src/core/token/types.ts";
import { verifyWrapper } from "../../src/core/token/verify.ts";

const SAMPLES = Number(process.argv[2] ?? 3000);
const WARMUP = 300;
const ISSUER = "https://broker.example.com";

const request: MintRequest = {
  kind: "access",
  provider: "github",
  binding: { kind: "x5t#S256", value: "q".repeat(43) },
  secret: { token: new Secret(`gho_${"x".repeat(36)}`), type: "Bearer" },
  claims: { sub: "1234567", login: "octocat", email: "octocat@example.com" },
  scope: "repo read:user",
};

async function medianMicros(op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await op();
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const start = Bun.nanoseconds();
    await op();
    samples.push((Bun.nanoseconds() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

async function benchAlg(alg: SigningAlg): Promise<string> {
  const generated = await generateKeySets(alg);
  const keys = await keySetsFromJwks(generated.signing, generated.encryption);
  const now = Date.now();
  const mintOptions = { issuer: ISSUER, tokenTtl: 3600, now };
  const { token } = await mintWrapper(request, keys, mintOptions);
  const verified = await verifyWrapper(token, "access", keys, { issuer: ISSUER, now });
  const mint = await medianMicros(() => mintWrapper(request, keys, mintOptions));
  const verify = await medianMicros(() => verifyWrapper(token, "access", keys, { issuer: ISSUER, now }));
  const open = await medianMicros(() => openWrapper(verified, keys));
  return `| ${alg} | ${mint.toFixed(1)} | ${verify.toFixed(1)} | ${open.toFixed(1)} | ${token.length} |`;
}

console.log(`Bun ${Bun.version}, ${SAMPLES} samples per op (median, µs)\n`);
console.log("| alg | mint µs | verify µs | open µs | wrapper bytes |");
console.log("|---|---|---|---|---|");
for (const alg of ["ES256", "EdDSA"] as const) console.log(await benchAlg(alg));
